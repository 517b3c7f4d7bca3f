"""Canonical HTML: one spelling for HTML that Anki displays the same way.

Two fields are equal (`html_equal`) when their canonical forms are equal. The
canonical form is the html5lib parse with these rewrites, each of which leaves
the rendered card unchanged, whatever the note type's CSS (the browser oracle,
tests/test_convert_browser.py, checks them in real cards):

- attributes sorted, `style` declarations spaced uniformly, empty `alt`/`style` dropped;
- synonyms: `strong` -> `b`, `em` -> `i`, `strike`/`del` -> `s`;
- attribute-less `span`/`font` unwrapped, empty inline elements dropped, adjacent
  `b`/`i` with the same attributes merged, `<br>`s at the edges of `b`/`i` (and of
  u/s/span/font that change no line height) moved outside them;
- line layout: attribute-less `<div>`s (how Anki's editor makes lines) become
  `<br>`-separated lines, as the browser shows them: `<div>a</div><div>b</div>`,
  `a<div>b</div>` and `a<br>b<br>` are all `a<br>b<br>`; a `<br>` that ends a line
  before a block boundary (Anki's `<div>x<br></div>` before a list) is dropped,
  since it shows nothing, but not at the field's end, where its card's template
  may go on on the same line;
- whitespace collapsed as the browser does outside `<pre>` and `<code>` (runs become
  one space, none at line starts/ends or between blocks); `&nbsp;` is kept;
- tables: `thead`/`tbody`/`tfoot` wrappers dropped (rows only);
- in `<pre>`: `<br>` is a newline, a sole attribute-less `<code>` is unwrapped,
  a newline ending a non-empty last line is dropped (browsers don't show it); code
  as md_to_html highlights it is highlighted afresh from its text.

A field Anki itself treats as empty (only whitespace and bare `<br>`/`<div>` tags,
as its editor leaves a cleared field) is the empty field.

Everything else -- text, comments, attributes, element structure -- is kept: a
list directly inside a list (Anki's indent) stays there (with `display:
inline-block` lists, as omscs has, moving it into the item shows), an empty `<p>`
after a heading stays (margins need not collapse), spaces stay inside `b`/`i` (the
line may wrap elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import PageElement, PreformattedString

from ankiops_git.convert import treeops as ops
from ankiops_git.convert.fastparse import fast_parse
from ankiops_git.convert.highlight import CSS_CLASS, highlight_parts

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
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Inline elements whose edge <br>s can move outside without a visible change, and whose
# neighbours with the same attributes merge unseen.
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
    """Parse a field's HTML as html5lib does; returns the <body> holding the field.

    Well-formed HTML takes a fast path (fastparse.py) that builds the same tree.
    """
    if FAST_PARSE:
        body = fast_parse(html, implied_tbody=True)
        if body is not None:
            return body
    return parse_html5lib(html)


# Tests turn these off to compare with the full paths (see use_fast_parse).
FAST_PARSE = True
NORMAL_FORM_CHECK = True


def use_fast_parse(enabled: bool) -> None:
    """Switch the fast parse on or off (for tests); forgets cached canonical forms."""
    global FAST_PARSE
    FAST_PARSE = enabled
    _CANONICAL_CACHE.clear()


def use_normal_form_check(enabled: bool) -> None:
    """Switch the already-normal fast path on or off (for tests); forgets the cache."""
    global NORMAL_FORM_CHECK
    NORMAL_FORM_CHECK = enabled
    _CANONICAL_CACHE.clear()


def parse_html5lib(html: str) -> Tag:
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
    cached = _CANONICAL_CACHE.get(html)
    if cached is None:
        cached = serialise(normalised(html))
        remember_canonical(html, cached)
    return cached


# Parsing dominates the cost, and export/round trips ask for the same field's
# canonical form several times in a row; a small cache of a pure function.
_CANONICAL_CACHE: dict[str, str] = {}
_CACHE_SIZE = 4096


def remember_canonical(html: str, canonical: str) -> None:
    """Record `canonical` as the canonical form of `html` (computed by the caller)."""
    if len(_CANONICAL_CACHE) >= _CACHE_SIZE:
        del _CANONICAL_CACHE[next(iter(_CANONICAL_CACHE))]  # oldest first
    _CANONICAL_CACHE[html] = canonical


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


# Anki's own test for an empty field (rslib `field_is_empty`): only whitespace and
# bare <br>/<div> tags. Such a field is empty to Anki (card generation, {{#Field}}),
# and what its editor leaves behind when a field is cleared.
_ANKI_EMPTY = re.compile(r"(?:[ \t\n\r\f\v]|</?(?:br|div) ?/?>)*", re.IGNORECASE)


def is_empty_field(html: str) -> bool:
    """Whether Anki treats the field as empty."""
    return _ANKI_EMPTY.fullmatch(html) is not None


def normalised(html: str) -> Tag:
    """The parsed, canonicalised tree of `html` (its <body>)."""
    body = parse("" if is_empty_field(html) else html)
    if NORMAL_FORM_CHECK and already_normal(body):
        # all that _normalise would change (see already_normal); the parse's links
        # hold unless <br>s were replaced
        if _as_normalised(body, True):
            ops.relink(body)
        return body
    _normalise(body)
    if all(isinstance(c, Tag) and c.name == "br" for c in body.contents):
        ops.clear(body)  # only line breaks left (`<br><b></b>`): as empty as `<br>`
    ops.relink(body)  # edited with treeops: set bs4's links once (<body> ends the document)
    return body


# --- normalisation -------------------------------------------------------------------


def _normalise(el: Tag) -> None:
    if el.name in RAW_TEXT:
        if el.name == "pre":
            _normalise_pre(el)
        return
    for child in list(el.contents):
        if isinstance(child, Tag):
            child.name = SYNONYMS.get(child.name, child.name)
            _normalise_attrs(child)
            if child.name not in UNWRAP_WITHOUT_ATTRS or child.attrs:
                _normalise(child)
                continue
            before = list(el.contents)  # (only to find its pieces, below)
            _normalise(child)
            if child.parent is el:
                ops.unwrap(child)
                continue
            # It held a block and was replaced by its pieces (_split_around_blocks):
            # the inline ones are attribute-less copies of it, as meaningless.
            new = [c for c in el.contents if not any(c is old for old in before)]
            for piece in new:
                if isinstance(piece, Tag) and piece.name == child.name and not piece.attrs:
                    ops.unwrap(piece)
    if el.name == "table":
        for section in [c for c in el.contents if isinstance(c, Tag) and c.name in _SECTIONS]:
            ops.unwrap(section)
    if el.name in _SELF_NESTING_NO_OP and not el.attrs and _inside_same(el):
        ops.unwrap(el)  # italic inside italic is just italic
        return
    if el.name not in BLOCK and el.name != "[document]" and _split_around_blocks(el):
        return  # replaced by its pieces, which are normalised already
    if el.name in EDGE_MOVABLE:
        return  # its parent moves its edges out and lays out its line
    if el.name in BLOCK or _has_block(el):
        _layout(el)


_SECTIONS = ("thead", "tbody", "tfoot")
_SELF_NESTING_NO_OP = {"i", "u", "s"}  # not b: "bolder" inside bold can show


def _inside_same(el: Tag) -> bool:
    parent = el.parent
    while parent is not None:
        if parent.name == el.name and not parent.attrs:
            return True
        if parent.name in BLOCK:
            return False
        parent = parent.parent
    return False


# Blocks whose content is rows or items, not text: an inline wrapper goes further in.
_STRUCTURAL = {"ul", "ol", "table", "tbody", "thead", "tfoot", "tr", "dl", "menu"}


def _split_around_blocks(el: Tag) -> bool:
    """Split an inline element around the blocks it holds, as CSS renders it.

    `<b>A<div>B</div>C</b>` shows as `<b>A</b><div><b>B</b></div><b>C</b>`: the
    block breaks the line, and its text keeps the inline formatting.
    Returns whether `el` was replaced.
    """
    if not any(isinstance(c, Tag) and c.name in BLOCK for c in el.contents):
        return False
    if any(isinstance(c, Tag) and c.name in ("ul", "ol") for c in el.contents):
        return False  # a list's markers take the element's font and colour: kept around it
    pieces: list[PageElement] = []
    run: list[PageElement] = []
    for child in list(el.contents):
        ops.extract(child)
        if isinstance(child, Tag) and child.name in BLOCK:
            if run:
                pieces.append(_wrapped(el, run))
                run = []
            _wrap_contents(child, el)
            pieces.append(child)
        else:
            run.append(child)
    if run:
        pieces.append(_wrapped(el, run))
    for piece in pieces:
        ops.insert_before(el, piece)
    ops.extract(el)
    for piece in pieces:
        if isinstance(piece, Tag) and piece.name in BLOCK:
            _normalise(piece)  # lay it out again with its new inline wrappers
    return True


def _wrapped(template: Tag, nodes: list[PageElement]) -> Tag:
    clone = Tag(name=template.name, attrs=dict(template.attrs))
    for node in nodes:
        ops.append(clone, node)
    return clone


def _wrap_contents(block: Tag, template: Tag) -> None:
    if block.name in RAW_TEXT and block.name != "pre":
        return
    if template.name in UNWRAP_WITHOUT_ATTRS and not template.attrs:
        return  # (it means nothing: its copies would only be unwrapped again)
    if block.name in _STRUCTURAL:
        for child in block.contents:
            if isinstance(child, Tag):
                _wrap_contents(child, template)
        return
    run: list[PageElement] = []
    for child in list(block.contents):
        if isinstance(child, Tag) and child.name in BLOCK:
            if run:
                ops.insert_before(child, _wrapped(template, run))
                run = []
            _wrap_contents(child, template)
        else:
            run.append(ops.extract(child))
    if run:
        ops.append(block, _wrapped(template, run))


_COLON = re.compile(r"\s*:\s*")


def _normal_style(style: str) -> str:
    declarations = [d.strip() for d in style.split(";")]
    return "; ".join(_COLON.sub(": ", _WS.sub(" ", d), count=1) for d in declarations if d)


def _normalise_attrs(el: Tag) -> None:
    if not el.attrs:
        el.attrs = {}  # (a plain dict, as below)
        return
    attrs = {name.lower(): str(value) for name, value in el.attrs.items()}
    if "style" in attrs:
        attrs["style"] = _normal_style(attrs["style"])
    if el.name == "img" and attrs.get("alt") == "":
        del attrs["alt"]
    if attrs.get("style") == "":
        del attrs["style"]  # an empty style changes nothing
    el.attrs = dict(sorted(attrs.items()))


def _normalise_pre(pre: Tag) -> None:
    for br in _descendant_tags(pre, {"br"}):
        ops.replace_with(br, "\n")
    ops.smooth(pre)
    # a newline that ends a non-empty last line shows nothing; "x\n\n" and "\n" do
    text = ops.get_text(pre)
    last = _last_text(pre)
    if last is not None and str(last).endswith("\n") and len(text) > 1 and text[-2] != "\n":
        ops.replace_with(last, str(last)[:-1])
    for node in list(ops.descendants(pre)):
        if type(node) is NavigableString and not str(node):
            ops.extract(node)
    for inline in reversed(_descendant_tags(pre, DROP_WHEN_EMPTY)):
        if not inline.contents:
            ops.extract(inline)
    kids = list(pre.contents)
    while len(kids) == 1 and isinstance(kids[0], Tag) and kids[0].name == "code":
        if kids[0].attrs:
            break
        ops.unwrap(kids[0])
        kids = list(pre.contents)
    ops.smooth(pre)
    highlighted = _highlighted(pre)
    if highlighted is not None and not highlighted[2]:
        code, parts, _same = highlighted
        ops.clear(code)
        for css, text in parts:
            if css:
                span = Tag(name="span", attrs={"class": css})
                ops.append(span, NavigableString(text))
                ops.append(code, span)
            else:
                ops.append(code, NavigableString(text))


def _highlighted(pre: Tag) -> tuple[Tag, tuple[tuple[str, str], ...], bool] | None:
    """A code block as md_to_html highlights it (`<pre class="highlight"><code
    class="language-x">` holding only classed spans): its <code>, its text's runs as
    highlighted afresh, and whether the code holds exactly those; else None. The
    highlighting is ours, so code edited in Anki (a line added, spans split or lost)
    is the same code block: canonical form highlights it again, and html_to_md writes
    it as a fence."""
    kids = pre.contents
    if pre.attrs != {"class": CSS_CLASS} or len(kids) != 1 or type(kids[0]) is not Tag:
        return None
    code = kids[0]
    language = str(code.attrs.get("class", ""))
    if code.name != "code" or len(code.attrs) != 1 or not language.startswith("language-"):
        return None
    runs: list[tuple[str, str]] = []  # the children as (class, text), as highlight_parts
    texts: list[str] = []
    flat = True  # (spans holding only text)
    for node in code.contents:
        kind = type(node)
        if kind is NavigableString:
            texts.append(str(node))
            runs.append(("", texts[-1]))
        elif isinstance(node, Tag) and node.name == "span" and set(node.attrs) <= {"class"}:
            strings = node.contents  # (a span of ours holds one string)
            if len(strings) == 1 and type(strings[0]) is NavigableString:
                texts.append(str(strings[0]))
                runs.append((str(node.attrs.get("class", "")), texts[-1]))
            else:
                flat = False
        else:
            return None
    if not flat:  # spans in spans: only spans and text below
        for node in ops.descendants(code):
            if type(node) is Tag:
                if node.name != "span" or set(node.attrs) - {"class"}:
                    return None
            elif type(node) is not NavigableString:
                return None
    text = "".join(texts) if flat else ops.get_text(code)
    parts = None if "{{c" in text else highlight_parts(text, language[len("language-") :])
    if parts is None:
        return None
    return code, parts, flat and tuple(runs) == parts


def _descendant_tags(el: Tag, names: set[str]) -> list[Tag]:
    """`el.find_all(names)` without bs4's filter machinery (a hot path)."""
    return [d for d in ops.descendants(el) if isinstance(d, Tag) and d.name in names]


