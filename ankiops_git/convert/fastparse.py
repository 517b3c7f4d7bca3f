"""A fast parse for well-formed field HTML, building the tree html5lib would build.

html5lib (the HTML spec's tree construction) stays the reference parser: Anki's
editor writes messy HTML, and the spec says how a browser repairs it. But most
fields -- and all that our own md_to_html writes -- are well-formed: every element
closed in order, nothing the spec would restructure. For those the spec's tree is
plain nesting, which this module builds straight into Beautiful Soup objects, about
five times faster than html5lib through bs4.

`fast_parse` returns None unless a conservative check proves that html5lib would
build exactly this tree; the caller then parses with html5lib. Accepted input:

- only the tags in ALLOWED;
- tables only as explicit structure: <table> holds <thead>/<tbody>/<tfoot> (rows
  only with `implied_tbody`, which builds the <tbody> html5lib inserts for them: what
  canonical.parse asks for), those hold <tr>, a <tr> holds <td>/<th>, and
  between them only whitespace and comments (other text html5lib moves out of the
  table); no table inside a table;
- every non-void element closed explicitly, in order; no end tag of a void element;
  no `/>` on a non-void element;
- no start tag that closes a <p> (block, list item, heading, <hr>, <pre>) while a
  <p> is open; no <li>/<dd>/<dt> that html5lib would close an open item for; no <a>
  inside an <a>; no heading inside a heading;
- no newline starting a <pre> (html5lib drops it);
- `<` only to start such a tag or a plain comment (not `<!-->`, `<!--->`, no `--!`,
  not ending in `-`); no `\\r`, NUL or surrogate;
- character references only in unambiguous forms: `&name;` (an HTML5 entity), or a
  numeric reference to a plain character; a bare `&` only where no entity name
  starts after it (in attribute values: only before a space, `<`, `&` or the end);
- attributes quoted or plainly unquoted, after whitespace, no duplicates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import AttributeDict
from html5lib.constants import entities

VOID = {"br", "img", "hr", "input"}
PHRASING = {"span", "i", "b", "u", "s", "em", "strong", "strike", "del", "ins", "code", "sub",
            "sup", "font", "small", "big", "tt", "mark", "kbd", "samp", "var", "cite", "q",
            "abbr", "a"}  # fmt: skip
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Start tags that close an open <p> (the spec's "close a p element" in body).
CLOSES_P = {"p", "div", "ul", "ol", "li", "dl", "dd", "dt", "blockquote", "pre", "hr",
            "center", "section", "article", "aside", "header", "footer", "nav", "address",
            "figure", "figcaption", "details", "summary", "main", "menu", "dir", "fieldset",
            "hgroup", "listing", "table", "form", "plaintext", "xmp"} | HEADINGS  # fmt: skip
# Table parts, and what each of those whose content is structure may hold.
TABLE = {"table", "thead", "tbody", "tfoot", "tr", "td", "th"}
_TABLE_CHILDREN = {
    "table": ("thead", "tbody", "tfoot"), "thead": ("tr",), "tbody": ("tr",),
    "tfoot": ("tr",), "tr": ("td", "th"),
}  # fmt: skip
ALLOWED = VOID | PHRASING | HEADINGS | TABLE | {
    "p", "div", "ul", "ol", "li", "dl", "dd", "dt", "blockquote", "pre",
}  # fmt: skip
# The spec's "special" elements among ALLOWED: a <li>/<dd>/<dt> start tag looks for an
# open item to close down the stack until it meets one of these (other than div, p).
_SPECIAL = {"blockquote", "dd", "div", "dl", "dt", "li", "ol", "p", "pre", "ul", "body"} | (
    HEADINGS | VOID | TABLE
)
_ITEM_PEERS = {"li": ("li",), "dd": ("dd", "dt"), "dt": ("dd", "dt")}

_SPACE = "[ \\t\\n\\f]"
_NAME = "[A-Za-z_:][-A-Za-z0-9_:.]*"
_UNQUOTED_CHARS = "[^ \\t\\n\\f\"'=<>`&/]+"
_UNQUOTED = _UNQUOTED_CHARS + "(?=[ \\t\\n\\f>])"  # ends where html5lib ends it
# One attribute: its name, then a double-quoted, single-quoted or unquoted value.
_ATTR = re.compile(f"{_SPACE}+({_NAME})(?:=(?:\"([^\"]*)\"|'([^']*)'|({_UNQUOTED_CHARS})))?")
_ATTR_SHAPE = f"{_SPACE}+{_NAME}(?:=(?:\"[^\"]*\"|'[^']*'|{_UNQUOTED}))?"
_TOKEN = re.compile(
    r"([^<&]+)"  # 1 text
    r"|&(?:([A-Za-z][A-Za-z0-9]*)|#([0-9]+)|#[xX]([0-9A-Fa-f]+));"  # 2-4 references
    r"|(&)"  # 5 an ampersand that starts no such reference
    f"|<([A-Za-z][A-Za-z0-9]*)((?:{_ATTR_SHAPE})*){_SPACE}*(/?)>"  # 6 name, 7 attributes, 8 /
    f"|</([A-Za-z][A-Za-z0-9]*){_SPACE}*>"  # 9 end tag
    r"|<!--(.*?)-->"  # 10 comment
    r"|(.)",  # 11 anything else: refused
    re.DOTALL,
)
_REFUSED_CHARS = re.compile("[\r\x00\ud800-\udfff]")
_VALUE_REFERENCE = re.compile(r"&(?:([A-Za-z][A-Za-z0-9]*)|#([0-9]+)|#[xX]([0-9A-Fa-f]+));|&")


def _plain_code_point(code: int) -> bool:
    """A numeric reference html5lib turns into exactly chr(code), with no parse error."""
    if code < 0x20:
        return code in (0x09, 0x0A, 0x0C)
    if 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF:
        return False
    return code <= 0x10FFFF and (code & 0xFFFE) != 0xFFFE


# Entity names (some without the ";", as legacy HTML wrote them) by first character.
_ENTITY_NAMES: dict[str, list[str]] = {}
for _name in entities:
    _ENTITY_NAMES.setdefault(_name[0], []).append(_name)


def _literal_ampersand(html: str, after: int) -> bool:
    """Whether html5lib reads the `&` before html[after] as text: when no entity name
    starts there (which covers a space, `<`, `&` or the end); `&#` is left to it."""
    following = html[after : after + 1]
    if following == "#":
        return False
    return not any(html.startswith(name, after) for name in _ENTITY_NAMES.get(following, ()))


def _reference(name: str | None, decimal: str | None, hexadecimal: str | None) -> str | None:
    if name is not None:
        return entities.get(name + ";")
    code = int(decimal, 10) if decimal is not None else int(hexadecimal or "", 16)
    return chr(code) if _plain_code_point(code) else None


def _attr_value(raw: str) -> str | None:
    """An attribute value with its references resolved, None if one is ambiguous."""
    if "&" not in raw:
        return raw
    out: list[str] = []
    position = 0
    for match in _VALUE_REFERENCE.finditer(raw):
        out.append(raw[position : match.start()])
        position = match.end()
        if match.group() == "&":
            following = raw[position : position + 1]
            if following and following not in " \t\n\f<&":
                return None  # html5lib might read a legacy reference here
            out.append("&")
            continue
        char = _reference(*match.groups())
        if char is None:
            return None
        out.append(char)
    out.append(raw[position:])
    return "".join(out)


@lru_cache(maxsize=1024)  # fields repeat the same few attribute lists (class="k")
def _attributes(raw: str) -> tuple[tuple[str, str], ...] | None:
    """A start tag's attributes, in order, or None if html5lib might read them otherwise."""
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        name = match.group(1).lower()
        if name in attrs:
            return None  # html5lib keeps the first; rare enough to leave to it
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        resolved = _attr_value(value)
        if resolved is None:
            return None
        attrs[name] = resolved
    return tuple(attrs.items())


