"""Markdown -> HTML for Anki fields (markdown-it-py).

The output follows how Anki's own editor writes HTML, so that text typed in Anki
maps to plain Markdown and back to the same HTML:

- every line break inside a paragraph is a `<br>` (what you see is what Anki shows);
- `**x**` is `<b>`, `*x*` is `<i>`, `~~x~~` is `<s>`;
- paragraphs are bare text ("tight") unless the Markdown separates a paragraph from a
  neighbouring block by a blank line that is not needed for parsing ("loose"), in
  which case every paragraph of that container is a `<p>` -- the same rule CommonMark
  uses for tight and loose lists. So `# T` + `text` on the next line gives
  `<h1>T</h1>text`, and with a blank line between them `<h1>T</h1><p>text</p>`.

Math (`\\(..\\)`, `\\[..\\]`) is kept verbatim; cloze markup is plain text to
markdown-it and so survives everywhere; raw HTML passes through. Code fences with a
language are highlighted with Pygments CSS classes (see highlight.py), except when
they hold cloze markup, which must not be split across spans.

markdown-it is the reference renderer; one common shape skips it (plain_html: plain
headings, paragraphs and tight lists), rendered as it renders them, which the tests
check against markdown-it as it comes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Delimiter
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from ankiops_git.convert.highlight import CSS_CLASS, highlight_code

# Shared with the HTML -> Markdown side, which must find exactly the same spans.
MATH_RE = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
_MATH_CLOSE = {"(": "\\)", "[": "\\]"}

# Blocks after which Markdown needs a blank line to end them; such a blank line
# says nothing about tight or loose paragraphs.
_NEEDS_BLANK_AFTER = {"bullet_list_open", "ordered_list_open", "blockquote_open", "table_open"}
_NEEDS_BLANK_AFTER_SINGLE = {"html_block"}

_TAG_RENAME = {"strong": "b", "em": "i"}


def _math_rule(state: StateInline, silent: bool) -> bool:
    """`\\(...\\)` and `\\[...\\]` as one verbatim token (before backslash escapes)."""
    src, pos = state.src, state.pos
    if src[pos] != "\\" or pos + 1 >= state.posMax or src[pos + 1] not in _MATH_CLOSE:
        return False
    end = src.find(_MATH_CLOSE[src[pos + 1]], pos + 2, state.posMax)
    if end < 0:
        return False
    if not silent:
        token = state.push("math", "", 0)
        token.content = src[pos : end + 2]
    state.pos = end + 2
    return True


class _AnkiRenderer(RendererHTML):
    """Compact HTML with no newlines between tags, in Anki's editor vocabulary."""

    def renderToken(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        if token.hidden:
            return ""
        tag = _TAG_RENAME.get(token.tag, token.tag)
        if token.nesting == -1:
            return f"</{tag}>"
        return f"<{tag}{self.renderAttrs(token)}>"


def _escape(text: str) -> str:
    """Text as Anki's editor writes it: `&`, `<`, `>`, `"` and no-break spaces escaped."""
    escaped = escapeHtml(text)
    return escaped.replace("\xa0", "&nbsp;") if "\xa0" in escaped else escaped


def _render_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _escape(tokens[idx].content)


def _render_text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _escape(tokens[idx].content)


def _render_break(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "<br>"


def _render_code_inline(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    return f"<code>{_escape(tokens[idx].content)}</code>"


def _render_html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return tokens[idx].content.rstrip("\n") if tokens[idx].block else tokens[idx].content


MEDIA_PREFIX = "media/"  # where deck files find media files: media/x.png is Anki's x.png
# [sound:media/x.mp3] in the rendered HTML: Anki's [sound:x.mp3]
_SOUND_IN_MEDIA = re.compile(r"\[sound:media/([^\]/\\\n<>]+)\]")


def anki_media_src(target: str) -> str:
    """An image's (or sound's) target in Markdown as Anki's field has it: `media/x.png`
    is x.png in Anki's flat media folder; any other target stays as written."""
    if target.startswith(MEDIA_PREFIX):
        name = target[len(MEDIA_PREFIX) :]
        if name and "/" not in name and "\\" not in name and name not in (".", ".."):
            return name
    return target


def _sound_names(html: str) -> str:
    def plain(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name in (".", "..") else f"[sound:{name}]"

    return _SOUND_IN_MEDIA.sub(plain, html)


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    attrs = {"src": anki_media_src(str(token.attrGet("src") or ""))}
    if alt:
        attrs["alt"] = alt
    for name, value in token.attrs.items():
        if name not in ("src", "alt"):
            attrs[name] = str(value)
    rendered = "".join(f' {name}="{_escape(value)}"' for name, value in attrs.items())
    return f"<img{rendered}>"


def render_code_block(code: str, language: str) -> str:
    """A code block: highlighted if it has a known language and no cloze markup."""
    if language and "{{c" not in code:
        spans = highlight_code(code, language)
        if spans is not None:
            lang = escapeHtml(language)
            return f'<pre class="{CSS_CLASS}"><code class="language-{lang}">{spans}</code></pre>'
    cls = f' class="language-{escapeHtml(language)}"' if language else ""
    return f"<pre><code{cls}>{_escape(code)}</code></pre>"


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    content = token.content
    # markdown-it ends the code with a newline; it shows nothing after a non-empty
    # last line, so drop it there (as Anki would store it) and keep it otherwise.
    code = content[:-1] if len(content) > 1 and content[-2] != "\n" else content
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    return render_code_block(code, language)


def _trailing_backslash_lines_are_empty_lines(tokens: list[Token]) -> None:
    """A `\\` ending a paragraph is a line break there, as it is inside one: a last
    line holding only `\\` is an empty line, and `text\\` ends its line (a field's last
    line ended by a `<br>` or a `<div>`'s end, which shows when its card's template
    goes on after the field on the same line).

    CommonMark would print a backslash there. Our HTML -> Markdown side always escapes
    a literal backslash, so it is free to mean a line break everywhere.
    """
    for index, token in enumerate(tokens):
        if token.type != "inline" or not index or tokens[index - 1].type != "paragraph_open":
            continue
        children = token.children or []
        if not children or children[-1].type != "text" or not children[-1].content.endswith("\\"):
            continue
        source = token.content
        if (len(source) - len(source.rstrip("\\"))) % 2 == 0:
            continue  # an escaped backslash: text
        children[-1].content = children[-1].content[:-1]
        if not children[-1].content:
            children.pop()
        children.append(Token("hardbreak", "br", 0))


def _mark_tight_paragraphs(tokens: list[Token]) -> None:
    """Hide the <p> of paragraphs in tight containers (root and blockquotes).

    Lists already follow CommonMark's own tight/loose rule (markdown-it hides
    paragraphs in tight lists); this extends the same idea to the other containers.
    """
    containers: dict[int, list[int]] = {-1: []}  # container open index -> child open indices
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.nesting == -1:
            stack.pop()
            continue
        if token.block:
            parent = stack[-1] if stack else -1
            if parent in containers:
                containers[parent].append(i)
        if token.nesting == 1:
            stack.append(i)
            if token.type == "blockquote_open":
                containers[i] = []
    for blocks in containers.values():
        if _is_loose(tokens, blocks):
            continue
        for start in blocks:
            if tokens[start].type == "paragraph_open":
                tokens[start].hidden = True
                tokens[start + 2].hidden = True  # paragraph_open, inline, paragraph_close


def _is_loose(tokens: list[Token], blocks: list[int]) -> bool:
    for s1, s2 in zip(blocks, blocks[1:], strict=False):
        first, second = tokens[s1], tokens[s2]
        if "paragraph_open" not in (first.type, second.type):
            continue
        if first.type in _NEEDS_BLANK_AFTER or first.type in _NEEDS_BLANK_AFTER_SINGLE:
            continue
        if first.map is None or second.map is None:
            continue
        if second.map[0] > first.map[1]:
            return True
    return False


_TERMINATORS = re.compile(r"[\n\\`~*_\[\]!<&{]")
_TERMINATORS_ANKIOPS = re.compile(r"[\n\\`~*_\[\]!<&{=^]")  # and ==mark==, ^sup^


# --- AnkiOps' inline Markdown (a repository's `[markdown] ankiops = true`) ----------------


def _mark_tokenize(state: StateInline, silent: bool) -> bool:
    """`==` runs as delimiters (markdown-it's strikethrough rule, for "=")."""
    if silent or state.src[state.pos] != "=":
        return False
    scanned = state.scanDelims(state.pos, True)
    length = scanned.length
    if length < 2:
        return False
    if length % 2:
        token = state.push("text", "", 0)
        token.content = "="
        length -= 1
    for _ in range(length // 2):
        token = state.push("text", "", 0)
        token.content = "=="
        state.delimiters.append(
            Delimiter(
                marker=ord("="),
                length=0,
                token=len(state.tokens) - 1,
                end=-1,
                open=scanned.can_open,
                close=scanned.can_close,
            )
        )
    state.pos += scanned.length
    return True


def _mark_pairs(state: StateInline, delimiters: list[Delimiter]) -> None:
    lone: list[int] = []
    for start in delimiters:
        if start.marker != ord("=") or start.end == -1:
            continue
        end = delimiters[start.end]
        opening, closing = state.tokens[start.token], state.tokens[end.token]
        opening.type, opening.nesting = "mark_open", 1
        closing.type, closing.nesting = "mark_close", -1
        for token in (opening, closing):
            token.tag, token.markup, token.content = "mark", "==", ""
        before = state.tokens[end.token - 1]
        if before.type == "text" and before.content == "=":
            lone.append(end.token - 1)
    while lone:  # an odd "=" of a run goes after the closing tags (as for "~~")
        i = lone.pop()
        j = i + 1
        while j < len(state.tokens) and state.tokens[j].type == "mark_close":
            j += 1
        j -= 1
        if i != j:
            state.tokens[i], state.tokens[j] = state.tokens[j], state.tokens[i]


def _mark_post_process(state: StateInline) -> None:
    _mark_pairs(state, state.delimiters)
    for meta in state.tokens_meta:
        if meta and "delimiters" in meta:
            _mark_pairs(state, meta["delimiters"])


def _ankiops_inline(md: MarkdownIt) -> None:
    """AnkiOps' `==mark==`, `~sub~`, `^sup^` (its mistune plugins' tags)."""
    md.inline.ruler.before("emphasis", "mark", _mark_tokenize)
    md.inline.ruler2.before("emphasis", "mark", _mark_post_process)
    md.use(sub_plugin)
    md.use(superscript_plugin)


@lru_cache(maxsize=4)
def _parser(short_text_runs: bool = True, ankiops: bool = False) -> MarkdownIt:
    """Our markdown-it; `short_text_runs=False` keeps its default text rule (tests);
    `ankiops`: with AnkiOps' inline Markdown (mark, sub, sup)."""
    md = MarkdownIt("commonmark", {"breaks": True, "html": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    if ankiops:
        _ankiops_inline(md)
    md.use(attrs_plugin, after=("image",))
    md.inline.ruler.before("escape", "math", _math_rule)
    # Keep link and image targets exactly as written: Anki looks media up by file
    # name, so percent-encoding "my image.png" would break it.
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    md.normalizeLinkText = lambda link: link  # type: ignore[method-assign]
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    # The text rule runs to the next character that may start another inline rule;
    # markdown-it's default list also holds characters for rules we do not enable
    # (linkify, plugins): at each of those every rule would be tried and fail, and the
    # character become text all the same. These are the first characters our rules
    # check for (newline, escape/math, code, ~~, emphasis, link, image, autolink/HTML,
    # entity, attributes), and "]", where a link label ends (parseLinkLabel).
    if short_text_runs:
        md.inline.terminator_re = _TERMINATORS_ANKIOPS if ankiops else _TERMINATORS
    md.renderer = _AnkiRenderer(md)
    md.add_render_rule("math", _render_math)
    md.add_render_rule("text", _render_text)
    for name in ("softbreak", "hardbreak"):
        md.add_render_rule(name, _render_break)
    md.add_render_rule("code_inline", _render_code_inline)
    for name in ("html_block", "html_inline"):
        md.add_render_rule(name, _render_html)
    md.add_render_rule("image", _render_image)
    for name in ("fence", "code_block"):
        md.add_render_rule(name, _render_fence)
    return md


# Text that markdown-it reads as plain text: no character that starts an inline rule
# (escapes, math, code, emphasis with "_", strikethrough, links, images, HTML,
# autolinks, entities but `&nbsp;`; "!" and "{" act only after "[" / an image), no
# space at either end (trimmed, or a hard break) and no whitespace but single spaces
# inside (others are trimmed or normalised). "*" only as checked by _emphasis; "\\"
# only to escape a character (not a space) or in math closed on the same line (an
# atomic group: the first closing, as _math_rule finds it); "[" and "]" are text
# but for "](" (an inline link or image; with no line starting with "[" there are no
# reference definitions, so no other link).
_MATH = r"(?>\\\((?:\S| (?=\S))*?\\\))|(?>\\\[(?:\S| (?=\S))*?\\\])"
# An image with no alt text, title or attributes and a plain target: <img src>.
_IMAGE = r"(?>!\[\]\([^\s()<>\\&\"'\x00-\x1f\x7f]+\))(?!\{)"
_PLAIN_TEXT = rf"(?:{_IMAGE}|{_MATH}|\\[^\s(\[]|(?!\]\()[^\s\\`_<&~|\x00-\x1f\x7f]|&nbsp;| (?=\S))+"
# What starts no block (no indent, heading, quote, list item, setext underline,
# thematic break, fence or table).
_NO_BLOCK = r"(?![ #=+\->\[]|\d+[.)]|\*(?!\S))"
# A paragraph line of it.
_PLAIN_LINE = re.compile(_NO_BLOCK + _PLAIN_TEXT)
# A list item of it, on one line: bullet, or number (1-9 digits) and "." or ")".
_PLAIN_ITEM = re.compile(f"([-*+]|(\\d{{1,9}})([.)])) ({_NO_BLOCK}{_PLAIN_TEXT})")
# An ATX heading of it: no closing #s.
_PLAIN_HEADING = re.compile(f"(#{{1,6}}) (?! )({_PLAIN_TEXT})(?<!#)")


@lru_cache(maxsize=16)  # html_to_md asks again for the canonical form of its rendering
def plain_html(text: str) -> str | None:
    """md_to_html(text) for Markdown that is only ATX headings, paragraphs and tight
    bullet lists of one-line items, all of plain text (see above), else None."""
    if not text:
        return ""
    lines = text.split("\n")
    if not lines[0] or not lines[-1] or all(line == "\\" for line in lines):
        return None  # (only empty lines: only <br>s, which canonical form drops)
    # blocks as [kind, lines or items, first line, last line]; kind: a heading's
    # level, 0 for a paragraph, a list's marker
    blocks: list[list[Any]] = []
    open_block: list[Any] | None = None  # a paragraph or list that the next line continues
    for number, line in enumerate(lines):
        if not line:
            open_block = None
            continue
        item = _PLAIN_ITEM.fullmatch(line)
        if item:  # (a list may interrupt a paragraph; an ordered one only from 1)
            marker = item.group(3) or item.group(1)  # ".", ")" or the bullet
            if open_block is not None and open_block[0] == marker:
                open_block[1].append(item.group(4))
                open_block[3] = number
                continue
            if blocks and blocks[-1][0] == marker:
                return None  # the same list again after a blank line: a loose list
            start = int(item.group(2)) if item.group(2) else 1
            if start != 1 and open_block is not None:
                return None  # a paragraph's next line (or left unsure)
            open_block = [marker, [item.group(4)], number, number, start]
            blocks.append(open_block)
            continue
        if open_block is not None and open_block[0] not in _PARAGRAPH_OR_HEADING:
            return None  # after an item: its paragraph's continuation, or left unsure
        heading = _PLAIN_HEADING.fullmatch(line)
        if line == "\\":  # an empty line of a paragraph (see below)
            if open_block is None:
                open_block = [0, [], number, number]
                blocks.append(open_block)
            open_block[1].append(line)
            open_block[3] = number
        elif heading:  # (it may interrupt a paragraph)
            blocks.append([len(heading.group(1)), [heading.group(2)], number, number])
            open_block = None
        elif _PLAIN_LINE.fullmatch(line) is None:
            return None
        elif open_block is None:
            open_block = [0, [line], number, number]
            blocks.append(open_block)
        else:
            open_block[1].append(line)
            open_block[3] = number
    # _mark_tight_paragraphs: <p>s only if a blank line separates a paragraph from a
    # neighbouring block (after a list a blank line is needed anyway)
    loose = any(
        (first[0] == 0 or second[0] == 0)
        and first[0] in _PARAGRAPH_OR_HEADING
        and second[2] > first[3] + 1
        for first, second in zip(blocks, blocks[1:], strict=False)
    )
    out: list[str] = []
    for kind, content, *_lines_and_start in blocks:
        texts: list[str] = []
        for line in content:
            html = "" if line == "\\" else _inline_html(line)
            if html is None:
                return None
            texts.append(html)
        if kind in _PARAGRAPH_OR_HEADING:
            # A line "\\" is empty: a hard break before the next line instead of a soft
            # one, and at the end a hard break (_trailing_backslash_lines_are_empty_lines).
            inner = "<br>".join(texts) + ("<br>" if content[-1] == "\\" else "")
            if kind:
                out.append(f"<h{kind}>{inner}</h{kind}>")
            else:
                out.append(f"<p>{inner}</p>" if loose else inner)
        else:
            items = "".join(f"<li>{item}</li>" for item in texts)
            if kind in "-*+":
                out.append(f"<ul>{items}</ul>")
            else:
                start = _lines_and_start[2]
                opening = f'<ol start="{start}">' if start != 1 else "<ol>"
                out.append(f"{opening}{items}</ol>")
    return "".join(out)


_PARAGRAPH_OR_HEADING = range(7)  # block kinds that are no list


def _inline_html(text: str) -> str | None:
    """The HTML of one line of _PLAIN_TEXT, or None for "*"s that _emphasis refuses."""
    if "![](" in text:
        if "*" in text or "\\" in text:
            return None  # (left simple: images among plain text only)
        parts = _IMAGE_TARGET.split(text)  # text, target, text, ...
        return "".join(
            f'<img src="{anki_media_src(part)}">' if index % 2 else _escape_plain(part)
            for index, part in enumerate(parts)
        )
    if "\\" in text:
        if "*" in text or text == "\\\\":
            return None  # (a lone escaped backslash: an empty line, see the rule above)
        return _with_backslashes(text)
    if "*" not in text:
        return _escape_plain(text)
    return _emphasis(text)


def _with_backslashes(text: str) -> str:
    """The HTML of a line of _PLAIN_TEXT with math and escapes (markdown-it's math and
    escape rules: math verbatim, an escaped ASCII punctuation character as itself)."""
    out: list[str] = []
    position = 0
    while position < len(text):
        if text[position] != "\\":
            end = text.find("\\", position)
            end = len(text) if end < 0 else end
            out.append(_escape_plain(text[position:end]))
            position = end
            continue
        following = text[position + 1]  # (_PLAIN_TEXT: never the last character)
        if following in _MATH_CLOSE:
            end = text.index(_MATH_CLOSE[following], position + 2) + 2
            out.append(escapeHtml(text[position:end]))
            position = end
            continue
        out.append(escapeHtml(following if following in _ESCAPABLE else "\\" + following))
        position += 2
    return "".join(out)


_IMAGE_TARGET = re.compile(r"!\[\]\(([^)]*)\)")  # (in a line _IMAGE matched)
_ESCAPABLE = set("\\!\"#$%&'()*+,./:;<=>?@[]^_`{|}~-")  # markdown-it's escape rule


def _escape_plain(text: str) -> str:
    escaped = escapeHtml(text)
    if "nbsp;" in escaped or "\xa0" in escaped:
        return escaped.replace("&amp;nbsp;", "&nbsp;").replace("\xa0", "&nbsp;")
    return escaped


_STARS = re.compile(r"\*+")


def _emphasis(text: str) -> str | None:
    """The HTML of a line whose "*" runs are simple pairs, else None.

    Each run of "*" or "**" must be either only an opener or only a closer by
    markdown-it's own test (scanDelims: flanking, line ends as spaces), and openers
    and closers alternate with the same length: then each pair is one <i> or <b>
    around plain text, as markdown-it's pairing gives (no run can do both, so its
    rule of three does not apply).
    """
    out: list[str] = []
    position = 0
    opened = ""
    for run in _STARS.finditer(text):
        stars = run.group()
        if len(stars) > 2:
            return None
        last = text[run.start() - 1] if run.start() else " "
        following = text[run.end()] if run.end() < len(text) else " "
        left, right = _flanking(last, following)
        if not opened and left and not right:
            opened = stars
            tag = "<b>" if stars == "**" else "<i>"
        elif opened == stars and right and not left:
            opened = ""
            tag = "</b>" if stars == "**" else "</i>"
        else:
            return None
        out.append(_escape_plain(text[position : run.start()]))
        out.append(tag)
        position = run.end()
    if opened:
        return None
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def _flanking(last: str, following: str) -> tuple[bool, bool]:
    """Whether a delimiter run between these characters is left-, right-flanking
    (markdown-it's StateInline.scanDelims)."""
    last_punct = isMdAsciiPunct(ord(last)) or isPunctChar(last)
    next_punct = isMdAsciiPunct(ord(following)) or isPunctChar(following)
    last_space = isWhiteSpace(ord(last))
    next_space = isWhiteSpace(ord(following))
    left = not (next_space or (next_punct and not (last_space or last_punct)))
    right = not (last_space or (last_punct and not (next_space or next_punct)))
    return left, right


@lru_cache(maxsize=4096)  # a pure function; round trips render the same text repeatedly
def md_to_html(text: str, ankiops: bool = False) -> str:
    """Render one field's Markdown as the HTML stored in Anki (deterministic).

    `ankiops`: AnkiOps' inline Markdown too (`==mark==`, `~sub~`, `^sup^`), for
    repositories adopted from AnkiOps (ankiops.toml's `[markdown] ankiops = true`)."""
    # A shape markdown-it renders in a known way (tests compare), without parsing.
    shortcut = None if ankiops and ANKIOPS_INLINE.search(text) else plain_html(text)
    html = shortcut if shortcut is not None else render_markdown(text, ankiops=ankiops)
    if "[sound:media/" in html:
        return _sound_names(html)
    return html


ANKIOPS_INLINE = re.compile(r"==|\^")  # what plain_html would read otherwise than AnkiOps


def render_markdown(text: str, reference: bool = False, ankiops: bool = False) -> str:
    """md_to_html by markdown-it; with `reference`, by markdown-it as it comes, which
    tests compare every shortcut with."""
    md = _parser(not reference, ankiops)
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    _mark_tight_paragraphs(tokens)
    _trailing_backslash_lines_are_empty_lines(tokens)
    return md.renderer.render(tokens, md.options, env).strip("\n")
