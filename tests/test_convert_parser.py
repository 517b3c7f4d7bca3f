"""The one HTML parser (Lexbor, through selectolax: convert/tree.py) against html5lib.

Both implement the HTML standard's tree construction; the canonical form of every
field must come out the same from either tree, on the corpora and on generated tag
soup (misnested tags, tables, implied elements, odd attributes and entities). Where
html5lib 1.1 (2020) parses otherwise than the standard and browsers now do, generated
HTML is left out: content inside `<select>` (kept since the standard's change for
customisable selects), a newline (or `&#10;`) right after `<pre>`/`<listing>` or
after end tags there, or a comment there (html5lib keeps the newline in some of
these, drops it after an end tag, and the old serialiser wrote one before a leading
comment); and a list item html5lib puts inside a table (`_TABLE_CONTENT`). Each of
these was checked in Chromium (innerHTML), which parses as Lexbor does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from xml.dom import minidom

import html5lib
import pytest
from html_gen import SETTINGS, SOUP, WELL_FORMED, fields_with_markup
from hypothesis import assume, example, given
from hypothesis import strategies as st
from test_convert_properties import ANKI_HTML

from ankiops_git.convert.canonical import canonical_html, is_empty_field, normalise
from ankiops_git.convert.tree import Comment, Element, Node, parse, serialise

# (an end tag after <pre> is ignored, and the newline after it kept: html5lib drops it)
_HTML5LIB_OLD = re.compile(
    r"<select|<(pre|listing)\b[^>]*>(</[^>]*>)*(\r?\n|&#10;|<!--)", re.IGNORECASE
)


def _nodes(parent: minidom.Node) -> list[Node]:
    out: list[Node] = []
    for child in parent.childNodes:
        if child.nodeType == child.TEXT_NODE:
            if out and type(out[-1]) is str:
                out[-1] += child.data
            else:
                out.append(child.data)
        elif child.nodeType == child.COMMENT_NODE:
            out.append(Comment(child.data))
        elif child.nodeType == child.ELEMENT_NODE:
            attrs = dict(child.attributes.items())
            out.append(Element(child.tagName, attrs, _nodes(child)))
    return out


def html5lib_tree(html: str) -> Element:
    # As a document's <body> (tree.parse: the field as a body's innerHTML), not through
    # html5lib's fragment mode, which loses an element foster-parented out of a table
    # (`<table><b>x`) and a table a second one closes (`<table><table>`): the standard
    # and Chromium keep both. The HTML tested holds no <html>, <head> or <body> tag, where
    # the two modes would differ.
    document = html5lib.parse(
        "<!DOCTYPE html><body>" + ("" if is_empty_field(html) else html),
        treebuilder="dom",
        namespaceHTMLElements=False,
    )
    return Element("body", {}, _nodes(document.getElementsByTagName("body")[0]))


def html5lib_canonical(html: str) -> str:
    return serialise(normalise(html5lib_tree(html)).children)


# What the standard's table modes insert into a table, a row group or a row; the rest
# goes before the table (foster parenting). html5lib 1.1 also puts there a list item
# that a second one closes (`<table><li>a<li>b`), which Lexbor, the standard and
# Chromium put before the table: a tree with that is html5lib's mistake.
_TABLE_PARTS = {"table", "tbody", "thead", "tfoot", "tr"}
_TABLE_CONTENT = _TABLE_PARTS | {"caption", "colgroup", "td", "th", "form", "input",
                                 "script", "style", "template"}  # fmt: skip


def _misplaced_in_table(node: Element) -> bool:
    elements = [c for c in node.children if isinstance(c, Element)]
    if node.name in _TABLE_PARTS and any(e.name not in _TABLE_CONTENT for e in elements):
        return True
    return any(_misplaced_in_table(e) for e in elements)


@pytest.mark.parametrize(
    ("name", "one_per_shape"), [("omscs", False), ("ultimate-geography", True)]
)
def test_both_parsers_give_the_same_canonical_form_on_the_corpora(
    name: str, one_per_shape: bool
) -> None:
    fields = fields_with_markup(name, one_per_shape)
    assert len(fields) > 10
    differ = [f for f in fields if canonical_html(f) != html5lib_canonical(f)]
    assert differ == []


@SETTINGS
@given(st.lists(st.one_of(SOUP, WELL_FORMED, ANKI_HTML), max_size=3).map("".join))
@example("<table><b>;")  # (html5lib's fragment mode loses these: see above)
@example("a<table><table>x")
@example("<table><li>a<li>b</li>")  # (html5lib's mistake: see _TABLE_CONTENT)
def test_both_parsers_give_the_same_canonical_form_on_generated_html(html: str) -> None:
    reference = html5lib_tree(html)
    assume(_HTML5LIB_OLD.search(html) is None and not _misplaced_in_table(reference))
    assert canonical_html(html) == serialise(normalise(reference).children), html


def test_a_field_parses_alike_whatever_was_parsed_before_and_in_any_thread() -> None:
    """tree.parse reuses a Lexbor document per thread (renewed after 256 K characters):
    nothing of an earlier field is left in a later one's tree."""
    fields = ["<table><td>a", "<b>x<div>y</b>z", "<p>a<ul><li>b", "</body><!--c-->", ""]
    first = [serialise(parse(f).children) for f in fields]
    assert first[3] == "<!--c-->"  # (a card's innerHTML keeps it; a document parse does not)
    for index in range(300):  # 300,000 characters: past a renewal
        parse(f"<p>filler {index}<i>" + "x" * 990)
    assert [serialise(parse(f).children) for f in fields] == first
    with ThreadPoolExecutor(4) as pool:
        trees = pool.map(lambda f: serialise(parse(f).children), fields * 50)
    assert list(trees) == first * 50


def test_parsing_large_fields_does_not_keep_them() -> None:
    """A Lexbor document keeps what it parsed until it goes: the reused one is renewed by
    the size of the fields it parsed, not their number (300 fields of 400 KB each would
    keep 120 MB)."""
    pytest.importorskip("resource")  # (not on Windows)
    script = """
import base64, os, resource, sys
from ankiops_git.convert.tree import parse
image = base64.b64encode(os.urandom(300_000)).decode()
parse("<b>warm</b>")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for index in range(300):
    parse(f'<img src="data:image/png;base64,{index}{image}">')
per_mb = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KB
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // per_mb)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 30, f"parsing grew the process by {done.stdout.strip()} MB"
