"""Checking that writes took effect, shared by both backends.

AnkiConnect can answer "ok" to a field update it silently dropped (the note was open
in Anki's browser), so every update is read back and compared.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from ankiops_git.anki.base import AnkiNote, NoteUpdate
from ankiops_git.errors import AnkiRejected


def _same_text(a: str, b: str) -> bool:
    # Anki stores field text NFC-normalised; compare the way it stores.
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def verify_updates(updates: Sequence[NoteUpdate], after: Sequence[AnkiNote]) -> None:
    """AnkiRejected naming each note whose update did not take effect.

    Tags compare case-insensitively: Anki adopts the case of an existing tag.
    """
    by_id = {n.note_id: n for n in after}
    failed: list[str] = []
    for update in updates:
        note = by_id.get(update.note_id)
        if note is None:
            failed.append(f"{update.note_id} (gone)")
            continue
        wrong = [
            name
            for name, value in (update.fields or {}).items()
            if not _same_text(note.fields.get(name, ""), value)
        ]
        if update.tags is not None and {t.lower() for t in note.tags} != {
            t.lower() for t in update.tags
        }:
            wrong.append("tags")
        if wrong:
            failed.append(f"{update.note_id} ({', '.join(wrong)})")
    if failed:
        raise AnkiRejected(
            f"Anki did not apply the update to note(s) {'; '.join(failed)}. If a note is "
            f"open in Anki's browser or editor, close that window and push again."
        )
