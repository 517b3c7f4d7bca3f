"""Field conversion between Markdown (in deck files) and HTML (in Anki); the rules are
in docs/conversion.md. Callers import it where they convert: a command that converts
nothing does not pay for markdown-it, selectolax and Pygments."""

from ankiops_git.convert.canonical import canonical_html, html_equal
from ankiops_git.convert.markdown import md_to_html
from ankiops_git.convert.tomarkdown import html_to_md

__all__ = ["canonical_html", "html_equal", "html_to_md", "md_to_html"]
