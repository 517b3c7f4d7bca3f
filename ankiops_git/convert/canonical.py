"""Canonical HTML: one spelling for HTML that Anki displays the same way.

Two fields are equal (`html_equal`) when their canonical forms are: the parse
(tree.py) rewritten, in one walk that builds a new tree, only in ways that leave the
card as it renders whatever the note type's CSS (docs/conversion.md lists them; the
browser oracle, tests/test_convert_browser.py, checks them in real cards).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ankiops_git.convert import tree
from ankiops_git.convert.highlight import CSS_CLASS, highlighted
from ankiops_git.convert.tree import BLOCK, RAW_TEXT, Comment, Element, Node, is_block, named

SYNONYMS = {"strong": "b", "em": "i", "strike": "s", "del": "s"}
EDGE_MOVABLE = {"b", "i"}  # edge <br>s move out, same-attribute neighbours merge unseen
UNWRAP_WITHOUT_ATTRS = {"span", "font"}
_SELF_NESTING_NO_OP = {"i", "u", "s"}  # not b: "bolder" inside bold can show
_STRUCTURAL = {"ul", "ol", "table", "tbody", "thead", "tfoot", "tr", "dl", "menu"}
_PHRASING_ONLY = tree.HEADINGS | {"p"}  # a div inside stays (dissolved, it could nest blocks)
_OPAQUE = RAW_TEXT | tree.VISIBLE_VOID | {"br", "code"}  # whitespace kept as it is
_SETTLED = BLOCK | RAW_TEXT  # laid out already, or not at all: a line's cleaning skips them
# Style properties that keep the line's height: a <br> at the edge of an element styled
# only with these shows the same outside it.
_METRICS_KEPT = {"color", "background-color", "font-weight", "font-style", "text-decoration",
                 "text-decoration-line", "text-decoration-color",
                 "text-decoration-style"}  # fmt: skip
_WS = re.compile(r"[ \t\n\r\f]+")
_COLON = re.compile(r"\s*:\s*")


@lru_cache(maxsize=4096)  # export and round trips ask for the same field's form again
def canonical_html(html: str) -> str:
    """The canonical spelling of `html` (see module docstring)."""
    if is_plain_text(html):
        return tree.escape_text(plain_text_line(html))
    image = lone_image_src(html)
    if image is not None:
        return f'<img src="{image}">'
    return tree.serialise(normalised(html).children)


_LONE_IMAGE = re.compile(r'[ \t\n\r\f]*<img src="([^"<>&\x00]+)"[ \t\n\r\f]*/?>[ \t\n\r\f]*')


def lone_image_src(html: str) -> str | None:
    """The src of a field that is one plain `<img src="...">`, else None."""
    match = _LONE_IMAGE.fullmatch(html)
    return match[1] if match else None


def is_plain_text(html: str) -> bool:
    """Text with no markup at all, which needs no parser (most fields)."""
    return "<" not in html and "&" not in html and "\x00" not in html


def plain_text_line(text: str) -> str:
    """What the browser shows for markup-free text: whitespace collapsed and trimmed."""
    return _WS.sub(" ", text).strip(" ")


def html_equal(a: str, b: str) -> bool:
    """Whether two fields' HTML render the same (equal canonical forms)."""
    return a == b or canonical_html(a) == canonical_html(b)


# Anki's own test for an empty field (rslib `field_is_empty`): only whitespace and bare
# <br>/<div> tags, what its editor leaves in a cleared field.
_ANKI_EMPTY = re.compile(r"(?:[ \t\n\r\f\v]|</?(?:br|div) ?/?>)*", re.IGNORECASE)


def is_empty_field(html: str) -> bool:
    return _ANKI_EMPTY.fullmatch(html) is not None


def normalised(html: str) -> Element:
    """The canonical tree of `html` (its <body>)."""
    return normalise(tree.parse("" if is_empty_field(html) else html))


