"""The documentation a user reads in a clone: every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Markdown syntax shown in the docs
EXAMPLES = {"x.png", "url", "src", "diagram.png", "media/diagram.png", "<media/cell"}


def test_every_relative_link_in_the_docs_resolves() -> None:
    pages = [*ROOT.glob("*.md"), *(ROOT / "docs").glob("**/*.md")]
    assert ROOT / "README.md" in pages and ROOT / "CONTRIBUTING.md" in pages
    broken = [
        (page.relative_to(ROOT), target)
        for page in pages
        for target in re.findall(r"\]\(([^)\s]+)", page.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://", "#"))
        and target not in EXAMPLES
        and not (page.parent / target.split("#")[0]).exists()
    ]
    assert broken == []
    assert "../shared" not in (ROOT / "README.md").read_text(encoding="utf-8")
