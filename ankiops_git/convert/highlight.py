"""Code highlighting with Pygments CSS classes (not inline styles or JavaScript): the
stylesheet ships in the note types' CSS, so code renders the same on phones offline."""

from __future__ import annotations

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


@lru_cache(maxsize=1024)  # md_to_html and the canonical form highlight the same code
def highlighted(code: str, language: str) -> tuple[tuple[str, str], ...] | None:
    """`code` as runs of (Pygments' CSS class, text), "" for plain text, whose text is
    exactly `code`; or None if `language` is unknown."""
    lexer = _lexer(language)
    if lexer is None:
        return None
    runs: list[list[str]] = []
    for ttype, value in lexer.get_tokens(code):
        css = _css_class(ttype)
        if runs and runs[-1][0] == css:
            runs[-1][1] += value
        else:
            runs.append([css, value])
    return tuple((css, text) for css, text in runs if text)


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
