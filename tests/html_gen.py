"""HTML generators and corpus samples shared by the conversion tests: tag soup
(anything), well-formed nesting, and the corpora's fields with markup."""

from __future__ import annotations

import re

from corpus_util import corpus_fields
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


def skeleton(html: str) -> str:
    """A field's markup with text and attribute values blanked: one per shape."""
    return re.sub(r'"[^"]*"', '""', re.sub(r">[^<]+<", "><", html))


def fields_with_markup(name: str, one_per_shape: bool) -> list[str]:
    fields = [f for f in corpus_fields(name) if "<" in f or "&" in f]
    if not one_per_shape:
        return fields
    shapes: dict[str, str] = {}
    for field in fields:
        shapes.setdefault(skeleton(field), field)
    return list(shapes.values())
