"""Generated collections for the sync benchmarks: N notes across N / 50 decks.

Mixed note types (QA, Cloze, Reversed, Input, Choice) with realistic fields:
paragraphs, lists, inline and fenced code, cloze deletions, images, formulas, and
one to three tags. Fields are written in Markdown and stored as the HTML
`convert.md_to_html` renders, as a push would leave them in Anki.

Rendering 300,000 fields one by one would dominate the set-up, so each Markdown
template is rendered once with a placeholder number that is then replaced by the
note's own number: every note's HTML is different, and exactly what the converter
gives for its Markdown. The placeholder is itself a number (`TOKEN`), so code
highlighting gives it the class any number gets (tests/test_bench_smoke.py checks
this for every template); a word there once made 9% of the fields HTML that no
Markdown renders to.

Collections are cached as bench/out/col-N/Bench/collection.anki2 (profile "Bench").
"""

from __future__ import annotations

import functools
import random
import shutil
import time
from pathlib import Path

from ankiops_git.anki.base import NewNote
from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.convert import md_to_html

OUT = Path(__file__).resolve().parent / "out"
PROFILE = "Bench"
NOTES_PER_DECK = 50
BATCH = 5_000  # notes per add_notes call
TOKEN = "987654321"  # see the module docstring
# The cache folders carry it: a change to what is generated must not reuse old ones.
CORPUS_VERSION = 2

PARAGRAPHS = [
    "The *mitochondrion* of cell 987654321 produces **ATP** through oxidative "
    "phosphorylation; see chapter 987654321 for the details.",
    "In year 987654321 the treaty was signed, which ended the war and moved the border "
    "to the river.",
    "A **hash map** with 987654321 buckets gives average O(1) lookups, but the worst case "
    "is O(n) when every key collides.",
    "Verb 987654321: *tener* is irregular in the present tense (*tengo*, *tienes*).",
]
LISTS = [
    "- first idea of item 987654321\n- second idea, with `code_987654321()`\n- third idea",
    "1. read the question\n2. answer item 987654321 aloud\n3. check the **answer**",
]
CODE = [
    "```python\ndef area_987654321(r: float) -> float:\n    return 3.14159 * r * r\n```",
    "```sql\nselect id, name from users where id = 987654321;\n```",
    "```js\nconst total = items.reduce((a, b) => a + b, 987654321);\n```",
]
# One-line fields (the note's number stands for TOKEN)
QUESTION = f"What does *term {TOKEN}* mean in context?"
CLOZE = f"Item {TOKEN}: the capital of France is {{{{c1::Paris}}}} and of Spain {{{{c2::Madrid}}}}."
COUNTRY = f"Country {TOKEN}"
SUM = f"Type the result of {TOKEN} + 1."
WHICH = f"Which of these hold for item {TOKEN}?"
CLAIM = "claim {c} about `x_" + TOKEN + "`"
IMAGES = ["![diagram 987654321](fig_987654321.png)", "![](photo_987654321.jpg)"]
FORMULAS = ["Inline \\(a^2 + b^2 = c^{987654321}\\) holds for right triangles."]
TEMPLATES = [
    *(QUESTION, CLOZE, COUNTRY, SUM, WHICH, CLAIM),
    *(PARAGRAPHS + LISTS + CODE + IMAGES + FORMULAS),
]
TAGS = [
    "biology",
    "history",
    "cs::data-structures",
    "spanish::verbs",
    "exam::2026",
    "leech",
    "math::geometry",
    "review",
]


@functools.cache
def _html(markdown: str) -> str:
    return md_to_html(markdown)


def _field(rng: random.Random, number: int, *parts: list[str]) -> str:
    markdown = "\n\n".join(rng.choice(options) for options in parts)
    return _html(markdown).replace(TOKEN, str(number))


def _short(text: str, number: int) -> str:
    return _html(text).replace(TOKEN, str(number))


def deck_name(index: int) -> str:
    return f"Course {index // 10:02d}::Chapter {index:04d}"


