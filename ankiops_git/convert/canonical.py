"""Canonical HTML: one spelling for HTML that Anki displays the same way.

Two fields are equal (`html_equal`) when their canonical forms are equal. The
canonical form is the html5lib parse with these rewrites, each of which leaves
the rendered card unchanged:

- attributes sorted, `style` declarations spaced uniformly, empty `alt` dropped;
- synonyms: `strong` -> `b`, `em` -> `i`, `strike`/`del` -> `s`;
- attribute-less `span`/`font` unwrapped, empty inline elements dropped,
  adjacent identical inline elements merged, spaces and `<br>` at the edges of
  `b`/`i` moved outside them;
- line layout: attribute-less `<div>`s (how Anki's editor makes lines) become
  `<br>`-separated lines, as the browser shows them: `<div>a</div><div>b</div>`,
  `a<div>b</div>` and `a<br>b` are all `a<br>b`; a `<br>` that ends a line
  before a block boundary (Anki's `<div>x<br></div>`) is dropped, since it
  shows nothing;
- whitespace collapsed as the browser does outside `<pre>` (runs become one
  space, none at line starts/ends or between blocks); `&nbsp;` is kept;
- tables: `thead`/`tbody`/`tfoot` wrappers dropped (rows only);
- a list directly inside a list moves into the preceding item (same rendering);
  an empty list is dropped (it shows nothing);
- in `<pre>`: `<br>` is a newline, a sole attribute-less `<code>` is unwrapped,
  a newline ending a non-empty last line is dropped (browsers don't show it).

Everything else -- text, comments, attributes, element structure -- is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import PageElement

SYNONYMS = {"strong": "b", "em": "i", "strike": "s", "del": "s"}
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
# Inline elements whose edge spaces and <br>s can move outside without a visible change.
EDGE_MOVABLE = {"b", "i"}
# Inline elements that render nothing when empty.
DROP_WHEN_EMPTY = {"b", "i", "s", "u", "span", "font", "sub", "sup", "small", "big", "mark",
                   "code", "em", "strong", "del", "ins", "kbd", "samp", "var", "cite", "q",
                   "abbr", "tt"}  # fmt: skip
UNWRAP_WITHOUT_ATTRS = {"span", "font"}
# Elements that show something even with no text.
VISIBLE_VOID = {"img", "input", "hr", "embed", "iframe", "video", "audio", "object", "svg",
                "canvas", "select", "button", "textarea", "meter", "progress"}  # fmt: skip

_WS = re.compile(r"[ \t\n\r\f]+")
WHITESPACE = " \t\n\r\f"


def parse(html: str) -> Tag:
    """Parse a field's HTML with html5lib; returns the <body> holding the field."""
    soup = BeautifulSoup(
        "<!DOCTYPE html><html><head></head><body>" + html,
        "html5lib",
        multi_valued_attributes=None,
    )
    body = soup.body
    assert body is not None
    return body


def canonical_html(html: str) -> str:
    """The canonical spelling of `html` (see module docstring)."""
    if is_plain_text(html):
        return escape_text(plain_text_line(html))
    image = lone_image_src(html)
    if image is not None:
        return f'<img src="{image}">'
    return serialise(normalised(html))


_LONE_IMAGE = re.compile(r'[ \t\n\r\f]*<img src="([^"<>&\x00]+)"[ \t\n\r\f]*/?>[ \t\n\r\f]*')


def lone_image_src(html: str) -> str | None:
    """The src of a field that is one plain `<img src="...">` (a fast path), else None."""
    match = _LONE_IMAGE.fullmatch(html)
    return match.group(1) if match else None


def is_plain_text(html: str) -> bool:
    """Text with no markup at all, which needs no parser (a fast path: most fields)."""
    return not any(c in html for c in "<&\x00")


def plain_text_line(text: str) -> str:
    """What the browser shows for markup-free text: whitespace collapsed and trimmed."""
    return _WS.sub(" ", text).strip(" ")


def html_equal(a: str, b: str) -> bool:
    """Whether two fields' HTML render the same (equal canonical forms)."""
    return a == b or canonical_html(a) == canonical_html(b)


def normalised(html: str) -> Tag:
    """The parsed, canonicalised tree of `html` (its <body>)."""
    body = parse(html)
    _normalise(body)
    return body


# --- normalisation -------------------------------------------------------------------


def _normalise(el: Tag) -> None:
    if el.name in RAW_TEXT:
        if el.name == "pre":
            _normalise_pre(el)
        return
    for child in list(el.children):
        if isinstance(child, Tag):
            child.name = SYNONYMS.get(child.name, child.name)
            _normalise_attrs(child)
            _normalise(child)
            if child.name in UNWRAP_WITHOUT_ATTRS and not child.attrs:
                child.unwrap()
    if el.name in ("ul", "ol"):
        _adopt_nested_lists(el)
        if not any(isinstance(c, Tag) or str(c).strip(WHITESPACE) for c in el.children):
            el.extract()  # an empty list shows nothing
            return
    if el.name == "table":
        for section in el.find_all(["thead", "tbody", "tfoot"], recursive=False):
            section.unwrap()
    if el.name in EDGE_MOVABLE:
        return  # its parent moves its edges out and lays out its line
    if el.name in BLOCK or _has_block(el):
        _layout(el)