# Per-tag instance attributes as bs4's html5lib builder sets them (taken from a real
# parse, so they follow the installed bs4), minus the tree links set while building.
_LINKS = ("parent", "previous_element", "next_element", "previous_sibling", "next_sibling")
_TEMPLATES: dict[str, dict[str, Any]] = {}


def _templates() -> dict[str, dict[str, Any]]:
    if not _TEMPLATES:
        sample = "".join(
            f"<{name}>" if name in VOID else f"<div><{name}></{name}></div>"
            for name in sorted(ALLOWED - TABLE | {"html", "head", "body"})
        )
        sample += "<table><thead></thead><tbody><tr><th></th><td></td></tr></tbody>"
        sample += "<tfoot></tfoot></table>"  # table parts only in their places
        soup = BeautifulSoup(sample, "html5lib", multi_valued_attributes=None)
        for tag in soup.find_all(True):
            template = {k: v for k, v in vars(tag).items() if k not in _LINKS}
            template.update(attrs=None, contents=None, sourceline=None, sourcepos=None)
            _TEMPLATES.setdefault(tag.name, template)
    return _TEMPLATES


def _new_tag(name: str, attrs: AttributeDict, parent: Any, previous: Any, last: Any) -> Tag:
    """A Tag as bs4's html5lib builder makes it, linked as `parent`'s last child."""
    tag = Tag.__new__(Tag)
    tag.__dict__ = {
        **_TEMPLATES[name], "attrs": attrs, "contents": [], "_namespaces": {}, "parent": parent,
        "previous_sibling": previous, "next_sibling": None, "previous_element": last,
        "next_element": None,
    }  # fmt: skip
    return tag


def _new_string(
    cls: type[NavigableString], text: str, parent: Any, previous: Any, last: Any
) -> Any:
    node = str.__new__(cls, text)
    node.__dict__ = {
        "hidden": False, "parent": parent, "previous_sibling": previous, "next_sibling": None,
        "previous_element": last, "next_element": None,
    }  # fmt: skip
    return node


def _document() -> Tag:
    """An empty <body>, inside <html> after <head> as html5lib builds it."""
    if not _TEMPLATES:
        _templates()
    html = _new_tag("html", AttributeDict(), None, None, None)
    head = _new_tag("head", AttributeDict(), html, None, html)
    body = _new_tag("body", AttributeDict(), html, head, head)
    html.next_element = head
    head.next_element = head.next_sibling = body
    html.contents = [head, body]
    return body


