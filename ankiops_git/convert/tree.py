"""The HTML tree the converters work on: its one parser (Lexbor's HTML5 tree
construction, through selectolax; tests/test_convert_parser.py compares it with
html5lib), walked into light nodes (`Element`, text as `str`, `Comment`); its
serialisation; the tag sets, defined here only."""

from __future__ import annotations

import re
import threading
from typing import TypeGuard

from selectolax.lexbor import LexborHTMLParser, LexborNode

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
BLOCK = {
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "html", "body",
    "script", "style", "textarea", "title", "head", "center", "menu", "noscript",
}  # fmt: skip
RAW_TEXT = {"pre", "script", "style", "textarea", "xmp", "listing", "plaintext"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Inline elements that render nothing when empty; elements that show with no text.
DROP_WHEN_EMPTY = {"b", "i", "s", "u", "span", "font", "sub", "sup", "small", "big", "mark",
                   "code", "em", "strong", "del", "ins", "kbd", "samp", "var", "cite", "q",
                   "abbr", "tt"}  # fmt: skip
VISIBLE_VOID = {"img", "input", "hr", "embed", "iframe", "video", "audio", "object", "svg",
                "canvas", "select", "button", "textarea", "meter", "progress"}  # fmt: skip


class Comment(str):
    """An HTML comment's text."""


class Element:
    __slots__ = ("name", "attrs", "children")

    def __init__(self, name: str, attrs: dict[str, str], children: list[Node]) -> None:
        self.name, self.attrs, self.children = name, attrs, children

    def __repr__(self) -> str:
        return serialise([self])


Node = Element | str
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOGUS_COMMENT = re.compile(r"<\?([^>]*)>?")
_RAW_TEXT_TAG = re.compile(r"<(script|style|textarea|title|xmp|plaintext|iframe|no[sef])", re.I)


def parse(html: str) -> Element:
    """A field's HTML as a card shows it, as a <body>: Anki's reviewer sets a card's
    HTML as an element's innerHTML, which parses it as a fragment in that element."""
    if not html.isascii():  # (Lexbor reads UTF-8: a lone surrogate is U+FFFD)
        html = _SURROGATE.sub("\ufffd", html)
    if "<?" in html and not _RAW_TEXT_TAG.search(html):
        html = _BOGUS_COMMENT.sub(r"<!--?\1-->", html)  # (Lexbor may read <?x?> as XML)
    body = _body(len(html))
    body.inner_html = html
    return Element("body", {}, _children(body))


_DOCUMENTS = threading.local()
_ROOM = 256 * 1024  # characters of HTML a document parses before a new one


def _body(size: int) -> LexborNode:
    """The <body> of this thread's Lexbor document, reused: a new document costs 15 µs,
    a fragment parsed into it 2 µs. A new one after 256 K characters of fields (1,100
    to 1,600 of the corpora's), since a document frees what it parsed only with itself:
    about 15 bytes a character of a small field, and all of a large one (a 400 KB image
    as a data: URL)."""
    if getattr(_DOCUMENTS, "room", -1) < size:
        _DOCUMENTS.parser, _DOCUMENTS.room = LexborHTMLParser("<!DOCTYPE html><body>"), _ROOM
    _DOCUMENTS.room -= size
    body = _DOCUMENTS.parser.body
    assert body is not None
    return body


def _children(node: LexborNode) -> list[Node]:
    out: list[Node] = []
    child = node.first_child
    while child is not None:
        tag = child.tag
        if tag == "-text":
            text = child.text_content or ""
            if out and type(out[-1]) is str:
                out[-1] += text
            elif text:
                out.append(text)
        elif tag == "-comment":
            out.append(Comment((child.html or "")[4:-3]))
        elif tag is None and child.html:  # XML's <?x?> (see parse): a bogus comment
            out.append(Comment(child.html[1:-1].rstrip("? ") + "?"))
        elif tag is not None and tag[0] != "-":
            attrs = child.attributes  # (None for an attribute with no value)
            if None in attrs.values():
                attrs = {k: v or "" for k, v in attrs.items()}
            out.append(Element(tag, attrs, _children(child)))  # type: ignore[arg-type]
        child = child.next
    return out


def named(node: Node | None, *names: str) -> TypeGuard[Element]:
    return isinstance(node, Element) and node.name in names


def is_block(node: Node | None) -> TypeGuard[Element]:
    return isinstance(node, Element) and node.name in BLOCK


def descendants(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        if isinstance(node, Element):
            out += descendants(node.children)
    return out


def text_of(nodes: list[Node]) -> str:
    """The text below these nodes (no comments)."""
    return "".join(
        n if type(n) is str else text_of(n.children) if isinstance(n, Element) else ""
        for n in nodes
    )


def escape_text(text: str) -> str:
    """Text as a browser's innerHTML (so Anki's editor) writes it: `&`, `<`, `>` and
    no-break spaces escaped; in an attribute value, `"` too (`escape_attr`)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\xa0", "&nbsp;")


def escape_attr(value: str) -> str:
    """An attribute value; its newlines as `&#10;`, so a tag is one line of Markdown."""
    return escape_text(value).replace('"', "&quot;").replace("\n", "&#10;")


def open_tag(el: Element) -> str:
    attrs = (f' {k}="{escape_attr(v)}"' for k, v in el.attrs.items())
    return f"<{el.name}{''.join(attrs)}>"


def serialise(nodes: list[Node], newline_entities: bool = False) -> str:
    """Deterministic HTML of these nodes; `newline_entities`: newlines in text (in <pre>,
    <code>) as `&#10;`, so that no blank line ends a Markdown HTML block inside it."""
    out: list[str] = []
    _serialise(nodes, out, newline_entities, "")
    return "".join(out)


def _serialise(nodes: list[Node], out: list[str], entities: bool, parent: str) -> None:
    for node in nodes:
        if type(node) is str:
            if parent in ("script", "style"):
                out.append(node)
            else:
                text = escape_text(node)
                out.append(text.replace("\n", "&#10;") if entities else text)
        elif type(node) is Comment:
            out.append(f"<!--{node}-->")
        elif isinstance(node, Element):
            name = node.name
            out.append(open_tag(node) if node.attrs else f"<{name}>")
            if name in VOID:
                continue
            kids = node.children
            first = kids[0] if kids else None
            if name in ("pre", "textarea", "listing") and type(first) is str and first[:1] == "\n":
                out.append("&#10;" if entities and name == "pre" else "\n")  # (parsing drops one)
            _serialise(kids, out, entities, name)
            out.append(f"</{name}>")
