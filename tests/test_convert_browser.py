"""The browser oracle: a field round-tripped through Markdown renders the same card.

Each corpus field is rendered inside its note type's card (tests/corpus/notetypes.json
where known, else Anki's stock Basic; tests/browser.py), once as it is and once as
md_to_html(html_to_md(field)), in headless Chromium, and the pixels compared. A field
whose HTML comes back byte for byte is the same card without rendering. The fast
structural equality (`html_equal`) is checked against the same verdicts.

`make test` runs a sample of each corpus; `make soak` (ANKIOPS_SOAK=1) all of it. Run
with -s to see the figures (docs/conversion.md keeps them).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import browser
import pytest
from corpus_util import corpus_records, note_types

from ankiops_git.convert import html_equal, html_to_md, md_to_html

# Fields per corpus in `make test` (every field with ANKIOPS_SOAK=1).
SAMPLE = {"omscs": 1200, "ultimate-geography": 1500}
# The share of fields whose card shows no difference must not fall below these (%):
# issue 13's aim (measured: omscs 99.83% of this sample, 99.54% of every field).
FLOOR = {"omscs": 99.5, "ultimate-geography": 99.5}
PAGE = 250  # pairs of cards rendered in one page


@pytest.fixture(scope="module")
def chromium() -> Iterator[browser.Browser]:
    reason = browser.unavailable()
    if reason is not None:
        if browser.required():
            pytest.fail(f"{reason} ({browser.REQUIRE_ENV} is set)")
        pytest.skip(reason)
    with browser.Browser() as started:
        yield started


@dataclass
class Figures:
    name: str
    fields: int = 0
    identical: int = 0  # HTML back byte for byte: the same card without rendering
    same: int = 0  # no visible difference (identical or the same pixels)
    different: list[tuple[str, str, str]] = field(default_factory=list)  # (field, html, md)
    # html_equal against the browser: says equal where the pixels differ / unequal where
    # they are the same
    lenient: list[tuple[str, str]] = field(default_factory=list)
    strict: list[tuple[str, str]] = field(default_factory=list)
    # cards whose original differs from itself in the two columns (anti-aliasing of a
    # list's bullets, seen): the pixels cannot judge them, counted apart
    unstable: list[tuple[str, str, str]] = field(default_factory=list)

    def rate(self) -> float:
        """Of the cards the pixels can judge."""
        return 100.0 * self.same / (self.fields - len(self.unstable))

    def summary(self) -> str:
        return (
            f"browser oracle, {self.name}: {self.fields} fields, {self.identical} back byte for "
            f"byte, {self.fields - self.identical} rendered; no visible difference "
            f"{self.rate():.2f}% ({len(self.different)} differ, {len(self.unstable)} undecidable: "
            f"the original differs from itself); html_equal disagrees on "
            f"{len(self.lenient)} (equal, pixels differ) and {len(self.strict)} "
            f"(unequal, pixels same)"
        )


def sample(name: str) -> list[dict[str, str]]:
    records = corpus_records(name)
    if os.environ.get("ANKIOPS_SOAK") or len(records) <= SAMPLE[name]:
        return records
    chosen = random.Random(13).sample(range(len(records)), SAMPLE[name])
    return [records[index] for index in sorted(chosen)]


def figures(chromium: browser.Browser, name: str) -> Figures:
    known = note_types()
    result = Figures(name)
    pending: list[tuple[dict[str, str], str, str]] = []  # (record, back, md)
    for record in sample(name):
        result.fields += 1
        md = html_to_md(record["html"])
        back = md_to_html(md)
        if back == record["html"]:
            result.identical += 1
            result.same += 1
        else:
            pending.append((record, back, md))
    for start in range(0, len(pending), PAGE):
        batch = pending[start : start + PAGE]
        pairs = []
        for record, back, _md in batch:
            note_type = known.get(record["note_type"])
            original = browser.card(note_type, record["field"], record["html"])
            pairs.append((original, browser.card(note_type, record["field"], back)))
        verdicts = chromium.same_renderings(pairs)
        # a control for each difference: the original card against itself
        differing = [pair[0] for pair, same in zip(pairs, verdicts, strict=True) if not same]
        controls = iter(chromium.same_renderings([(c, c) for c in differing]))
        for (record, back, md), same in zip(batch, verdicts, strict=True):
            html = record["html"]
            equal = html_equal(html, back)
            entry = (f"{record['note_type']}/{record['field']}", html, md)
            if same:
                result.same += 1
            elif not next(controls):
                result.unstable.append(entry)  # (left out of the rate)
                continue
            else:
                result.different.append(entry)
            if equal and not same:
                result.lenient.append((html, back))
            elif same and not equal:
                result.strict.append((html, back))
    print("\n" + result.summary())
    return result


@pytest.mark.parametrize("name", sorted(FLOOR))
def test_round_trip_renders_the_same_card(chromium: browser.Browser, name: str) -> None:
    """Also checks html_equal against the same verdicts: it may be stricter than the
    browser, never more lenient (export decides with it whether a field changed in
    Anki). One test per corpus, so that test workers render each corpus once."""
    result = figures(chromium, name)
    assert result.rate() >= FLOOR[name], result.different[:3]
    assert len(result.lenient) <= LENIENT_AT_MOST[name], result.lenient[:3]


# What html_equal calls equal though the card shows a difference: known, to be fixed
# (issue 13); this must only go down. In `make test`'s sample, and over every field
# (`make soak`: the 10 omscs cards that still differ, docs/conversion.md).
LENIENT_AT_MOST = (
    {"omscs": 10, "ultimate-geography": 0}
    if os.environ.get("ANKIOPS_SOAK")
    else {"omscs": 1, "ultimate-geography": 0}
)


# The oracle itself: it must see a difference where there is one, and none where there
# is none (else the figures above say nothing).
_CSS = ".card { font-family: arial; font-size: 20px; text-align: center; }"


def test_the_oracle_tells_a_blank_line_from_none(chromium: browser.Browser) -> None:
    anki = '<div>x</div><div><span style="color: red;"><br></span></div><div>y</div>'
    pairs = [
        (("x<div>a</div>", _CSS), ("x<br>a", _CSS)),
        ((anki, _CSS), ('x<br><span style="color: red"><br></span><br>y', _CSS)),
        (("<b>x</b>", _CSS), ("<i>x</i>", _CSS)),
        (("a  b", _CSS), ("a b", _CSS)),
        (("x", _CSS), ("x<br><br>", _CSS)),
    ]
    assert chromium.same_renderings(pairs) == [True, False, False, True, False]


def test_a_field_is_judged_in_its_card() -> None:
    """The Cloze answer side of omscs: the field, then <br><br>, then Extra."""
    cloze = note_types()["OMSCS Cloze"]
    body, css = browser.card(cloze, "Text", "a {{c2::b::hint}} {{c3::c}}")
    assert body == (
        f"<h6>{browser.DECK}</h6>\na "
        '<span class="cloze" data-ordinal="2">b</span> '
        '<span class="cloze-inactive" data-ordinal="3">c</span>'
        f"<br><br>\n{browser.PLACEHOLDER}"
    )
    assert ".cloze" in css
    basic, _ = browser.card(note_types()["OMSCS Basic"], "Front", "q")
    assert basic == f"{browser.DECK}<br>\nq\n\n<hr id=answer>\n\n{browser.PLACEHOLDER}"
