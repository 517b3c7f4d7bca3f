"""Plain data: a deck file's content as Python values.

Field texts are Markdown, keyed by the Anki field name of the note's type
(see notetypes.py). Line numbers are 1-based positions in the deck file, kept
for diagnostics; they never take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Note:
    note_type: str  # a NoteTypes key: "QA", "Reversed", "Cloze", "Input", "Choice", declared
    fields: dict[str, str]  # Anki field name -> Markdown; absent or "" means empty
    note_id: int | None = None
    tags: list[str] = field(default_factory=list)
    line: int = field(default=0, compare=False)  # first line of the note
    field_lines: dict[str, int] = field(default_factory=dict, compare=False)

    def field(self, name: str) -> str:
        return self.fields.get(name, "")


@dataclass
class Deck:
    notes: list[Note] = field(default_factory=list)
    deck_id: int | None = None
    name: str | None = field(default=None, compare=False)  # from the file name, if known