def fast_parse(html: str, implied_tbody: bool = False) -> Tag | None:
    """The <body> html5lib would build for `html`, or None if that is not provably so.

    With `implied_tbody`, a <tr> directly in a <table> is put in a <tbody> opened for
    it, as html5lib's "in table" mode does (and the parse is no longer plain
    nesting); `</table>` closes it, and nothing but rows and `</tbody>` may follow
    it. Without, such a table is left to html5lib.
    """
    if _REFUSED_CHARS.search(html):
        return None
    body = _document()
    stack: list[Tag] = [body]
    parent: Tag = body
    last: Any = body  # the node added last, in document order
    open_p = open_a = open_heading = open_table = 0
    implied: Tag | None = None  # a <tbody> opened for rows directly in a <table>
    text: list[str] = []  # text not yet added (adjacent text is one node)

    for match in _TOKEN.finditer(html):
        kind = match.lastindex
        if kind == 1:
            text.append(match.group())
            continue
        if kind == 11:
            return None  # a character that starts none of the accepted tokens
        if kind == 5:
            if not _literal_ampersand(html, match.end()):
                return None
            text.append("&")
            continue
        if kind is not None and kind <= 4:
            char = _reference(match.group(2), match.group(3), match.group(4))
            if char is None:
                return None
            text.append(char)
            continue
        siblings = parent.contents
        if text:
            data = "".join(text)
            text.clear()
            if not siblings and data[0] == "\n" and parent.name == "pre":
                return None  # html5lib drops a newline that starts a <pre>
            if parent.name in _TABLE_CHILDREN and data.strip(" \t\n\f"):
                return None  # html5lib moves text out of a table's structure
            node = _new_string(
                NavigableString, data, parent, siblings[-1] if siblings else None, last
            )
            if siblings:
                siblings[-1].next_sibling = node
            last.next_element = last = node
            siblings.append(node)
        if kind == 9:
            name = match.group(9).lower()
            if parent is implied:
                implied = None
                if name == "table":  # (html5lib closes the section the table holds)
                    stack.pop()
                    parent = stack[-1]
            if parent.name != name or len(stack) == 1:
                return None  # not the element open last: html5lib would repair it
            stack.pop()
            parent = stack[-1]
            if name == "p":
                open_p -= 1
            elif name == "a":
                open_a -= 1
            elif name in HEADINGS:
                open_heading -= 1
            elif name == "table":
                open_table -= 1
            continue
        previous = siblings[-1] if siblings else None
        if kind == 10:
            data = match.group(10)
            if data.startswith((">", "-")) or data.endswith("-") or "--!" in data:
                return None  # html5lib ends or reads these comments differently
            node = _new_string(Comment, data, parent, previous, last)
        else:
            name = match.group(6).lower()
            if name not in ALLOWED:
                return None
            if implied_tbody and name == "tr" and parent.name == "table":
                implied = _new_tag("tbody", AttributeDict(), parent, previous, last)
                if previous is not None:
                    previous.next_sibling = implied
                last.next_element = last = implied
                siblings.append(implied)
                stack.append(implied)
                parent, siblings, previous = implied, implied.contents, None
            if parent.name in _TABLE_CHILDREN:
                if name not in _TABLE_CHILDREN[parent.name]:
                    return None  # html5lib inserts parts, or moves this out of the table
            elif name in TABLE and (name != "table" or open_table):
                return None  # html5lib ignores a part out of place; no nested tables
            if open_p and name in CLOSES_P:
                return None
            if name in _ITEM_PEERS and _closes_open_item(stack, _ITEM_PEERS[name]):
                return None
            if match.group(8) and name not in VOID:
                return None  # "/>" does not close a non-void element
            raw = match.group(7)
            items = _attributes(raw) if raw else ()
            if items is None:
                return None
            node = _new_tag(name, AttributeDict(items), parent, previous, last)
        if previous is not None:
            previous.next_sibling = node
        last.next_element = last = node
        siblings.append(node)
        if kind == 10 or name in VOID:
            continue
        if name == "a":
            if open_a:
                return None
            open_a += 1
        elif name in HEADINGS:
            if open_heading:
                return None
            open_heading += 1
        elif name == "p":
            open_p += 1
        elif name == "table":
            open_table += 1
        stack.append(node)
        parent = node
    if len(stack) != 1:
        return None
    if text:  # text at the end
        data = "".join(text)
        siblings = parent.contents
        node = _new_string(NavigableString, data, parent, siblings[-1] if siblings else None, last)
        if siblings:
            siblings[-1].next_sibling = node
        last.next_element = node
        siblings.append(node)
    return body


def _closes_open_item(stack: list[Tag], peers: tuple[str, ...]) -> bool:
    """Whether html5lib would close an open list item for a new <li>/<dd>/<dt>."""
    for node in reversed(stack):
        if node.name in peers:
            return True
        if node.name in _SPECIAL and node.name not in ("div", "p"):
            return False
    return False
