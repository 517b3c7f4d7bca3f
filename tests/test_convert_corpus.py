"""Round trips over the real corpora: html -> md -> html, per corpus.

The corpora are in tests/corpus (sources and licences in its README.md). Run with -s
to see the measured rates.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pytest
from corpus_util import corpus_fields, has_raw_html, visible_text

from ankiops_git.convert import canonical_html, html_to_md, md_to_html

CORPORA = ["omscs", "ultimate-geography"]


@dataclass
class Results:
    name: str
    total: int = 0
    equal: int = 0
    visible: int = 0
    fixed: int = 0
    readable: int = 0
    seconds: float = 0.0
    unequal: list[tuple[str, str]] = field(default_factory=list)
    lost_text: list[tuple[str, str]] = field(default_factory=list)
    not_fixed: list[tuple[str, str]] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)

    def rate(self, count: int) -> float:
        return 100.0 * count / self.total

    def summary(self) -> str:
        return (
            f"{self.name}: {self.total} fields in {self.seconds:.1f}s; "
            f"equal {self.rate(self.equal):.2f}%, "
            f"visible text kept {self.rate(self.visible):.2f}%, "
            f"fixed point {self.rate(self.fixed):.2f}%, no raw HTML {self.rate(self.readable):.2f}%"
        )


_CACHE: dict[str, Results] = {}


def run_corpus(name: str) -> Results:
    if name in _CACHE:
        return _CACHE[name]
    results = Results(name)
    start = time.perf_counter()
    for html in corpus_fields(name):
        md = html_to_md(html)
        back = md_to_html(md)
        results.markdown.append(md)
        results.total += 1
        if canonical_html(back) == canonical_html(html):
            results.equal += 1
        else:
            results.unequal.append((html, md))
        if visible_text(back) == visible_text(html):
            results.visible += 1
        else:
            results.lost_text.append((html, md))
        if html_to_md(back) == md:
            results.fixed += 1
        else:
            results.not_fixed.append((html, md))
        if not has_raw_html(md):
            results.readable += 1
    results.seconds = time.perf_counter() - start
    print("\n" + results.summary())
    _CACHE[name] = results
    return results


@pytest.fixture(scope="module", params=CORPORA)
def corpus(request: pytest.FixtureRequest) -> Results:
    return run_corpus(request.param)


def test_round_trip_is_canonically_equal(corpus: Results) -> None:
    assert corpus.rate(corpus.equal) >= 99.5, corpus.unequal[:3]


def test_every_visible_character_is_kept(corpus: Results) -> None:
    assert corpus.visible == corpus.total, corpus.lost_text[:3]


def test_markdown_is_a_fixed_point(corpus: Results) -> None:
    assert corpus.fixed == corpus.total, corpus.not_fixed[:3]


def test_readability_is_measured(corpus: Results) -> None:
    # The plain-text corpus must come out with no HTML at all; the rich one keeps
    # HTML only where Markdown cannot say it (see docs/conversion.md).
    floor = 99.9 if corpus.name == "ultimate-geography" else 70.0
    assert corpus.rate(corpus.readable) >= floor


def test_markdown_has_no_deck_structure_lines(corpus: Results) -> None:
    """html_to_md never writes a line the deck parser would read as structure."""
    bad = []
    for md in corpus.markdown:
        in_fence = False
        for line in md.split("\n"):
            if re.match(r"(`{3,}|~{3,})", line):
                in_fence = not in_fence
            if re.match(r"(<{7}|>{7})([ \t]|$)", line) or (not in_fence and STRUCTURE.match(line)):
                bad.append(line)
        if md != md.strip():
            bad.append(repr(md[:40]))
    assert not bad, bad[:5]


STRUCTURE = re.compile(
    r"((Q|A|F|B|T|I|E|M|C[1-7]):( |[ \t]*$)|---[ \t]*$|<!--[ \t]*(note_id|tags|deck_id)\b)"
)


def test_canonical_form_is_idempotent_on_the_rich_corpus() -> None:
    """html_to_md depends only on the canonical form, so it must be a fixed point."""
    from ankiops_git.convert.canonical import normalised
    from ankiops_git.convert.tree import serialise

    changed = []
    for html in corpus_fields("omscs"):
        once = canonical_html(html)
        if serialise(normalised(once).children) != once:
            changed.append(html)
    assert not changed, changed[:3]
