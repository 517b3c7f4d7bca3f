"""The one HTML parser (Lexbor, through selectolax: convert/tree.py) against html5lib.

Both implement the HTML standard's tree construction; the canonical form of every
field must come out the same from either tree, on the corpora and on generated tag
soup (misnested tags, tables, implied elements, odd attributes and entities). Where
html5lib 1.1 (2020) parses otherwise than the standard and browsers now do, generated
HTML is left out: content inside `<select>` (kept since the standard's change for
customisable selects), a newline (or `&#10;`) right after `<pre>`/`<listing>`, or a
comment there (html5lib keeps the newline in some of these, and the old serialiser
wrote one before a leading comment).
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

import html5lib
import pytest
from html_gen import SETTINGS, SOUP, WELL_FORMED, fields_with_markup
from hypothesis import assume, given
from hypothesis import strategies as st
from test_convert_properties import ANKI_HTML

from ankiops_git.convert.canonical import canonical_html, is_empty_field, normalise
from ankiops_git.convert.tree import Comment, Element, Node, parse, serialise

_HTML5LIB_OLD = re.compile(r"<select|<(pre|listing)\b[^>]*>(\r?\n|&#10;|<!--)", re.IGNORECASE)
_COMMENT = ElementTree.Comment  # (html5lib's etree tree: a comment's tag)


def _nodes(element: object) -> list[Node]:
    out: list[Node] = []
    if element.text:  # type: ignore[attr-defined]
        out.append(element.text)  # type: ignore[attr-defined]
    for child in element:  # type: ignore[attr-defined]
        if child.tag is _COMMENT:
            out.append(Comment(child.text or ""))
        else:
            attrs = {str(k): v for k, v in child.attrib.items()}
            out.append(Element(child.tag, attrs, _nodes(child)))
        if child.tail:
            out.append(child.tail)
    return out


def html5lib_canonical(html: str) -> str:
    fragment = html5lib.parseFragment(  # (as tree.parse: the field as a body's innerHTML)
        "" if is_empty_field(html) else html,
        container="body",
        treebuilder="etree",
        namespaceHTMLElements=False,
    )
    return serialise(normalise(Element("body", {}, _nodes(fragment))).children)


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
def test_both_parsers_give_the_same_canonical_form_on_generated_html(html: str) -> None:
    assume(_HTML5LIB_OLD.search(html) is None)
    assert canonical_html(html) == html5lib_canonical(html), html


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