def _last_text(el: Tag) -> NavigableString | None:
    for node in reversed(list(ops.descendants(el))):
        if type(node) is NavigableString:
            return node
        if isinstance(node, Tag) and node.name in VOID:
            return None
    return None


def _is_block(node: PageElement) -> bool:
    # An inline element holding a block (<b><div>..</div></b>) stays an inline node:
    # its text before the inner block continues the current line.
    return isinstance(node, Tag) and node.name in BLOCK


def _has_block(el: Tag) -> bool:
    return any(isinstance(c, Tag) and (c.name in BLOCK or _has_block(c)) for c in el.contents)


_BOUNDARY = object()


def _flatten(el: Tag) -> Iterator[object]:
    """Children, with attribute-less divs dissolved into boundaries."""
    # Inside <p> or a heading a div stays: dissolving it could put a block there
    # that the parser would not read back (a heading inside a heading).
    dissolve = el.name not in _PHRASING_ONLY
    for child in list(el.contents):
        if dissolve and isinstance(child, Tag) and child.name == "div" and not child.attrs:
            yield _BOUNDARY
            yield from _flatten(child)
            yield _BOUNDARY
        else:
            yield child


_PHRASING_ONLY = HEADINGS | {"p"}


def _layout(el: Tag) -> None:
    """Rewrite `el`'s children as blocks and runs of `<br>`-separated lines."""
    _drop_empty_inline(el)
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
    ended = len(items)  # items whose line a <br> or a block boundary ended
    end_line(False)
    # The field's last line ended by a <br> or a <div>'s end: inside a block that shows
    # nothing, but the field sits in its card's template, which may go on after it on
    # the same line (`{{cloze:Text}}<br><br>{{Extra}}`): there it ends the line.
    # (Likewise the end of an inline element laid out for the blocks it holds.)
    inline_end = el.name == "body" or el.name not in BLOCK
    terminated = inline_end and ended == len(items) and bool(items)
    if terminated and items[-1][0] == "line" and _ends_in_br(items[-1][1]):
        terminated = False  # (a <br> inside an element, say <code>, ended it already)

    ops.clear(el)
    run_open = False
    last_empty = False
    for kind, value in items:
        if kind == "block":
            assert isinstance(value, PageElement)
            if run_open and last_empty:
                ops.append(el, Tag(name="br"))
            run_open = False
            ops.append(el, value)
            continue
        assert isinstance(value, list)
        nodes = _clean_line(value)
        if run_open:
            ops.append(el, Tag(name="br"))
        for node in nodes:
            ops.append(el, node)
        run_open = True
        last_empty = not nodes
    if run_open and (last_empty or terminated):
        ops.append(el, Tag(name="br"))
    ops.smooth(el)