def generate(count: int, seed: int = 7) -> list[NewNote]:
    """`count` notes across count / 50 decks, deterministic for a given seed."""
    rng = random.Random(seed)
    decks = max(1, count // NOTES_PER_DECK)
    notes = []
    for i in range(count):
        kind = rng.random()
        tags = tuple(sorted(rng.sample(TAGS, rng.randint(1, 3))))
        deck = deck_name(i % decks)
        if kind < 0.5:
            fields = {
                "Question": _short(QUESTION, i),
                "Answer": _field(rng, i, PARAGRAPHS, rng.choice([LISTS, CODE, IMAGES])),
                "Extra": _field(rng, i, FORMULAS) if rng.random() < 0.3 else "",
                "More": "",
            }
            notes.append(NewNote("AnkiOpsQA", deck, fields, tags))
        elif kind < 0.7:
            text = CLOZE
            fields = {
                "Text": _short(text, i),
                "Extra": _field(rng, i, PARAGRAPHS) if rng.random() < 0.5 else "",
                "More": "",
            }
            notes.append(NewNote("AnkiOpsCloze", deck, fields, tags))
        elif kind < 0.8:
            fields = {
                "Front": _short(COUNTRY, i),
                "Back": _field(rng, i, PARAGRAPHS, IMAGES),
                "Extra": "",
                "More": "",
            }
            notes.append(NewNote("AnkiOpsReversed", deck, fields, tags))
        elif kind < 0.9:
            fields = {
                "Question": _short(SUM, i),
                "Input": str(i + 1),
                "Extra": _field(rng, i, CODE) if rng.random() < 0.5 else "",
                "More": "",
            }
            notes.append(NewNote("AnkiOpsInput", deck, fields, tags))
        else:
            fields = {
                "Question": _short(WHICH, i),
                **{f"Choice {c}": _short(CLAIM.format(c=c), i) for c in range(1, 5)},
                **{f"Choice {c}": "" for c in range(5, 8)},
                "Answer": "1, 3",
                "Extra": "",
                "More": "",
            }
            notes.append(NewNote("AnkiOpsChoice", deck, fields, tags))
    return notes


def collection_path(count: int) -> Path:
    return OUT / f"col-{count}-v{CORPUS_VERSION}" / PROFILE / "collection.anki2"


def empty_collection() -> Path:
    """A collection as a new profile has it (no notes, stock note types only), cached."""
    path = OUT / f"empty-v{CORPUS_VERSION}" / PROFILE / "collection.anki2"
    if not path.is_file():
        partial = path.parent.parent.with_name(path.parent.parent.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        target = partial / PROFILE / "collection.anki2"
        target.parent.mkdir(parents=True)
        CollectionBackend(target, create=True).close()
        shutil.rmtree(path.parent.parent, ignore_errors=True)
        partial.rename(path.parent.parent)
    return path


def build_collection(count: int, log: object = print) -> Path:
    """The cached collection of `count` notes, built first if missing."""
    path = collection_path(count)
    if path.is_file():
        return path
    partial = path.parent.parent.with_name(path.parent.parent.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    target = partial / PROFILE / "collection.anki2"
    target.parent.mkdir(parents=True)
    started = time.perf_counter()
    notes = generate(count)
    with CollectionBackend(target, create=True) as backend:
        backend.ensure_note_types()
        for start in range(0, count, BATCH):
            backend.add_notes(notes[start : start + BATCH])
        # Edited over the past year, as a collection in use (a bulk add would give every
        # note the same second), and at least an hour ago: a later edit has a newer mod.
        spread = "mod - 3600 - (id * 7919) % 31536000"
        backend.col.db.execute(f"update notes set mod = {spread}")  # type: ignore[union-attr]
        backend.col.db.execute(f"update cards set mod = {spread}")  # type: ignore[union-attr]
    shutil.rmtree(path.parent.parent, ignore_errors=True)
    partial.rename(path.parent.parent)
    if callable(log):
        log(f"  built collection of {count} notes in {time.perf_counter() - started:.1f} s")
    return path