def normalise(parsed: Element) -> Element:
    """The canonical tree of a parsed field's <body>."""
    body = _normalise("body", {}, parsed.children, frozenset())[0]
    assert isinstance(body, Element)
    if all(named(c, "br") for c in body.children):
        return Element("body", {}, [])  # only line breaks left: as empty as `<br>`
    return body


def _normalise(
    name: str, attrs: dict[str, str], kids: list[Node], plain_open: frozenset[str]
) -> list[Node]:
    """An element, normalised, as the nodes that replace it. `plain_open`: the
    attribute-less i/u/s around it since the nearest block."""
    if name in RAW_TEXT:
        return [Element(name, attrs, _normal_pre(attrs, kids) if name == "pre" else kids)]
    inner = plain_open
    if name in BLOCK:
        inner = frozenset()
    elif name in _SELF_NESTING_NO_OP and not attrs:
        inner = plain_open | {name}
    children: list[Node] = []
    for child in kids:
        if not isinstance(child, Element):
            children.append(child)
            continue
        renamed = SYNONYMS.get(child.name, child.name)
        child_attrs = _normal_attrs(renamed, child.attrs)
        pieces = _normalise(renamed, child_attrs, child.children, inner)
        unwrap = renamed in UNWRAP_WITHOUT_ATTRS and not child_attrs  # (meaningless)
        for piece in pieces:  # (it, or its copies around blocks)
            children += piece.children if unwrap and named(piece, renamed) else [piece]
    if name == "table":  # rows only
        sections = ("thead", "tbody", "tfoot")
        children = [g for c in children for g in (c.children if named(c, *sections) else [c])]
    if name in _SELF_NESTING_NO_OP and not attrs and name in plain_open:
        return children  # italic inside italic is just italic
    if name not in BLOCK:
        split = _split_around_blocks(Element(name, attrs, children), plain_open)
        if split is not None:
            return split
        if name in EDGE_MOVABLE:
            return [Element(name, attrs, children)]  # its parent lays out its line
    if name in BLOCK or _has_block(children):
        children = _layout(name, children)
    return [Element(name, attrs, children)]


def _normal_attrs(name: str, attrs: dict[str, str]) -> dict[str, str]:
    if not attrs:
        return {}
    attrs = {key.lower(): value for key, value in attrs.items()}
    if "style" in attrs:
        declarations = [d.strip() for d in attrs["style"].split(";")]
        attrs["style"] = "; ".join(
            _COLON.sub(": ", _WS.sub(" ", d), count=1) for d in declarations if d
        )
        if not attrs["style"]:
            del attrs["style"]  # an empty style changes nothing
    if name == "img" and attrs.get("alt") == "":
        del attrs["alt"]
    return dict(sorted(attrs.items()))


def _has_block(nodes: list[Node]) -> bool:
    return any(
        isinstance(c, Element) and (c.name in BLOCK or _has_block(c.children)) for c in nodes
    )


def _split_around_blocks(el: Element, plain_open: frozenset[str]) -> list[Node] | None:
    """An inline element around the blocks it holds, as CSS renders it: `<b>A<div>B
    </div></b>` is `<b>A</b><div><b>B</b></div>`; not around a list (its markers take
    the element's font)."""
    kids = el.children
    if not any(is_block(c) for c in kids) or any(named(c, "ul", "ol") for c in kids):
        return None
    return _around_blocks(
        kids, el, lambda b: _normalise(b.name, b.attrs, _wrap_contents(b, el), plain_open)
    )


def _around_blocks(kids: list[Node], template: Element, block: Callable) -> list[Node]:
    """Runs of inline nodes inside copies of `template`, blocks as `block` makes them."""
    out: list[Node] = []
    run: list[Node] = []
    for child in [*kids, None]:
        if child is not None and not is_block(child):
            run.append(child)
            continue
        if run:
            out.append(Element(template.name, dict(template.attrs), run))
            run = []
        if child is not None:
            out += block(child)
    return out