def _ends_in_br(nodes: object) -> bool:
    """Whether the last of these nodes, or its last descendant, is a <br>."""
    last = nodes[-1] if isinstance(nodes, list) and nodes else None
    while isinstance(last, Tag) and last.name != "br" and last.contents:
        last = last.contents[-1]
    return isinstance(last, Tag) and last.name == "br"


def _has_content(node: PageElement) -> bool:
    if isinstance(node, Comment):
        return True
    if isinstance(node, NavigableString):
        return bool(str(node).strip(WHITESPACE))
    if isinstance(node, Tag):
        if node.name in VISIBLE_VOID or node.name == "br" or (node.name == "a" and node.attrs):
            return True  # (an empty link shows nothing, but its target is the field's)
        return any(_has_content(c) for c in node.contents)
    return False


def _clean_line(nodes: list[PageElement]) -> list[PageElement]:
    """One line's inline nodes with edges moved, whitespace collapsed and trimmed."""
    holder = Tag(name="span")
    for node in nodes:
        ops.append(holder, node)
    _move_edges_out(holder)
    _collapse_whitespace(holder)
    _drop_empty_inline(holder)
    _merge_adjacent(holder)
    ops.smooth(holder)
    return [ops.extract(c) for c in list(holder.contents) if not _is_empty_text(c)]


