"""The fast parse (convert/fastparse.py) against html5lib, the reference.

Whenever fast_parse accepts a field, its tree must be html5lib's tree: the same
nodes, names, attributes (in order), node classes and bs4 fields, with consistent
links; and html_to_md must give the same Markdown with the fast path off. The
hand-written cases show each rule of the guard rejecting HTML that html5lib
restructures or reads differently from plain nesting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import NavigableString, Tag
from bs4.element import PageElement
from corpus_util import corpus_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ankiops_git.convert import canonical, html_to_md
from ankiops_git.convert.canonical import normalised, parse_html5lib, serialise
from ankiops_git.convert.fastparse import fast_parse

_LINKS = {"parent", "previous_element", "next_element", "previous_sibling", "next_sibling"}
# Where in the source html5lib saw a tag; nothing reads it, and the fast parse has none.
_UNUSED = {"contents", "sourceline", "sourcepos"}


def signature(node: PageElement) -> Any:
    """Everything about a node and its subtree except the links (checked apart)."""
    fields = {k: v for k, v in vars(node).items() if k not in _LINKS | _UNUSED}
    if "attrs" in fields:
        fields["attrs"] = (type(fields["attrs"]), list(fields["attrs"].items()))
    for name in ("interesting_string_types", "preserve_whitespace_tags"):
        if fields.get(name) is not None:
            fields[name] = sorted(map(str, fields[name]))
    text = str(node) if isinstance(node, NavigableString) else None
    children = [signature(c) for c in node.contents] if isinstance(node, Tag) else None
    return (type(node), text, sorted(fields.items(), key=lambda kv: kv[0]), children)


def document_order(el: Tag) -> Iterator[PageElement]:
    for child in el.contents:
        yield child
        if isinstance(child, Tag):
            yield from document_order(child)


def assert_links_consistent(body: Tag) -> None:
    """Parent, sibling and element links as bs4 keeps them, so that .descendants,
    .find_parent and .get_text see the tree that .contents describes."""
    order = list(document_order(body))
    for node in [body, *order]:
        if isinstance(node, Tag):
            kids = node.contents
            for index, child in enumerate(kids):
                assert child.parent is node
                assert child.previous_sibling is (kids[index - 1] if index else None)
                assert child.next_sibling is (kids[index + 1] if index + 1 < len(kids) else None)
    chain = [body, *order]
    for before, after in zip(chain, chain[1:], strict=False):
        assert before.next_element is after and after.previous_element is before
    assert chain[-1].next_element is None
    assert [id(n) for n in body.descendants] == [id(n) for n in order]


def assert_same_as_html5lib(html: str, implied_tbody: bool = False) -> bool:
    """If the fast parse accepts `html`, it is html5lib's tree; returns whether it did.
    `implied_tbody`: as canonical.parse calls it (rows without <tbody> in a table)."""
    fast = fast_parse(html, implied_tbody=implied_tbody)
    if fast is None:
        return False
    reference = parse_html5lib(html)
    assert signature(fast) == signature(reference), html
    assert_links_consistent(fast)
    assert body_path(fast) == body_path(reference)
    canonical.use_fast_parse(False)
    try:
        reference_canonical = normalised(html)
        reference_md = html_to_md(html)
    finally:
        canonical.use_fast_parse(True)
    assert serialise(normalised(html)) == serialise(reference_canonical), html
    assert html_to_md(html) == reference_md, html
    return True


def body_path(body: Tag) -> list[str]:
    # The fast tree has no BeautifulSoup object above <html>: nothing reads that far up.
    return [p.name for p in body.parents if p.name != "[document]"]


# --- the real corpora -----------------------------------------------------------------


def _skeleton(html: str) -> str:
    """A field's markup with text and attribute values blanked: one per shape."""
    return re.sub(r'"[^"]*"', '""', re.sub(r">[^<]+<", "><", html))


def _fields(name: str, one_per_shape: bool) -> list[str]:
    fields = [f for f in corpus_fields(name) if "<" in f or "&" in f]
    if not one_per_shape:
        return fields
    shapes: dict[str, str] = {}
    for field in fields:
        shapes.setdefault(_skeleton(field), field)
    return list(shapes.values())