def _wrap_contents(block: Element, template: Element) -> list[Node]:
    """`block`'s children with their inline runs inside copies of `template`."""
    kids = block.children
    if (block.name in RAW_TEXT and block.name != "pre") or (
        template.name in UNWRAP_WITHOUT_ATTRS and not template.attrs
    ):
        return kids
    if block.name in _STRUCTURAL:
        return [
            Element(c.name, c.attrs, _wrap_contents(c, template)) if isinstance(c, Element) else c
            for c in kids
        ]
    return _around_blocks(
        kids, template, lambda b: [Element(b.name, b.attrs, _wrap_contents(b, template))]
    )


def _normal_pre(attrs: dict[str, str], kids: list[Node]) -> list[Node]:
    """A <pre>'s content: <br>s as newlines, no empty inline elements, a newline ending
    a non-empty last line dropped, a sole attribute-less <code> unwrapped, our own
    highlighting redone."""
    kids = _pre_nodes(kids)
    text = tree.text_of(kids)
    if text.endswith("\n") and len(text) > 1 and text[-2] != "\n":
        _drop_last_newline(kids)
        kids = _pre_nodes(kids)  # (without what that emptied)
        text = tree.text_of(kids)
    while len(kids) == 1 and named(kids[0], "code") and not kids[0].attrs:
        kids = kids[0].children
    return (attrs == {"class": CSS_CLASS} and _highlighted(kids, text)) or kids


def _pre_nodes(kids: list[Node]) -> list[Node]:
    """New nodes: <br>s as newlines, without empty texts and empty inline elements."""
    out: list[Node] = []
    for node in kids:
        if isinstance(node, Element):
            if node.name == "br":
                node = "\n"
            else:
                node = Element(node.name, node.attrs, _pre_nodes(node.children))
                if not node.children and node.name in tree.DROP_WHEN_EMPTY:
                    continue
        if type(node) is str and out and type(out[-1]) is str:
            out[-1] += node
        elif type(node) is not str or node:
            out.append(node)
    return out


def _drop_last_newline(kids: list[Node]) -> bool:
    """Drop the newline ending the last text, in place, unless a void element follows
    it; whether that text or void element was found."""
    for index in range(len(kids) - 1, -1, -1):
        node = kids[index]
        if type(node) is str:
            kids[index] = node.removesuffix("\n")
            return True
        if isinstance(node, Element) and (
            node.name in tree.VOID or _drop_last_newline(node.children)
        ):
            return True
    return False


def _highlighted(kids: list[Node], text: str) -> list[Node] | None:
    """Code as md_to_html highlights it (`<pre class="highlight"><code class=
    "language-x">`, classed spans only), highlighted afresh from its text, so code
    edited in Anki is still the same fenced block; else None."""
    code = kids[0] if len(kids) == 1 else None
    language = code_language(code)
    runs = None if language is None or "{{c" in text else highlighted(text, language)
    if runs is None or not isinstance(code, Element):
        return None
    return [
        Element(
            "code", code.attrs, [Element("span", {"class": c}, [t]) if c else t for c, t in runs]
        )
    ]


_LANGUAGE = re.compile(r"language-([\w+#.-]+)")


def code_language(node: Node | None) -> str | None:
    """x of a `<code class="language-x">` holding only text and classed spans (as
    md_to_html writes code), else None."""
    if not named(node, "code") or len(node.attrs) != 1:
        return None
    match = _LANGUAGE.fullmatch(node.attrs.get("class", ""))
    if match is None or any(
        type(c) is Comment
        or (isinstance(c, Element) and (c.name != "span" or set(c.attrs) - {"class"}))
        for c in tree.descendants(node.children)
    ):
        return None
    return match[1]


_BOUNDARY = Comment("boundary")  # (compared by identity)