def _is_empty_text(node: PageElement) -> bool:
    return type(node) is NavigableString and not str(node)


# Style properties that leave the line's height as it is: a <br> at the edge of an
# element styled only with these shows the same outside it.
_METRICS_KEPT = {"color", "background-color", "font-weight", "font-style", "text-decoration",
                 "text-decoration-line", "text-decoration-color",
                 "text-decoration-style"}  # fmt: skip


def _brs_movable(tag: Tag) -> bool:
    """Whether <br>s at the edges of `tag` can move outside it unseen: b/i (spaces too),
    and u/s/span/font that change no font size or line height (a line that is only
    `<span style="color: red"><br></span>` is an empty line, as `<br>` is)."""
    if tag.name in EDGE_MOVABLE:
        return True
    if tag.name not in ("u", "s", "span", "font"):
        return False
    for name, value in tag.attrs.items():
        if name == "style":
            declared = {d.split(":")[0].strip().lower() for d in str(value).split(";")}
            if not declared - {""} <= _METRICS_KEPT:
                return False
        elif not (tag.name == "font" and name == "color"):
            return False
    return True


def _edge_moves(tag: Tag) -> bool:
    """Whether _move_own_edges_out would move something out of `tag`."""
    contents = tag.contents
    if not contents:
        return False
    first, last = contents[0], contents[-1]
    return (
        (type(first) is Tag and first.name == "br") or (type(last) is Tag and last.name == "br")
    ) and _brs_movable(tag)


