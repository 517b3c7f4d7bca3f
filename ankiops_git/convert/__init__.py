"""Field conversion between Markdown (in deck files) and HTML (in Anki).

See docs/conversion.md for the mapping rules.
"""

from ankiops_git.convert.canonical import canonical_html, html_equal
from ankiops_git.convert.markdown import md_to_html

__all__ = ["canonical_html", "html_equal", "md_to_html"]
