"""HTML -> Markdown for Anki fields, written from the canonical tree (canonical.py), so
the Markdown depends only on what the field looks like, mirroring markdown.py: a
container with `<p>` children is loose, else tight; lines are `<br>`-separated, an
empty line a lone `\\`; what Markdown cannot say stays HTML, as small as possible.
Every result is checked by rendering it back: if it differs (emphasis markdown-it
does not read back, say), emphasis is retried as tags, then `<p>`s as HTML, then both,
and last the whole field is one HTML block. No line of the result reads as deck-file
structure (`deckfile.deck_safe`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it.common.html_blocks import block_names

from ankiops_git import deckfile
from ankiops_git.convert import canonical, tree
from ankiops_git.convert.canonical import canonical_html
from ankiops_git.convert.highlight import CSS_CLASS
from ankiops_git.convert.markdown import MEDIA_PREFIX, md_to_html
from ankiops_git.convert.tree import VOID, Comment, Element, Node, is_block, named, open_tag
from ankiops_git.errors import AnkiOpsError
from ankiops_git.notetypes import LATEX_RE

_HTML_BLOCK_TAGS = set(block_names)  # an HTML block starting with one runs to a blank line
_BLANK_LINE = re.compile(r"\n[ \t]*\n")  # where a Markdown HTML block ends
_NEWLINE = "\ue002"  # a newline inside a comment, kept verbatim
_EMPHASIS = {"b": "**", "i": "*", "s": "~~"}


class AnkiMarkdownConverter:
    """Canonical HTML as our Markdown dialect."""

    def __init__(self, emphasis_as_tags: bool, raw_paragraphs: bool, ankiops: bool) -> None:
        self.raw_paragraphs = raw_paragraphs  # a lone <p> can only be HTML
        self.ankiops = ankiops  # AnkiOps' inline Markdown: <mark> as ==x==, ...
        # attribute-less tags written as delimiters (`**x**`, `==x==`); with
        # `emphasis_as_tags` none: they stay tags, as any other element
        self.delimiters = {} if emphasis_as_tags else _EMPHASIS | (_ANKIOPS_TAGS if ankiops else {})

    def container(self, el: Element) -> str:
        """Markdown for the children of a field, list item or blockquote."""
        loose = not self.raw_paragraphs and any(named(c, "p") for c in el.children)
        parts: list[tuple[str, str]] = []  # (kind, markdown); kind "blank" needs a blank after
        run: list[Node] = []
        previous_list = ""
        for child in el.children:
            if is_block(child):
                if run:
                    parts.append(self.paragraph(run))
                    run = []
                parts.append(self.block(child, previous_list))
                previous_list = child.name if child.name in ("ul", "ol") else ""
            else:
                run.append(child)
                previous_list = ""
        if run:
            parts.append(self.paragraph(run))
        out = ""
        for index, (_kind, text) in enumerate(parts):
            if index:
                out += "\n\n" if loose or parts[index - 1][0] == "blank" else "\n"
            out += text
        return out

    def paragraph(self, nodes: list[Node]) -> tuple[str, str]:
        lines: list[list[Node]] = [[]]
        for node in nodes:
            if named(node, "br"):
                lines.append([])
            else:
                lines[-1].append(node)
        ended = False  # a run ends with <br> after an empty line, or the field's last one
        if nodes and named(nodes[-1], "br"):
            lines.pop()
            ended = bool(lines[-1])  # (written "line\")
        # A comment opening or closing the paragraph is an HTML block of its own (it may
        # hold blank lines).
        lead = ""
        while lines[0] and type(lines[0][0]) is Comment:
            lead += f"<!--{lines[0].pop(0)}-->"
        if lead and not lines[0]:
            if len(lines) == 1:
                return "block", lead
            lines.pop(0)
        trail = ""
        while len(lines[-1]) > 1 and type(lines[-1][-1]) is Comment:
            trail = f"<!--{lines[-1].pop()}-->" + trail
        out: list[str] = []
        for line in lines:
            text = self.inlines(line)
            if text:  # each physical line escaped, not the newlines kept in comments
                physical = [escape_line_start(p) for p in text.split("\n")]
                out.append("\n".join(physical).replace(_NEWLINE, "\n"))
            else:
                out.append("\\")  # an empty line (see markdown.py)
        if ended and not trail:
            out[-1] += "\\"  # (see markdown.py: a paragraph's last line ending in "\")
        text = "\n".join(out)
        text = lead + "\n" + text if lead else text
        return "para", (text + "\n" + trail if trail else text)

    def block(self, el: Element, previous_list: str) -> tuple[str, str]:
        name, plain = el.name, not el.attrs
        if name == "p" and plain and not self.raw_paragraphs:
            return "para", self.paragraph(el.children)[1]
        if name in tree.HEADINGS and plain:
            return "block", self.heading(el)
        if name == "hr" and plain:
            return "block", "***"
        if name == "blockquote" and plain:
            inner = self.container(el)
            return "blank", "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
        md = None
        if name in ("ul", "ol"):
            md = self.listing(el, alternate=previous_list == name)
        elif name in ("pre", "table"):
            md = self.fence(el) if name == "pre" else self.table(el)
        if md is None:
            return "blank", raw_block(el)
        return ("block" if name == "pre" else "blank"), md

    def heading(self, el: Element) -> str:
        level = int(el.name[1])
        text = self.inlines(el.children, in_cell=True)
        if text.endswith("#"):
            text = text[:-1] + "\\#"
        return "#" * level + (" " + text if text else "")

    def fence(self, pre: Element) -> str | None:
        kids, language = pre.children, ""
        if len(kids) == 1 and named(kids[0], "code"):
            language = canonical.code_language(kids[0]) or ""
            if not language:
                return None
        elif not all(type(n) is str for n in kids):
            return None
        if pre.attrs and (pre.attrs != {"class": CSS_CLASS} or not language):
            return None
        text = tree.text_of(kids)
        if any(deckfile.is_conflict_marker(line) for line in text.split("\n")):
            return None  # the deck parser reads these even inside fences: keep it one line
        runs = [len(r) for r in re.findall(r"`+", text)]
        ticks = "`" * max(3, max(runs, default=0) + 1)
        if not text:
            return f"{ticks}{language}\n{ticks}"
        lines = text[:-1] if text.endswith("\n") else text  # inverse of markdown.py's rule
        return f"{ticks}{language}\n{lines}\n{ticks}"

    def listing(self, el: Element, alternate: bool) -> str | None:
        ordered = el.name == "ol"
        start = el.attrs.get("start", "1") if ordered else "1"
        if set(el.attrs) - ({"start"} if ordered else set()) or not re.fullmatch(r"\d{1,9}", start):
            return None
        items = [c for c in el.children if named(c, "li") and not c.attrs]
        if len(items) != len([c for c in el.children if c != ""]):
            return None
        loose = any(named(c, "p") for i in items for c in i.children)
        out: list[str] = []
        for number, item in enumerate(items, int(start)):
            if ordered:
                marker = f"{number}{')' if alternate else '.'} "
            else:
                marker = "* " if alternate else "- "
            first, *rest = self.container(item).split("\n")
            pad = " " * len(marker)
            out.append(
                (marker + first).rstrip() + "".join(f"\n{pad + r if r else ''}" for r in rest)
            )
        return ("\n\n" if loose else "\n").join(out)

    def table(self, el: Element) -> str | None:
        if el.attrs:
            return None
        rows = [r for r in el.children if named(r, "tr") and not r.attrs]
        if not rows or len(rows) != len(el.children):
            return None
        grid: list[list[str]] = []
        aligns: list[str] = []
        for index, row in enumerate(rows):
            want = "th" if index == 0 else "td"
            cells = [c for c in row.children if named(c, want)]
            if not cells or len(cells) != len(row.children):
                return None
            row_aligns = [_alignment(c) for c in cells]
            if None in row_aligns or (index and row_aligns != aligns[: len(row_aligns)]):
                return None
            if not index:
                aligns = [a or "" for a in row_aligns]
            if any(is_block(d) for c in cells for d in tree.descendants(c.children)):
                return None
            grid.append([self.inlines(c.children, in_cell=True) for c in cells])
        width = len(grid[0])
        if any(len(line) != width for line in grid):
            return None
        delimiters = {"": "---", "left": ":---", "center": ":---:", "right": "---:"}
        out = ["| " + " | ".join(grid[0]) + " |"]
        out.append("|" + "".join(f" {delimiters[a]} |" for a in aligns))
        out += ["| " + " | ".join(line) + " |" for line in grid[1:]]
        return "\n".join(line.replace("|  |", "| |") for line in out)

    def inlines(self, nodes: list[Node], in_cell: bool = False) -> str:
        previous = [None, *nodes]
        return "".join([self.inline(n, in_cell, previous[i]) for i, n in enumerate(nodes)])

    def inline(self, node: Node, in_cell: bool = False, previous: Node | None = None) -> str:
        if type(node) is Comment:
            return f"<!--{node}-->".replace("\n", _NEWLINE)
        if isinstance(node, str):
            return self.text(node, previous)
        if node.name == "br":
            return "<br>" if in_cell else "\n"
        if node.name == "code" and "\n" in tree.text_of(node.children):
            # (a code span would show its newlines as spaces; note types often show
            # <code> preformatted): as HTML, newlines as entities within the line
            inner = "".join(
                self.text(c, None).replace("\n", "&#10;")
                if type(c) is str
                else self.inline(c, in_cell)
                for c in node.children
            )
            return open_tag(node) + inner + "</code>"
        inner = self.inlines(node.children, in_cell)
        delimiter = self.delimiters.get(node.name)
        if delimiter and not node.attrs:
            return f"{delimiter}{inner}{delimiter}"
        if node.name == "code" and not node.attrs and all(type(c) is str for c in node.children):
            return code_span(tree.text_of(node.children))
        link = node.name == "a" and "href" in node.attrs and set(node.attrs) <= {"href", "title"}
        if link and inner and "\n" not in inner:
            return f"[{inner}]({link_target(node.attrs['href'])}{link_title(node)})"
        if node.name == "img":
            image = self.image(node)
            if image is not None:
                return image
        return open_tag(node) + ("" if node.name in VOID else inner + f"</{node.name}>")

    def image(self, img: Element) -> str | None:
        attrs = img.attrs
        if not attrs.get("src") or set(attrs) - {"src", "alt", "title", "width", "height"}:
            return None
        extra = [
            f"{k}={v}" if re.fullmatch(r"[\w.%-]+", v) else None
            for k, v in attrs.items()
            if k in ("width", "height")
        ]
        if None in extra:
            return None
        alt = escape_plain(attrs.get("alt", ""))
        alt = escape_ankiops(alt) if self.ankiops else alt
        title = link_title(img)
        braces = "{" + " ".join(e for e in extra if e) + "}" if extra else ""
        return f"![{alt}]({link_target(media_target(attrs['src']))}{title}){braces}"

    def text(self, node: str, previous: Node | None) -> str:
        text = escape_markdown(node, self.ankiops)
        if text.startswith("{") and named(previous, "img"):
            text = "\\" + text
        return text


def _alignment(cell: Element) -> str | None:
    """A GFM column alignment from a cell's attributes ("" for none), or None."""
    match = re.fullmatch(r"text-align: (left|center|right)", cell.attrs.get("style", ""))
    return "" if not cell.attrs else match[1] if match and len(cell.attrs) == 1 else None