def _move_edges_out(el: Tag) -> None:
    """Move leading/trailing <br>s of b/i and some other inline elements (see
    _brs_movable) outside them (post-order)."""
    for child in list(el.contents):
        if not isinstance(child, Tag) or child.name in RAW_TEXT:
            continue
        _move_edges_out(child)
        if _brs_movable(child):
            _move_own_edges_out(child)
        if child.name in DROP_WHEN_EMPTY and not child.contents:
            ops.extract(child)  # emptied by moving its edges out


def _move_own_edges_out(child: Tag) -> None:
    """Move leading/trailing <br>s of one element outside it."""
    contents = child.contents
    while contents and isinstance(contents[0], Tag) and contents[0].name == "br":
        ops.insert_before(child, ops.extract(contents[0]))
    while contents and isinstance(contents[-1], Tag) and contents[-1].name == "br":
        ops.insert_after(child, ops.extract(contents[-1]))


def _inline_walk(el: Tag) -> Iterator[PageElement]:
    """Text nodes and line-affecting elements of a line, in document order."""
    return _inline_walk_nodes(el.contents)


def _inline_walk_nodes(nodes: list[PageElement]) -> Iterator[PageElement]:
    for child in nodes:
        if isinstance(child, Comment):
            continue
        if type(child) is NavigableString:
            yield child
        elif isinstance(child, Tag):
            if child.name in _OPAQUE or child.name in VISIBLE_VOID:
                yield child
            else:
                yield from _inline_walk_nodes(child.contents)


