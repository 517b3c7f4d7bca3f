"""Errors the library raises for user-facing problems.

Surfaces (CLI, hooks, merge driver, remote helper) catch `AnkiOpsError` and print
its message: one clear line (or a few), never a traceback.
"""

from __future__ import annotations

import re

# Control characters but tab and newline (C0, DEL, C1), the Unicode line and paragraph
# separators (a line-based reader splits a message there) and the bidirectional
# controls (they reorder how the rest of the line shows): a message shows them escaped.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters written as escapes (a NUL or a form feed copied
    from a file would garble the terminal, a U+202E turn the rest of the line around),
    so a message stays one readable line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class AnkiOpsError(Exception):
    """A problem the user can act on; the message says what and what to do."""


class DeckFileError(AnkiOpsError):
    """A deck file that cannot be read; carries the position for diagnostics."""

    def __init__(self, message: str, path: str = "", line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}: " if self.path else f"line {self.line}: "
        return f"{where}error: {self.message}"


class AnkiUnavailable(AnkiOpsError):
    """Anki cannot be reached (not running, add-on missing, collection locked)."""


class AnkiRejected(AnkiOpsError):
    """Anki answered with an error, or a write did not take effect."""


class WrongProfile(AnkiOpsError):
    """The open Anki profile is not the one this repository belongs to."""


class AnkiBusy(AnkiOpsError):
    """Anki took longer than the time allowed to answer: it may still be working on it."""


class NotesRefused(AnkiRejected):
    """Anki refused some notes of a batch and added the others.

    `ids`: one entry per note of the batch, its new id or None if refused;
    `reasons`: index in the batch -> Anki's reason, for each refused note."""

    def __init__(self, ids: list[int | None], reasons: dict[int, str]) -> None:
        super().__init__(
            f"Anki refused {len(reasons)} of {len(ids)} note(s): "
            + "; ".join(f"note {i + 1}: {why}" for i, why in sorted(reasons.items()))
        )
        self.ids = ids
        self.reasons = reasons
