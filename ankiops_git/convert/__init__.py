"""Field conversion between Markdown (in deck files) and HTML (in Anki); the rules are
in docs/conversion.md. Imported on first use: a command that converts nothing should
not pay for markdown-it, selectolax and pygments."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ankiops_git.convert.canonical import canonical_html, html_equal
    from ankiops_git.convert.markdown import md_to_html
    from ankiops_git.convert.tomarkdown import html_to_md

__all__ = ["canonical_html", "html_equal", "html_to_md", "md_to_html"]

_HOME = {
    "canonical_html": "ankiops_git.convert.canonical",
    "html_equal": "ankiops_git.convert.canonical",
    "md_to_html": "ankiops_git.convert.markdown",
    "html_to_md": "ankiops_git.convert.tomarkdown",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value