# What whitespace collapsing leaves as it is: <code> too, which note types' CSS often
# shows preformatted (omscs: `code { white-space: pre }`).
_OPAQUE = RAW_TEXT | {"br", "code"}


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
        ops.replace_with(node, new)
        texts.append(new)
    _rstrip_texts(texts)


def _rstrip_texts(texts: list[NavigableString]) -> None:
    for node in reversed(texts):
        text = str(node)
        stripped = text.rstrip(" ")
        if stripped != text:
            replacement = NavigableString(stripped)
            ops.replace_with(node, replacement)
        if stripped:
            return


def _drop_empty_inline(el: Tag) -> None:
    for child in list(el.contents):
        if isinstance(child, Tag):
            if child.name in RAW_TEXT:
                continue  # normalised on its own (_normalise_pre)
            _drop_empty_inline(child)
            if child.name in DROP_WHEN_EMPTY and not child.contents:
                ops.extract(child)
        elif _is_empty_text(child):
            ops.extract(child)


def _merge_adjacent(el: Tag) -> None:
    """Merge neighbouring b/i with the same attributes (`<b>a</b><b>c</b>` shows as
    `<b>ac</b>`; underlined, struck or styled neighbours do not: each draws its own)."""
    previous: PageElement | None = None
    for child in list(el.contents):
        if (
            isinstance(child, Tag)
            and isinstance(previous, Tag)
            and child.name == previous.name
            and child.name in EDGE_MOVABLE
            and child.attrs == previous.attrs
        ):
            for grandchild in list(child.contents):
                ops.append(previous, ops.extract(grandchild))
            ops.extract(child)
            _merge_adjacent(previous)
            ops.smooth(previous)
            continue
        if isinstance(child, Tag):
            _merge_adjacent(child)
        previous = child


# --- already normal: a fast path ------------------------------------------------------
#
# Most fields -- all that md_to_html writes -- are in canonical form already, and
# _normalise would only rebuild them as they are. already_normal checks, without
# editing, the conditions under which each step of _normalise changes nothing; it is
# conservative (False when unsure, and for any element it does not know), and a test
# compares its verdicts with _normalise itself.

_PLAIN_BLOCKS = HEADINGS | {"p", "ul", "ol", "li", "blockquote"}
_PLAIN_INLINE = {"b", "i", "s", "u", "code", "sub", "sup", "a", "span"}


def already_normal(body: Tag) -> bool:
    """Whether _normalise would leave `body` as it is, but for the new objects it puts
    in (which _as_normalised puts in too)."""
    return _normal_block(body)


def _as_normalised(el: Tag, laid_out: bool) -> bool:
    """An already normal tree as _normalise leaves it: attributes sorted into plain
    dicts (all that _normalise_attrs does to them), and the <br>s between the lines of
    a block that _layout lays out new <br>s. Returns whether it put in any (links to set
    again)."""
    replaced = False
    contents = el.contents
    for position, child in enumerate(contents):
        if isinstance(child, Tag):
            if laid_out and child.name == "br":
                contents[position] = Tag(name="br")
                contents[position].parent = el
                replaced = True
                continue
            child.attrs = dict(sorted(child.attrs.items()))
            if child.name not in RAW_TEXT and child.contents:
                replaced = _as_normalised(child, child.name in BLOCK) or replaced
    return replaced