def escape_markdown(text: str, ankiops: bool = False) -> str:
    """Text as Markdown that renders to exactly `text`; math spans stay verbatim.
    `ankiops`: AnkiOps' inline delimiters escaped too."""
    escape = (lambda t: escape_ankiops(escape_plain(t))) if ankiops else escape_plain
    if "\\" not in text:
        return escape(text)  # no math span starts without a backslash (most text)
    parts = _MATH.split(text)  # text, math, text, ...
    return "".join(part if odd % 2 else escape(part) for odd, part in enumerate(parts))


# A math span, as markdown.py's math rule finds it
_MATH = re.compile(r"(\\\(.*?\\\)|\\\[.*?\\\])", re.DOTALL)


_ANKIOPS_TAGS = {"mark": "==", "sub": "~", "sup": "^"}
# In escaped text: an escape (kept), or a character that would open AnkiOps' mark, sub
# or sup: "^", "~", "=" next to another "="
_ANKIOPS_DELIMITER = re.compile(r"\\.|[\^~]|=(?==)|(?<==)=", re.DOTALL)


def escape_ankiops(escaped: str) -> str:
    """Markdown text, escaped for our Markdown, with AnkiOps' delimiters escaped too."""
    return _ANKIOPS_DELIMITER.sub(
        lambda m: m.group() if m.group().startswith("\\") else "\\" + m.group(), escaped
    )