@pytest.mark.parametrize(
    ("name", "one_per_shape", "least_accepted"),
    # ultimate-geography is ~10,000 near-identical image fields: one of each shape.
    [("omscs", False, 0.95), ("ultimate-geography", True, 1.0)],
)
def test_fast_parse_builds_html5libs_tree_on_the_corpora(
    name: str, one_per_shape: bool, least_accepted: float
) -> None:
    fields = _fields(name, one_per_shape)
    accepted = sum(assert_same_as_html5lib(html) for html in fields)
    # the comparison must not be vacuous: well-formed editor HTML takes the fast path
    assert accepted >= least_accepted * len(fields), (accepted, len(fields))


# --- generated HTML -------------------------------------------------------------------

_TEXT = st.text(alphabet=st.sampled_from("ab \n\t\x0c>\"'=/;#xé"), max_size=6)
_REFERENCE = st.sampled_from(
    ["&amp;", "&lt;", "&nbsp;", "&notin;", "&notit;", "&not", "&amp", "&#65;", "&#x41;",
     "&#10;", "&#128;", "&#0;", "&#xD800;", "&#xFFFE;", "&#99999999;", "& ", "&", "&&",
     "&#;", "&#x;", "&bogus;", "&AMP;", "&#9;"]
)  # fmt: skip
_ATTR_VALUE = st.one_of(
    _TEXT.filter(lambda t: '"' not in t).map(lambda t: f'"{t}"'),
    _TEXT.filter(lambda t: "'" not in t).map(lambda t: f"'{t}'"),
    st.sampled_from(["x", "a/b", "1", "a&amp;b", '"&notit;"', '"a&b"', '"&"', "x/"]),
    _REFERENCE.map(lambda r: f'"{r}"'),
)
_ATTR = st.tuples(st.sampled_from(["class", "style", "href", "src", "CLASS", "title"]), _ATTR_VALUE)
_ATTRS = st.lists(_ATTR, max_size=2).map(lambda attrs: "".join(f" {n}={v}" for n, v in attrs))
_NAMES = ["b", "i", "u", "span", "a", "code", "font", "strong", "em", "s", "sub", "p", "div",
          "ul", "ol", "li", "dl", "dd", "dt", "h1", "h2", "pre", "blockquote", "table", "td",
          "tr", "B", "Div", "textarea", "listing", "nobr", "button", "form", "select"]  # fmt: skip
_VOIDS = ["br", "img", "hr", "input", "wbr"]
_SOUP_TOKEN = st.one_of(
    _TEXT,
    _REFERENCE,
    st.tuples(st.sampled_from(_NAMES), _ATTRS).map(lambda t: f"<{t[0]}{t[1]}>"),
    st.sampled_from(_NAMES + _VOIDS).map(lambda n: f"</{n}>"),
    st.tuples(
        st.sampled_from(_VOIDS + ["div", "b"]), _ATTRS, st.sampled_from([">", "/>", " />"])
    ).map(lambda t: f"<{t[0]}{t[1]}{t[2]}"),
    st.sampled_from(
        [
            "<!--c-->",
            "<!---->",
            "<!-->",
            "<!-- a -- b -->",
            "<!--x--!>",
            "<!--a-->",
            "<!--\n-->",
            "< b",
            "<3",
            "</ b>",
            "<!DOCTYPE html>",
            "<?x?>",
            "\r\n",
            "\x00",
            "<pre>\n",
            "<pre>&#10;",
            "<b >",
            "<a href = 'x'>",
        ]
    ),  # fmt: skip
)
SOUP = st.lists(_SOUP_TOKEN, max_size=12).map("".join)


