"""Code highlighting with Pygments CSS classes.

Classes, not inline styles or JavaScript: the stylesheet ships in the note types'
CSS, so highlighted code renders the same in Anki desktop and on phones offline.
"""

from __future__ import annotations

from pygments.formatters import HtmlFormatter

CSS_CLASS = "highlight"


def stylesheet(style: str = "default") -> str:
    """CSS for highlighted code blocks, to be included in every note type's CSS."""
    return str(HtmlFormatter(style=style, cssclass=CSS_CLASS).get_style_defs(f".{CSS_CLASS}"))