def _normalise_attrs(el: Tag) -> None:
    attrs = {name.lower(): str(value) for name, value in el.attrs.items()}
    if "style" in attrs:
        declarations = [d.strip() for d in attrs["style"].split(";")]
        attrs["style"] = "; ".join(
            re.sub(r"\s*:\s*", ": ", _WS.sub(" ", d), count=1) for d in declarations if d
        )
    if el.name == "img" and attrs.get("alt") == "":
        del attrs["alt"]
    el.attrs = dict(sorted(attrs.items()))


def _normalise_pre(pre: Tag) -> None:
    for br in pre.find_all("br"):
        br.replace_with("\n")
    kids = [k for k in pre.children if not (isinstance(k, NavigableString) and not str(k))]
    if len(kids) == 1 and isinstance(kids[0], Tag) and kids[0].name == "code" and not kids[0].attrs:
        kids[0].unwrap()
    pre.smooth()
    last = _last_text(pre)
    # a newline that ends a non-empty last line shows nothing; "x\n\n" and "\n" do
    text = pre.get_text()
    if last is not None and str(last).endswith("\n") and len(text) > 1 and text[-2] != "\n":
        last.replace_with(str(last)[:-1])
    pre.smooth()


def _last_text(el: Tag) -> NavigableString | None:
    for node in reversed(list(el.descendants)):
        if type(node) is NavigableString:
            return node
        if isinstance(node, Tag) and node.name in VOID:
            return None
    return None


def _adopt_nested_lists(lst: Tag) -> None:
    """Move a list that directly follows an item (Anki's indent) into that item."""
    previous_item: Tag | None = None
    for child in list(lst.children):
        if isinstance(child, Tag) and child.name == "li":
            previous_item = child
        elif isinstance(child, Tag) and child.name in ("ul", "ol") and previous_item is not None:
            previous_item.append(child.extract())
        elif isinstance(child, Comment) or str(child).strip(WHITESPACE):
            previous_item = None  # content in between: moving would reorder it


def _is_block(node: PageElement) -> bool:
    return isinstance(node, Tag) and (node.name in BLOCK or _has_block(node))


def _has_block(el: Tag) -> bool:
    return any(isinstance(d, Tag) and d.name in BLOCK for d in el.descendants)


_BOUNDARY = object()


def _flatten(el: Tag) -> Iterator[object]:
    """Children, with attribute-less divs dissolved into boundaries."""
    for child in list(el.children):
        if isinstance(child, Tag) and child.name == "div" and not child.attrs:
            yield _BOUNDARY
            yield from _flatten(child)
            yield _BOUNDARY
        else:
            yield child


def _layout(el: Tag) -> None:
    """Rewrite `el`'s children as blocks and runs of `<br>`-separated lines."""
    _move_edges_out(el)  # first, so that <br>s moved out of <b>/<i> break lines
    items: list[tuple[str, object]] = []
    line: list[PageElement] = []

    def end_line(forced: bool) -> None:
        nonlocal line
        if forced or any(_has_content(n) for n in line):
            items.append(("line", line))
        line = []

    for child in _flatten(el):
        if child is _BOUNDARY:
            end_line(False)
        elif isinstance(child, Tag) and child.name == "br":
            end_line(True)
        elif isinstance(child, PageElement) and _is_block(child):
            end_line(False)
            items.append(("block", child))
        elif isinstance(child, PageElement):
            line.append(child)
    end_line(False)

    for child in list(el.children):
        child.extract()
    soup = _soup_of(el)
    run_open = False
    last_empty = False
    for kind, value in items:
        if kind == "block":
            if run_open and last_empty:
                el.append(soup.new_tag("br"))
            run_open = False
            assert isinstance(value, PageElement)
            el.append(value)
            continue
        assert isinstance(value, list)
        nodes = _clean_line(value)
        if run_open:
            el.append(soup.new_tag("br"))
        for node in nodes:
            el.append(node)
        run_open = True
        last_empty = not nodes
    if run_open and last_empty:
        el.append(soup.new_tag("br"))
    el.smooth()


def _soup_of(el: Tag) -> BeautifulSoup:
    node: PageElement = el
    while node.parent is not None:
        node = node.parent
    assert isinstance(node, BeautifulSoup)
    return node


def _has_content(node: PageElement) -> bool:
    if isinstance(node, Comment):
        return True
    if isinstance(node, NavigableString):
        return bool(str(node).strip(WHITESPACE))
    if isinstance(node, Tag):
        if node.name in VISIBLE_VOID or node.name == "br":
            return True
        return any(_has_content(c) for c in node.children)
    return False


def _clean_line(nodes: list[PageElement]) -> list[PageElement]:
    """One line's inline nodes with edges moved, whitespace collapsed and trimmed."""
    holder = Tag(name="span")
    for node in nodes:
        holder.append(node)
    _move_edges_out(holder)
    _collapse_whitespace(holder)
    _drop_empty_inline(holder)
    _merge_adjacent(holder)
    holder.smooth()
    return [c.extract() for c in list(holder.children) if not _is_empty_text(c)]