# Text Markdown would read as syntax, escaped with "\": always \ * ` |; "]" only where it
# could close a link, image or reference definition (never "[": "\[" opens display
# math); "<" and "&" where a tag or an entity could start; "_" at a word's edge; "~" in a
# run or at the edges.
_ESCAPE = re.compile(
    r"[\\*`|]|\](?=[(\[:]|$)|<(?=[A-Za-z/!?<])|&(?=#?[A-Za-z0-9]+;)|(?<![A-Za-z0-9])_"
    r"|_(?![A-Za-z0-9])|~(?=~)|(?<=~)~|^~|~$"
)
# Whitespace but space, tab and newline: invisible in an editor, trimmed by Markdown at
# line ends; written as a character reference.
_ODD_SPACE = re.compile(r"[^\S \t\n]")
_ESCAPE_ANY = re.compile(r"[\\*`|\]<&_~]|[^\S \t\n]")  # where either starts (most text: nowhere)


def escape_plain(text: str) -> str:
    if not _ESCAPE_ANY.search(text):
        return text
    text = _ESCAPE.sub(r"\\\g<0>", text)
    return _ODD_SPACE.sub(lambda m: "&nbsp;" if m[0] == "\xa0" else f"&#x{ord(m[0]):X};", text)


# A line starting a heading, quote, list item or setext underline (an ordered item's
# number is group 1: the escape goes after it).
_BLOCK_START = re.compile(
    r"#{1,6}(?:[ \t]|$)|>|[-+*](?:[ \t]|$)|(?:=+|-+)[ \t]*$|(\d{1,9})[.)](?:[ \t]|$)"
)