def _flatten(name: str, kids: list[Node]) -> list[Node]:
    """Children, with attribute-less divs dissolved into boundaries."""
    if name in _PHRASING_ONLY:
        return kids
    out: list[Node] = []
    for child in kids:
        if named(child, "div") and not child.attrs:
            out += [_BOUNDARY, *_flatten("div", child.children), _BOUNDARY]
        else:
            out.append(child)
    return out


def _layout(name: str, kids: list[Node]) -> list[Node]:
    """An element's children as blocks and runs of `<br>`-separated lines."""
    items: list[Node | list[Node]] = []  # blocks, and lines as lists
    line: list[Node] = []
    # A list right after a line ended by a <br> or a <div>'s end keeps a <br> before
    # it: note types show lists inline-block (omscs' Basic), and there the line's end
    # puts the list on a line of its own (a <br> before a block shows nothing else).
    after_br: set[int] = set()
    broke = False
    # (<br>s moved out of b/i break lines; empties dropped)
    for child in _flatten(name, _move_edges(kids)):
        if child is _BOUNDARY or is_block(child):
            if any(_has_content(n) for n in line):
                items.append(line)
                broke = child is _BOUNDARY
            elif broke and named(child, "ul", "ol"):
                after_br.add(len(items))
            line = []
            if child is not _BOUNDARY:
                items.append(child)
                broke = False
        elif named(child, "br"):
            items.append(line)
            line, broke = [], True
        else:
            line.append(child)
            broke = broke and not _has_content(child)
    ended = len(items)  # items a <br> or a block boundary ended
    if any(_has_content(n) for n in line):
        items.append(line)
    # The field's last line ended by a <br> or a <div>'s end: the field sits in its
    # card's template, which may go on after it on the same line; there it shows.
    inline_end = name == "body" or name not in BLOCK
    terminated = inline_end and ended == len(items) and bool(items)
    if terminated and isinstance(items[-1], list) and _ends_in_br(items[-1]):
        terminated = False  # (a <br> inside an element ended it already)
    out: list[Node] = []
    run_open = last_empty = False
    for index, item in enumerate(items):
        if not isinstance(item, list):
            if run_open and (last_empty or index in after_br):
                out.append(Element("br", {}, []))
            run_open = False
            out.append(item)
            continue
        nodes = _clean_line(item)
        if run_open:
            out.append(Element("br", {}, []))
        out += nodes
        run_open, last_empty = True, not nodes
    if run_open and (last_empty or terminated):
        out.append(Element("br", {}, []))
    return out


def _ends_in_br(nodes: list[Node]) -> bool:
    last = nodes[-1] if nodes else None
    while isinstance(last, Element) and last.name != "br" and last.children:
        last = last.children[-1]
    return named(last, "br")


def _has_content(node: Node) -> bool:
    if type(node) is Comment:
        return True
    if isinstance(node, str):
        return bool(node.strip(" \t\n\r\f"))
    if node.name in tree.VISIBLE_VOID or node.name == "br" or (node.name == "a" and node.attrs):
        return True  # (an empty link shows nothing, but its target is the field's)
    return any(_has_content(c) for c in node.children)


def _clean_line(nodes: list[Node]) -> list[Node]:
    """One line's inline nodes with edges moved, whitespace collapsed and trimmed,
    empty elements dropped, neighbours merged."""
    if len(nodes) == 1 and type(nodes[0]) is str:  # (the commonest line)
        text = plain_text_line(nodes[0])
        return [text] if text else []
    return _tidy(_collapse_whitespace(nodes))  # (its edges moved out already: _layout)


def _brs_movable(tag: Element) -> bool:
    """Whether <br>s at the edges of `tag` can move outside it unseen: b/i, and
    u/s/span/font that change no font size or line height."""
    if tag.name in EDGE_MOVABLE:
        return True
    if tag.name not in ("u", "s", "span", "font"):
        return False
    for name, value in tag.attrs.items():
        if name == "style":
            declared = {d.split(":")[0].strip().lower() for d in value.split(";")}
            if not declared - {""} <= _METRICS_KEPT:
                return False
        elif not (tag.name == "font" and name == "color"):
            return False
    return True


