"""Field conversion between Markdown (in deck files) and HTML (in Anki).

See docs/conversion.md for the mapping rules.
"""

from ankiops_git.convert.canonical import canonical_html, html_equal
from ankiops_git.convert.markdown import md_to_html
from ankiops_git.convert.tomarkdown import html_to_md

__all__ = ["canonical_html", "html_equal", "html_to_md", "md_to_html"]