def escape_line_start(line: str) -> str:
    """Escape what would make a line start a block, or a deck-file prefix (with the deck
    parser's own pattern, group 1 the letters: `Q\\:` reads as text)."""
    match = _BLOCK_START.match(line) or deckfile.PREFIX_RE.match(line)
    cut = len(match[1] or "") if match else 0
    return line[:cut] + "\\" + line[cut:] if match else line


def code_span(code: str) -> str:
    runs = [len(r) for r in re.findall(r"`+", code)]
    ticks = "`" * (max(runs, default=0) + 1)
    pad = " " if code.strip(" ") and (code[0] in "` " or code[-1] in "` ") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def link_target(url: str) -> str:
    if re.search(r"[\s<>]", url) or not url:
        return "<" + re.sub(r"([<>\\])", r"\\\1", url) + ">"
    return re.sub(r"([()\\&])", r"\\\1", url)


def link_title(el: Element) -> str:
    title = el.attrs.get("title")
    return "" if title is None else ' "' + re.sub(r'(["\\&])', r"\\\1", title) + '"'


def raw_block(el: Element) -> str:
    """`el` as one HTML block that Markdown passes through untouched, newlines in its
    text as &#10; (an HTML block ends at a blank line)."""
    html = tree.serialise([el], newline_entities=True)
    if el.name in ("table", "ul", "ol") and "<!--" not in html:
        # one row or item per line: whitespace between them shows nothing
        html = _ROW_START.sub(lambda m: "\n" + m.group(), html)
    if el.name in _HTML_BLOCK_TAGS:
        return html
    return f"<div>{html}</div>"  # attribute-less div: dissolves again in canonical form


_ROW_START = re.compile(r"(?<!^)(?:<(?:tr|li)[ >]|</(?:table|ul|ol)>)")


# A media file's name as Anki's fields give it: no folder, no URL scheme, no fragment.
_MEDIA_NAME = re.compile(r"[^/\\:#?\x00-\x1f]+")
# [sound:x.mp3] as the converters write it ("]" escaped), for a name with no escapes
_SOUND_MD = re.compile(r"\[sound:(?!media/)([^\]\n/\\]+)\\?\]")


def media_target(src: str) -> str:
    """An image's src in Anki as the Markdown target: `x.png` (a file of Anki's media
    folder) is `media/x.png`, where the repository keeps it; any other src as it is."""
    if _MEDIA_NAME.fullmatch(src) and src not in (".", ".."):
        return MEDIA_PREFIX + src
    return src