# Attributes the guard accepts: no duplicate names, no ambiguous "&", no "/" unquoted.
_SAFE_VALUE = st.one_of(
    _TEXT.filter(lambda t: '"' not in t).map(lambda t: f'"{t}"'),
    _TEXT.filter(lambda t: "'" not in t).map(lambda t: f"'{t}'"),
    st.sampled_from(["x", "1", '"a&amp;b"', "'&nbsp;&#65;'", '"a & b"', '""']),
)
_SAFE_ATTRS = st.lists(
    st.tuples(st.sampled_from(["class", "style", "href", "title", "CLASS"]), _SAFE_VALUE),
    max_size=2,
    unique_by=lambda attr: attr[0].lower(),
).map(lambda attrs: "".join(f" {n}={v}" for n, v in attrs))


def _element(name: str, attrs: str, inner: str) -> str:
    return f"<{name}{attrs}>{inner}</{name}>"


def _elements(
    names: st.SearchStrategy[str], inner: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.tuples(names, _SAFE_ATTRS, inner).map(lambda t: _element(*t))


_INLINE_NAMES = st.sampled_from(["b", "i", "u", "span", "code", "sub", "sup", "em", "s", "font"])


def _phrasing(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        _TEXT.map(lambda t: t.replace(">", "&gt;")),
        st.sampled_from(
            [
                "&amp;",
                "&nbsp;",
                "&lt;",
                "&#x41;",
                "<br>",
                '<img src="a b.png">',
                "<br/>",
                "<!-- note -->",
                "{{c1::x}}",
                "\\(a_1\\)",
            ]
        ),  # fmt: skip
    )
    if depth == 0:
        return leaf
    inner = st.lists(_phrasing(depth - 1), max_size=3).map("".join)
    return st.one_of(leaf, _elements(_INLINE_NAMES, inner))


def _flow(depth: int) -> st.SearchStrategy[str]:
    """Well-formed HTML the guard accepts: blocks in blocks, phrasing in <p>/headings/
    <pre>, list items only directly in lists."""
    phrasing = st.lists(_phrasing(2), max_size=3).map("".join)
    pre_text = phrasing.filter(lambda h: not h.startswith("\n"))
    options = [
        _phrasing(2),
        _elements(st.sampled_from(["p", "h1", "h3"]), phrasing),
        _elements(st.just("pre"), pre_text),
        st.just("<hr>"),
    ]
    if depth:
        flow = st.lists(_flow(depth - 1), max_size=3).map("".join)
        items = st.lists(flow.map(lambda f: f"<li>{f}</li>"), max_size=3).map("".join)
        options += [
            _elements(st.sampled_from(["div", "blockquote"]), flow),
            _elements(st.sampled_from(["ul", "ol"]), items),
        ]
    return st.one_of(*options)


WELL_FORMED = st.lists(_flow(2), min_size=1, max_size=3).map("".join)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(SOUP)
def test_whatever_the_fast_parse_accepts_is_html5libs_tree(html: str) -> None:
    assert_same_as_html5lib(html)


@SETTINGS
@given(WELL_FORMED)
def test_well_formed_html_takes_the_fast_path_to_html5libs_tree(html: str) -> None:
    assert assert_same_as_html5lib(html), html


# --- the guard's rules ------------------------------------------------------------------

# Each case: HTML that html5lib does not read as plain nesting (or might not), and so
# the plain fast parse leaves to it. (A table whose rows have no <tbody> is the one
# case the fast parse can also build as html5lib does, with implied_tbody=True, which
# canonical.parse uses: tests/test_convert_fastparse_tables.py.)
RESTRUCTURED = {
    "block in p": "<p>a<div>b</div>c</p>",
    "list in p": "<p>a<ul><li>b</li></ul></p>",
    "heading in p": "<p>a<h2>b</h2></p>",
    "hr in p": "<p>a<hr>b</p>",
    "pre in p": "<p>a<pre>b</pre></p>",
    "p in p": "<p>a<p>b</p></p>",
    "p in inline in p": "<p><b>a<div>b</div></b></p>",
    "li closes li": "<ul><li>a<li>b</li></li></ul>",
    "li closes li through div": "<ul><li>a<div><li>b</li></div></li></ul>",
    "li closes li through inline": "<ul><li><b><li>b</li></b></li></ul>",
    "dd closes dt": "<dl><dt>a<dd>b</dd></dt></dl>",
    "a in a": '<a href="x">a<a href="y">b</a></a>',
    "heading in heading": "<h1>a<h2>b</h2></h1>",
    "misnested": "<b>a<i>b</b>c</i>",
    "unclosed": "<b>a",
    "stray end tag": "a</b>",
    "end tag of a void element": "a</br>b",
    "p end tag without p": "a</p>",
    "self-closing non-void": "<div/>a",
    "newline starting pre": "<pre>\na</pre>",
    "newline reference starting pre": "<pre>&#10;a</pre>",
    "table": "<table><tr><td>a</td></tr></table>",
    "text in table": "<table>a<tr><td>b</td></tr></table>",
    "textarea": "<textarea>\na</textarea>",
    "unknown tag": "<nobr>a</nobr>",
    "lone <": "a < b",
    "carriage return": "a\r\nb",
    "NUL": "a\x00b",
    "doctype": "<!DOCTYPE html>a",
    "processing instruction": "<?xml?>a",
    "bogus comment": "<!x>a",
    "abrupt comment": "<!-->a",
    "comment ending --!>": "<!--a--!>b-->",
    "comment ending in -": "<!--a--->",
    "legacy reference without ;": "&notit; &amp",
    "unknown reference": "&bogus;",
    "legacy reference in text": "a &notes b",
    "numeric reference without ;": "&#65 b",
    "C1 numeric reference": "&#128;",
    "NUL reference": "&#0;",
    "surrogate reference": "&#xD800;",
    "out-of-range reference": "&#1114112;",
    "ambiguous & in an attribute": '<a href="?a=1&copy=2">x</a>',
    "duplicate attribute": '<b class="x" class="y">a</b>',
    "attribute without space": '<b class="x"title="y">a</b>',
    "slash in unquoted value": "<img src=a/>",
    "spaces around =": '<b class = "x">a</b>',
    "uppercase duplicate attribute": '<b class="x" CLASS="y">a</b>',
}


@pytest.mark.parametrize("html", RESTRUCTURED.values(), ids=RESTRUCTURED.keys())
def test_the_guard_rejects_what_html5lib_reads_differently(html: str) -> None:
    assert fast_parse(html) is None
    # and the field still converts, through html5lib
    assert normalised(html) is not None


# What plain nesting would make of some of them (serialised; None: the input itself).
RESHAPED = {
    "block in p": None,
    "p in p": None,
    "li closes li": None,
    "li closes li through div": None,
    "li closes li through inline": None,
    "dd closes dt": None,
    "a in a": None,
    "heading in heading": None,
    "table": None,
    "text in table": None,
    "misnested": "<b>a<i>b</i></b>c",
    "p end tag without p": "a",
    "self-closing non-void": "<div></div>a",
    "newline starting pre": "<pre>\n\na</pre>",
    "newline reference starting pre": "<pre>\n\na</pre>",
}


@pytest.mark.parametrize("case", RESHAPED)
def test_html5lib_does_reshape_these(case: str) -> None:
    """The rejections above are needed: html5lib's tree is not the plain nesting."""
    html = RESTRUCTURED[case]
    assert serialise(parse_html5lib(html)) != (RESHAPED[case] or html)


ACCEPTED = [
    "<b class=\"x\" title='y' data-k=v>a &amp; b&nbsp;&#x41;&#65;</b>",
    '<p>a<br>b<br/>c<img src="x.png" /></p><ul><li>a<ul><li>b</li></ul></li></ul>',
    "<div><p>a</p><div>b</div></div><pre> \na</pre><pre><code>\na</code></pre>",
    "<h1>a <b>b</b></h1><blockquote><p>q</p></blockquote><hr><!-- a -- b -->",
    "<dl><dt>a</dt><dd>b</dd></dl>Q&A & more &Q &",
    '<a href="x">a</a><a href="y">b</a><B>up</B><span STYLE="c">x</span>',
]


@pytest.mark.parametrize("html", ACCEPTED)
def test_the_guard_accepts_well_formed_html(html: str) -> None:
    assert assert_same_as_html5lib(html)
