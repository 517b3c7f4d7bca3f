"""Code highlighting with Pygments CSS classes (not inline styles or JavaScript): the
stylesheet ships in the note types' CSS, so code renders the same on phones offline."""

from __future__ import annotations

import html
from functools import lru_cache

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

CSS_CLASS = "highlight"


def stylesheet(style: str = "default") -> str:
    """CSS for highlighted code blocks, to be included in every note type's CSS."""
    return str(HtmlFormatter(style=style, cssclass=CSS_CLASS).get_style_defs(f".{CSS_CLASS}"))


@lru_cache(maxsize=1024)  # a pure function; html_to_md's retries render a block again
def highlight_code(code: str, language: str) -> str | None:
    """`code` as highlighted spans whose text is exactly `code` (Pygments' formatter
    adds a newline), or None if `language` is unknown."""
    parts = highlight_parts(code, language)
    if parts is None:
        return None
    return "".join([_span(css, text) for css, text in parts])


@lru_cache(maxsize=1024)  # canonical form asks for the runs of what md_to_html renders
def highlight_parts(code: str, language: str) -> tuple[tuple[str, str], ...] | None:
    """`code` as (CSS class, text) runs ("" for plain text), or None if `language` is
    unknown: what highlight_code writes as spans."""
    lexer = _lexer(language)
    if lexer is None:
        return None
    parts: list[tuple[str, str]] = []
    current_class, current_text = "", ""
    for ttype, value in lexer.get_tokens(code):
        css = _css_class(ttype)
        if css != current_class and current_text:
            parts.append((current_class, current_text))
            current_text = ""
        current_class = css
        current_text += value
    if current_text:
        parts.append((current_class, current_text))
    return tuple(parts)


@lru_cache(maxsize=64)  # looking a lexer up by name is slow; lexers keep no state
def _lexer(language: str) -> Lexer | None:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _css_class(ttype: _TokenType) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def _span(css: str, text: str) -> str:
    escaped = html.escape(text, quote=False).replace("\xa0", "&nbsp;")  # as Anki writes it
    return f'<span class="{css}">{escaped}</span>' if css else escaped
