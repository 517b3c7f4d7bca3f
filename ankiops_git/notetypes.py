"""The five built-in note types: Anki names, fields, and their Markdown prefixes.

Names match AnkiOps, so collections made with it work unchanged. Templates and CSS
for creating these note types in Anki live in `ankiops_git.anki.templates`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoteType:
    key: str  # short name used in the model: "QA"
    anki_name: str  # note type name in Anki: "AnkiOpsQA"
    fields: tuple[tuple[str, str], ...]  # (prefix, Anki field name) in Anki's field order
    required: tuple[str, ...]  # prefixes that must be present and non-empty
    # prefixes that identify this type; a note with identifying prefixes of two
    # types is an error. QA has none of its own: Q/A alone mean QA.
    identifying: tuple[str, ...]

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.fields)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(n for _, n in self.fields)

    def field_for_prefix(self, prefix: str) -> str:
        return dict(self.fields)[prefix]

    def prefix_for_field(self, name: str) -> str:
        return {n: p for p, n in self.fields}[name]


_COMMON = (("E", "Extra"), ("M", "More"))
CHOICE_COUNT = 7

QA = NoteType("QA", "AnkiOpsQA", (("Q", "Question"), ("A", "Answer"), *_COMMON), ("Q", "A"), ())
REVERSED = NoteType(
    "Reversed", "AnkiOpsReversed", (("F", "Front"), ("B", "Back"), *_COMMON), ("F", "B"), ("F", "B")
)
CLOZE = NoteType("Cloze", "AnkiOpsCloze", (("T", "Text"), *_COMMON), ("T",), ("T",))
INPUT = NoteType(
    "Input", "AnkiOpsInput", (("Q", "Question"), ("I", "Input"), *_COMMON), ("Q", "I"), ("I",)
)
CHOICE = NoteType(
    "Choice",
    "AnkiOpsChoice",
    (
        ("Q", "Question"),
        *((f"C{i}", f"Choice {i}") for i in range(1, CHOICE_COUNT + 1)),
        ("A", "Answer"),
        *_COMMON,
    ),
    ("Q", "C1", "A"),
    tuple(f"C{i}" for i in range(1, CHOICE_COUNT + 1)),
)

NOTE_TYPES: dict[str, NoteType] = {t.key: t for t in (QA, REVERSED, CLOZE, INPUT, CHOICE)}
BY_ANKI_NAME: dict[str, NoteType] = {t.anki_name: t for t in NOTE_TYPES.values()}
ALL_PREFIXES: tuple[str, ...] = tuple(
    dict.fromkeys(p for t in NOTE_TYPES.values() for p in t.prefixes)
)