def _normal_attrs(tag: Tag) -> bool:
    attrs = tag.attrs
    if not attrs:
        return True
    for name, value in attrs.items():
        if type(value) is not str or name != name.lower():
            return False
    style = attrs.get("style")
    if style is not None and (not style or _normal_style(str(style)) != style):
        return False
    return not (tag.name == "img" and attrs.get("alt") == "")


def _normal_block(el: Tag) -> bool:
    """A block (or <body>) whose children and layout _normalise leaves as they are."""
    phrasing_only = el.name in _PHRASING_ONLY
    for child in el.contents:
        if type(child) is NavigableString:
            continue  # checked with its line
        if type(child) is not Tag or child.name in SYNONYMS or not _normal_attrs(child):
            return False
        name = child.name
        if name == "pre":
            if phrasing_only or not _normal_pre(child):
                return False
        elif name in _PLAIN_BLOCKS:
            if phrasing_only:
                return False
            if not _normal_block(child):
                return False
        elif name == "hr":
            if phrasing_only:
                return False
        elif not _normal_inline(child):
            return False
    return _normal_layout(el)


def _normal_inline(tag: Tag) -> bool:
    """An inline element (or br/img) that _normalise and _clean_line leave as it is."""
    name = tag.name
    if name in ("br", "img"):
        return True
    if name not in _PLAIN_INLINE:
        return False
    contents = tag.contents
    if not contents or (name in UNWRAP_WITHOUT_ATTRS and not tag.attrs):
        return False
    if name in _SELF_NESTING_NO_OP and not tag.attrs and _inside_same(tag):
        return False
    if _edge_moves(tag):
        return False
    for child in contents:
        if type(child) is NavigableString:
            continue
        if type(child) is not Tag or child.name in SYNONYMS or not _normal_attrs(child):
            return False
        if not _normal_inline(child):
            return False
    return not _mergeable_neighbours(contents)


def _mergeable_neighbours(nodes: list[PageElement]) -> bool:
    """Whether smooth or _merge_adjacent would join two of these siblings."""
    previous: PageElement | None = None
    for node in nodes:
        if type(node) is NavigableString:
            if type(previous) is NavigableString or not str(node):
                return True
        elif (
            type(node) is Tag
            and type(previous) is Tag
            and node.name == previous.name
            and node.name in EDGE_MOVABLE
            and node.attrs == previous.attrs
        ):
            return True
        previous = node
    return False


def _normal_layout(el: Tag) -> bool:
    """Whether _layout(el) rebuilds the children as they are: lines with content, one
    <br> between lines, none next to a block or at an end, each line clean."""
    line: list[PageElement] = []
    after_break = False
    for child in [*el.contents, None]:
        if child is None or (type(child) is Tag and child.name in BLOCK):
            if after_break:
                return False  # a <br> before a block or at the end
            if line and not _clean(line):
                return False
            line = []
        elif type(child) is Tag and child.name == "br":
            if not line or not _clean(line):
                return False  # an empty line
            line = []
            after_break = True
            continue
        else:
            line.append(child)
        after_break = False
    return True


def _clean(line: list[PageElement]) -> bool:
    """Whether _clean_line gives back these nodes unchanged (and the line shows)."""
    if not any(_has_content(node) for node in line) or _mergeable_neighbours(line):
        return False
    at_space = True
    texts: list[str] = []
    for node in _inline_walk_nodes(line):
        if type(node) is not NavigableString:
            if getattr(node, "name", None) == "br" and _trailing_spaces(texts):
                return False
            texts = []
            at_space = getattr(node, "name", None) == "br"
            continue
        text = str(node)
        if _UNCOLLAPSED.search(text) or (at_space and text[:1] == " "):
            return False  # collapsing or trimming would change it
        if text:
            at_space = text.endswith(" ")
        texts.append(text)
    return not _trailing_spaces(texts)


# Whitespace that _collapse_whitespace changes (anything but single spaces).
_UNCOLLAPSED = re.compile("[\t\n\r\f]| {2}")