def _move_edges(nodes: list[Node]) -> list[Node]:
    """Leading/trailing <br>s of b/i and like elements moved outside them (inner first),
    with the whitespace between them (at a line's end or start: not shown)."""
    out: list[Node] = []
    for node in nodes:
        if not isinstance(node, Element) or node.name in _SETTLED:
            out.append(node)
            continue
        kids = _move_edges(node.children)
        lead = trail = 0
        if _brs_movable(node):
            lead = _edge_brs(kids)
            trail = _edge_brs(kids[lead:][::-1])
        middle = kids[lead : len(kids) - trail]
        out += [k for k in kids[:lead] if named(k, "br")]
        if middle or node.name not in tree.DROP_WHEN_EMPTY:
            out.append(Element(node.name, node.attrs, middle))
        out += [k for k in kids[len(kids) - trail :] if named(k, "br")]
    return out


def _edge_brs(kids: list[Node]) -> int:
    """How many of `kids` are leading <br>s and whitespace, to the last <br>."""
    end = 0
    for index, kid in enumerate(kids):
        if named(kid, "br"):
            end = index + 1
        elif type(kid) is not str or _has_content(kid):
            break
    return end


def _collapse_whitespace(nodes: list[Node]) -> list[Node]:
    """Whitespace runs as one space, none at the line's start or end or before a <br>."""
    line = _Line()
    out = line.walk(nodes)
    line.rstrip()
    return out


class _Line:
    """A line being collapsed: whether it is at a space (at its start, leading spaces
    are not shown), and its text nodes since the last <br>."""

    def __init__(self) -> None:
        self.at_space = True
        self.texts: list[tuple[list[Node], int]] = []

    def rstrip(self) -> None:
        for holder, index in reversed(self.texts):
            text = holder[index]
            assert isinstance(text, str)
            holder[index] = text.rstrip(" ")
            if holder[index]:
                return

    def walk(self, kids: list[Node]) -> list[Node]:
        out: list[Node] = []
        for node in kids:
            if type(node) is str:
                text = _WS.sub(" ", node)
                if self.at_space:
                    text = text.lstrip(" ")
                if text:
                    self.at_space = text.endswith(" ")
                self.texts.append((out, len(out)))
                out.append(text)
            elif isinstance(node, Element) and node.name in _OPAQUE:
                if node.name == "br":
                    self.rstrip()
                self.texts, self.at_space = [], node.name == "br"
                out.append(node)
            elif isinstance(node, Element):
                out.append(Element(node.name, node.attrs, self.walk(node.children)))
            else:
                out.append(node)
        return out


def _tidy(nodes: list[Node]) -> list[Node]:
    """Without empty texts and empty inline elements; neighbouring texts joined, and
    b/i with the same attributes (`<b>a</b><b>c</b>` shows as `<b>ac</b>`; underlined
    or styled neighbours do not: each draws its own)."""
    out: list[Node] = []
    for node in nodes:
        previous = out[-1] if out else None
        if isinstance(node, Element):
            node = Element(node.name, node.attrs, _tidy(node.children))
            if not node.children and node.name in tree.DROP_WHEN_EMPTY:
                continue
            only = node.children[0] if node.name == "b" and len(node.children) == 1 else None
            if named(only, "i") and not only.attrs and not node.attrs:  # as `***x***` renders
                node = Element("i", {}, [Element("b", {}, only.children)])
            if (
                isinstance(previous, Element)
                and node.name == previous.name
                and node.name in EDGE_MOVABLE
                and node.attrs == previous.attrs
            ):
                out[-1] = Element(node.name, node.attrs, _tidy(previous.children + node.children))
                continue
        elif type(node) is str and type(previous) is str:
            out[-1] = previous + node
            continue
        if node != "" or type(node) is not str:
            out.append(node)
    return out
