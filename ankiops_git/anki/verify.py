"""Checks shared by both backends: writes took effect, ids are ours, names are sane.

AnkiConnect can answer "ok" to a field update it silently dropped (the note was open
in Anki's browser), so every update is read back and compared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ankiops_git.anki.base import AnkiNote, NoteUpdate
from ankiops_git.errors import AnkiRejected
from ankiops_git.notetypes import NoteTypes

# Control characters Anki drops from field text (all C0 but tab and newline, and DEL).
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def anki_stored_text(text: str) -> str:
    """`text` as Anki stores it in a field: NFC-normalised, `\r` and other control
    characters but tab and newline removed. A value written and read back equals this."""
    return _DROPPED.sub("", unicodedata.normalize("NFC", text))


def _same_text(a: str, b: str) -> bool:
    return anki_stored_text(a) == anki_stored_text(b)


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


def check_managed(
    action: str, note_ids: Sequence[int], note_types: dict[int, str], managed: NoteTypes
) -> None:
    """AnkiRejected naming the ids that are missing or not notes of `managed` types.

    `note_types` maps the ids found in Anki to their note type name. Called before
    any write, so a bad id means nothing is written.
    """
    missing = [n for n in note_ids if n not in note_types]
    names = managed.by_anki_name
    foreign = [n for n in note_ids if n in note_types and note_types[n] not in names]
    if missing or foreign:
        parts = []
        if missing:
            parts.append(f"not in Anki: {', '.join(map(str, missing))}")
        if foreign:
            parts.append(f"not notes of a managed note type: {', '.join(map(str, foreign))}")
        raise AnkiRejected(f"Cannot {action} notes ({'; '.join(parts)}); nothing changed.")


def check_media_name(filename: str) -> None:
    """A plain file name: media files live in one flat folder."""
    if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
        raise AnkiRejected(f"Invalid media file name {filename!r}: a plain file name is needed.")