def _trailing_spaces(texts: list[str]) -> bool:
    """Whether _rstrip_texts would change these texts."""
    for text in reversed(texts):
        stripped = text.rstrip(" ")
        if stripped != text:
            return True
        if stripped:
            return False
    return False


def _normal_pre(pre: Tag) -> bool:
    """Whether _normalise_pre leaves `pre` as it is (one walk for all its steps)."""
    types = pre.interesting_string_types or Tag.MAIN_CONTENT_STRING_TYPES
    text: list[str] = []
    last: PageElement | None = None  # _last_text: the last string, unless a void follows

    def walk(el: Tag) -> bool:
        nonlocal last
        if _mergeable_text(el.contents):
            return False
        for node in el.contents:
            kind = type(node)
            if isinstance(node, Tag):
                name = node.name
                if name == "br" or (name in DROP_WHEN_EMPTY and not node.contents):
                    return False
                if name in VOID:
                    last = None
                if not walk(node):
                    return False
                continue
            if kind is NavigableString:
                if not node:
                    return False
                last = node
            if isinstance(node, NavigableString) and (
                kind is types if isinstance(types, type) else kind in types
            ):
                text.append(str(node))
        return True

    if not walk(pre):
        return False
    highlighted = _highlighted(pre)
    if highlighted is not None and not highlighted[2]:
        return False
    joined = "".join(text)
    if last is not None and str(last).endswith("\n") and len(joined) > 1 and joined[-2] != "\n":
        return False
    kids = pre.contents
    return not (
        len(kids) == 1 and type(kids[0]) is Tag and kids[0].name == "code" and not kids[0].attrs
    )


def _mergeable_text(nodes: list[PageElement]) -> bool:
    """Whether smooth would join two of these siblings."""
    previous = False
    for node in nodes:
        current = isinstance(node, NavigableString) and not isinstance(node, PreformattedString)
        if current and previous:
            return True
        previous = current
    return False


# --- serialisation ---------------------------------------------------------------------


def serialise(el: Tag, pre_newlines_as_entities: bool = False) -> str:
    """Deterministic HTML of `el`'s children.

    With `pre_newlines_as_entities`, newlines inside <pre> are written `&#10;`, so
    the HTML has no line breaks there (a Markdown HTML block ends at a blank line).
    """
    out: list[str] = []
    in_pre = pre_newlines_as_entities and (el.name == "pre" or el.find_parent("pre") is not None)
    for child in el.contents:
        _serialise(child, out, pre_newlines_as_entities, in_pre)
    return "".join(out)


def serialise_node(node: PageElement, pre_newlines_as_entities: bool = False) -> str:
    """Deterministic HTML of `node` itself, as `serialise` writes it as a child of an
    element outside any <pre>."""
    out: list[str] = []
    _serialise(node, out, pre_newlines_as_entities, False)
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


def _serialise(
    node: PageElement, out: list[str], pre_entities: bool = False, in_pre: bool = False
) -> None:
    kind = type(node)
    if kind is NavigableString:  # the commonest nodes first
        parent = node.parent
        if parent is not None and parent.name in ("script", "style"):
            out.append(str(node))
        else:
            text = escape_text(str(node))
            if in_pre:  # only set with pre_entities
                text = text.replace("\n", "&#10;")
            out.append(text)
    elif kind is not Tag and isinstance(node, Comment):
        out.append(f"<!--{node}-->")
    elif isinstance(node, Tag):
        name = node.name
        if node.attrs:
            attrs = "".join(f' {k}="{escape_attr(str(v))}"' for k, v in node.attrs.items())
            out.append(f"<{name}{attrs}>")
        else:
            out.append(f"<{name}>")
        if name in VOID:
            return
        contents = node.contents
        if name in ("pre", "textarea", "listing"):
            first = contents[0] if contents else None
            if isinstance(first, NavigableString) and str(first).startswith("\n"):
                # the parser drops one newline right after <pre>
                out.append("&#10;" if pre_entities and name == "pre" else "\n")
            in_pre = in_pre or (pre_entities and name == "pre")
        for child in contents:
            _serialise(child, out, pre_entities, in_pre)
        out.append(f"</{name}>")
