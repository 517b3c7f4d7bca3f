"""Markdown -> HTML for Anki fields (markdown-it-py), as Anki's own editor writes HTML:
every line break a `<br>`; `**x**`, `*x*`, `~~x~~` as `<b>`, `<i>`, `<s>`; paragraphs
bare text ("tight") unless a blank line parsing does not need separates one from a
neighbouring block ("loose": then each is a `<p>`, CommonMark's rule for lists, here
for the field and blockquotes too). Math (`\\(..\\)`, `\\[..\\]`) is verbatim, cloze
markup plain text, raw HTML passes through; fenced code with a known language is
highlighted (highlight.py) unless it holds a cloze.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from ankiops_git.convert.highlight import CSS_CLASS, highlighted
from ankiops_git.convert.tree import Element, escape_attr, escape_text, open_tag

_MATH_CLOSE = {"(": "\\)", "[": "\\]"}

# Blocks after which Markdown needs a blank line to end them; such a blank line
# says nothing about tight or loose paragraphs.
_NEEDS_BLANK = {"bullet_list_open", "ordered_list_open", "blockquote_open", "table_open",
                "html_block"}  # fmt: skip

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
    return _SOUND_IN_MEDIA.sub(lambda m: m[0] if m[1] in (".", "..") else f"[sound:{m[1]}]", html)


class _AnkiRenderer(RendererHTML):
    """Compact HTML with no newlines between tags, in Anki's editor vocabulary (a
    method per token type, markdown-it's way)."""

    def renderToken(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        if token.hidden:
            return ""
        tag = _TAG_RENAME.get(token.tag, token.tag)
        return f"</{tag}>" if token.nesting == -1 else f"<{tag}{self.renderAttrs(token)}>"

    def text(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return escape_text(tokens[idx].content)

    math = text

    def softbreak(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return "<br>"

    hardbreak = softbreak

    def code_inline(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return f"<code>{escape_text(tokens[idx].content)}</code>"

    def html_block(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return tokens[idx].content.rstrip("\n") if tokens[idx].block else tokens[idx].content

    html_inline = html_block

    def image(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children or [], options, env)
        attrs = {"src": anki_media_src(str(token.attrGet("src") or ""))}
        if alt:
            attrs["alt"] = alt
        attrs |= {k: str(v) for k, v in token.attrs.items() if k not in ("src", "alt")}
        return open_tag(Element("img", attrs, []))

    def fence(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        """A code block: highlighted if it has a known language and no cloze markup.
        markdown-it ends the code with a newline; it shows nothing after a non-empty
        last line, so it is dropped there (as Anki would store it) and kept otherwise."""
        token = tokens[idx]
        code = token.content
        code = code[:-1] if len(code) > 1 and code[-2] != "\n" else code
        language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
        lang = escape_attr(language)
        if language and "{{c" not in code:
            runs = highlighted(code, language)
            if runs is not None:  # (as the canonical form writes them: no quotes escaped)
                html = "".join(
                    f'<span class="{c}">{escape_text(t)}</span>' if c else escape_text(t)
                    for c, t in runs
                )
                return f'<pre class="{CSS_CLASS}"><code class="language-{lang}">{html}</code></pre>'
        cls = f' class="language-{lang}"' if language else ""
        return f"<pre><code{cls}>{escape_text(code)}</code></pre>"

    code_block = fence


def _trailing_backslash_lines_are_empty_lines(tokens: list[Token]) -> None:
    """A `\\` ending a paragraph is a line break there too (CommonMark prints it;
    html_to_md always escapes a literal one): a last line `\\` is an empty line, and
    `text\\` ends its line (a field's last line ended by a `<br>` or a `<div>`'s end,
    which shows where its card's template goes on after the field)."""
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
    """Hide the <p> of paragraphs in tight containers (root and blockquotes), as
    markdown-it does in tight lists."""
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
        if not any(_blank_between(tokens[a], tokens[b]) for a, b in pairwise(blocks)):
            for start in blocks:
                if tokens[start].type == "paragraph_open":  # (then inline, paragraph_close)
                    tokens[start].hidden = tokens[start + 2].hidden = True


def _blank_between(first: Token, second: Token) -> bool:
    """A blank line parsing does not need between two blocks, one a paragraph."""
    if "paragraph_open" not in (first.type, second.type) or first.type in _NEEDS_BLANK:
        return False
    return first.map is not None and second.map is not None and second.map[0] > first.map[1]


_TERMINATORS = re.compile(r"[\n\\`~*_\[\]!<&{]")
_TERMINATORS_ANKIOPS = re.compile(r"[\n\\`~*_\[\]!<&{=^]")  # and ==mark==, ^sup^
_MARK_CLOSE = re.compile(r"(?<=[^\s=\\])==(?!=)")


def _mark_rule(state: StateInline, silent: bool) -> bool:
    """AnkiOps' `==x==` (mistune's mark: `==` before a non-space, to the next `==`
    after one), its inside read as inline Markdown."""
    src, start = state.src, state.pos
    if not src.startswith("==", start) or src[start + 2 : start + 3] in ("", " ", "\t", "\n", "="):
        return False
    close = _MARK_CLOSE.search(src, start + 3, state.posMax)
    if close is None:
        return False
    if not silent:
        end = state.posMax
        state.push("mark_open", "mark", 1)
        state.pos, state.posMax = start + 2, close.start()
        state.md.inline.tokenize(state)
        state.push("mark_close", "mark", -1)
        state.posMax = end
    state.pos = close.end()
    return True


@lru_cache(maxsize=2)
def _parser(ankiops: bool = False) -> MarkdownIt:
    """Our markdown-it; `ankiops`: with AnkiOps' inline Markdown (mark, sub, sup)."""
    md = MarkdownIt("commonmark", {"breaks": True, "html": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    if ankiops:  # `==mark==`, `~sub~`, `^sup^` (the tags of AnkiOps' mistune plugins)
        md.inline.ruler.before("emphasis", "mark", _mark_rule)
        md.use(sub_plugin).use(superscript_plugin)
    md.use(attrs_plugin, after=("image",))
    md.inline.ruler.before("escape", "math", _math_rule)
    # Keep link and image targets exactly as written: Anki looks media up by file
    # name, so percent-encoding "my image.png" would break it.
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    md.normalizeLinkText = lambda link: link  # type: ignore[method-assign]
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    # The text rule runs to the next character one of our rules may start at (the
    # default list also holds those of rules we do not enable), or "]" (link labels).
    md.inline.terminator_re = _TERMINATORS_ANKIOPS if ankiops else _TERMINATORS
    md.renderer = _AnkiRenderer(md)
    return md


@lru_cache(maxsize=4096)  # a pure function; round trips render the same text repeatedly
def md_to_html(text: str, ankiops: bool = False) -> str:
    """Render one field's Markdown as the HTML stored in Anki (deterministic).

    `ankiops`: AnkiOps' inline Markdown too (`==mark==`, `~sub~`, `^sup^`), for
    repositories adopted from AnkiOps (ankiops.toml's `[markdown] ankiops = true`)."""
    md = _parser(ankiops)
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    _mark_tight_paragraphs(tokens)
    _trailing_backslash_lines_are_empty_lines(tokens)
    html = md.renderer.render(tokens, md.options, env).strip("\n")
    return _sound_names(html) if "[sound:media/" in html else html