@lru_cache(maxsize=4096)  # a pure function; a field's text often recurs across notes
def html_to_md(html: str, ankiops: bool = False, latex: bool = False) -> str:
    """One field's HTML as Markdown for a deck file (no leading/trailing blank lines).
    Media files are named by their place in the repository: `media/x.png`,
    `[sound:media/x.mp3]` (md_to_html gives Anki's plain names back). `ankiops`: for
    md_to_html's `ankiops` (AnkiOps' inline Markdown: <mark> is ==x==).

    LaTeX keeps its exact text: Anki names a LaTeX image after its source, and a
    phone cannot render a new one. A `[latex]`, `[$]` or `[$$]` span the Markdown
    would not give back as it is, and with `latex` (the note type's card puts the
    field inside one) the whole field, is written as the field's exact HTML."""
    md = _html_to_md(html, ankiops)
    if latex or ("[" in html and LATEX_RE.search(html)):
        md = _latex_kept(html, md, ankiops, whole=latex)
    if "[sound:" in md:
        rendered = md_to_html(md, ankiops)
        for spelling in (r"[sound:media/\1]", r"[sound:media/\1\\]"):
            candidate = _SOUND_MD.sub(spelling, md)
            if candidate != md and md_to_html(candidate, ankiops) == rendered:
                return candidate
    return md


def _latex_kept(html: str, md: str, ankiops: bool, whole: bool) -> str:
    """`md`, or if it changes the field's LaTeX, the field's HTML as an HTML block:
    as it is (with `whole`, only that keeps the field's text), or in an attribute-less
    div or span (_raw_field) that leaves every LaTeX span as it is."""
    spans = LATEX_RE.findall(html)
    rendered = md_to_html(md, ankiops)
    if rendered == html or (not whole and LATEX_RE.findall(rendered) == spans):
        return md
    exact = deckfile.deck_safe(html)
    if md_to_html(exact, ankiops) == html:
        return exact
    if whole or _BLANK_LINE.search(html):
        return md  # (an HTML block ends at a blank line: no Markdown keeps this field)
    raw = deckfile.deck_safe(_raw_field(html, canonical_html(html), ankiops))
    return raw if LATEX_RE.findall(md_to_html(raw, ankiops)) == spans else md


def _html_to_md(html: str, ankiops: bool = False) -> str:
    if not html:
        return ""
    md = None  # plain text and a lone image (most fields) need no tree
    if canonical.is_plain_text(html):
        text = canonical.plain_text_line(html)
        md = escape_line_start(escape_markdown(text, ankiops)) if text else ""
    elif (src := canonical.lone_image_src(html)) is not None:
        md = f"![]({link_target(media_target(src))})"
    if md is not None and canonical.html_equal(md_to_html(md, ankiops), html):
        return md
    root = canonical.normalised(html)
    target = ""  # canonical_html(html), needed only if md renders otherwise
    for tags, raw in ((False, False), (True, False), (False, True), (True, True)):
        md = deckfile.deck_safe(
            AnkiMarkdownConverter(tags, raw, ankiops).container(root).strip("\n")
        )
        rendered = md_to_html(md, ankiops)
        if rendered == html:
            return md  # (most fields: what md_to_html wrote)
        target = target or tree.serialise(root.children)
        if canonical_html(rendered) == target:
            return md
    inner = tree.serialise(root.children, newline_entities=True)
    return deckfile.deck_safe(_raw_field(inner, target, ankiops))


def _raw_field(inner: str, target: str, ankiops: bool) -> str:
    """The last resort: the field's HTML `inner` as one HTML block, in an
    attribute-less `<div>` (which means nothing in canonical form) or, where the div's
    end would end the field's last line, an attribute-less `<span>` alone on the first
    line (an HTML block to the next blank line). A blank line `inner` keeps (in a
    comment, a <script> or a <style>, which take no entities) would end the block
    early and lose what follows: refused (AnkiOpsError) rather than written."""
    if not inner:
        return ""
    if _BLANK_LINE.search(inner):
        raise AnkiOpsError(
            "its HTML holds a blank line inside a comment, <script> or <style>, which a "
            "deck file cannot keep (Markdown ends HTML at a blank line)"
        )
    candidates = (f"<div>{inner}</div>", f"<span>\n{inner}</span>")
    for md in candidates:
        if canonical_html(md_to_html(md, ankiops)) == target:
            return md
    return candidates[0]