def _is_empty_text(node: PageElement) -> bool:
    return type(node) is NavigableString and not str(node)


def _move_edges_out(el: Tag) -> None:
    """Move leading/trailing spaces and <br>s of b/i outside them (post-order)."""
    for child in list(el.children):
        if not isinstance(child, Tag) or child.name in RAW_TEXT:
            continue
        _move_edges_out(child)
        if child.name not in EDGE_MOVABLE:
            continue
        while child.contents:
            first = child.contents[0]
            if isinstance(first, Tag) and first.name == "br":
                child.insert_before(first.extract())
            elif type(first) is NavigableString and str(first)[:1] in tuple(WHITESPACE):
                text = str(first)
                stripped = text.lstrip(WHITESPACE)
                child.insert_before(NavigableString(" "))
                if stripped:
                    first.replace_with(stripped)
                    break
                first.extract()
            else:
                break
        while child.contents:
            last = child.contents[-1]
            if isinstance(last, Tag) and last.name == "br":
                child.insert_after(last.extract())
            elif type(last) is NavigableString and str(last)[-1:] in tuple(WHITESPACE):
                text = str(last)
                stripped = text.rstrip(WHITESPACE)
                child.insert_after(NavigableString(" "))
                if stripped:
                    last.replace_with(stripped)
                    break
                last.extract()
            else:
                break


def _inline_walk(el: Tag) -> Iterator[PageElement]:
    """Text nodes and line-affecting elements of a line, in document order."""
    for child in el.children:
        if isinstance(child, Comment):
            continue
        if type(child) is NavigableString:
            yield child
        elif isinstance(child, Tag):
            if child.name == "br" or child.name in VISIBLE_VOID or child.name in RAW_TEXT:
                yield child
            else:
                yield from _inline_walk(child)


def _collapse_whitespace(holder: Tag) -> None:
    at_space = True  # at a line start, leading spaces are not shown
    texts: list[NavigableString] = []
    for node in list(_inline_walk(holder)):
        if isinstance(node, Tag):
            if node.name == "br":
                _rstrip_texts(texts)
                texts = []
                at_space = True
            else:
                texts = []
                at_space = False
            continue
        text = _WS.sub(" ", str(node))
        if at_space:
            text = text.lstrip(" ")
        if text:
            at_space = text.endswith(" ")
        new = NavigableString(text)
        node.replace_with(new)
        texts.append(new)
    _rstrip_texts(texts)


def _rstrip_texts(texts: list[NavigableString]) -> None:
    for node in reversed(texts):
        text = str(node)
        stripped = text.rstrip(" ")
        if stripped != text:
            replacement = NavigableString(stripped)
            node.replace_with(replacement)
        if stripped:
            return


def _drop_empty_inline(el: Tag) -> None:
    for child in list(el.children):
        if isinstance(child, Tag):
            _drop_empty_inline(child)
            if child.name in DROP_WHEN_EMPTY and not child.contents:
                child.extract()
        elif _is_empty_text(child):
            child.extract()


def _merge_adjacent(el: Tag) -> None:
    previous: PageElement | None = None
    for child in list(el.children):
        if (
            isinstance(child, Tag)
            and isinstance(previous, Tag)
            and child.name == previous.name
            and child.name in DROP_WHEN_EMPTY
            and child.attrs == previous.attrs
        ):
            for grandchild in list(child.children):
                previous.append(grandchild.extract())
            child.extract()
            _merge_adjacent(previous)
            previous.smooth()
            continue
        if isinstance(child, Tag):
            _merge_adjacent(child)
        previous = child


# --- serialisation ---------------------------------------------------------------------


def serialise(el: Tag) -> str:
    """Deterministic HTML of `el`'s children."""
    out: list[str] = []
    for child in el.children:
        _serialise(child, out)
    return "".join(out)


def escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\xa0", "&nbsp;")
    )


def escape_attr(value: str) -> str:
    return escape_text(value).replace('"', "&quot;")


def _serialise(node: PageElement, out: list[str]) -> None:
    if isinstance(node, Comment):
        out.append(f"<!--{node}-->")
    elif isinstance(node, NavigableString):
        if type(node) is NavigableString:
            parent = node.parent
            if parent is not None and parent.name in ("script", "style"):
                out.append(str(node))
            else:
                out.append(escape_text(str(node)))
    elif isinstance(node, Tag):
        attrs = "".join(f' {k}="{escape_attr(str(v))}"' for k, v in node.attrs.items())
        out.append(f"<{node.name}{attrs}>")
        if node.name in VOID:
            return
        first = node.contents[0] if node.contents else None
        if node.name in ("pre", "textarea", "listing") and str(first or "").startswith("\n"):
            out.append("\n")  # the parser drops one newline right after <pre>
        for child in node.children:
            _serialise(child, out)
        out.append(f"</{node.name}>")
