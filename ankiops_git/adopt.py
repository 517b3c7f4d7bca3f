"""Deck files written by AnkiOps, converted to ours (`ankiops-git init` runs this).

AnkiOps 0.6 and later mark a note with `<!-- note_key: K -->` and `<!-- note_type:
AnkiOpsQA -->` lines, and keep the key -> Anki note id map in `.ankiops.db` (its
`note_state` table; the key is also in the note's `AnkiOps Key` field in Anki).
Earlier releases wrote `<!-- note_id: N -->`, which is our format already.

`plan` reads the folder and changes nothing: each key becomes the `note_id` comment
of the note id the map gives, each note_type line naming one of the five built-in
types goes (the prefixes say the type). A key the map lacks loses its line; the
first fetch then matches the note to Anki's by content. `check` parses every deck
file as it will be, so init refuses before writing anything.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.config import Config
from ankiops_git.errors import AnkiOpsError, DeckFileError
from ankiops_git.notetypes import BY_ANKI_NAME

DB_NAME = ".ankiops.db"
NOTE_KEY_RE = re.compile(r"^\s*<!--\s*note_key:\s*([a-zA-Z0-9-]+)\s*-->\s*$")
NOTE_TYPE_RE = re.compile(r"^\s*<!--\s*note_type:\s*(.*?)\s*-->\s*$")


@dataclass
class Migration:
    """What converting the folder changes: path -> (text to write, text with removed
    lines left blank, for diagnostics at the lines the user sees)."""

    texts: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    keys: int = 0  # note_key comments converted to note ids
    unmapped: int = 0  # note_key comments the map lacks (matched by content instead)

    def empty(self) -> bool:
        return not self.texts

    def line(self) -> str:
        out = (
            f"init: converted {len(self.texts)} AnkiOps deck file(s): {self.keys} note_key "
            "comment(s) to note_id (from .ankiops.db)"
        )
        if self.unmapped:
            out += (
                f"; {self.unmapped} key(s) not in .ankiops.db were dropped, "
                "their notes matched to Anki's by content"
            )
        return out


def key_map(root: Path) -> dict[str, int]:
    """AnkiOps' note_key -> note id map (empty if there is none)."""
    path = root / DB_NAME
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("select note_key, note_id from note_state").fetchall()
        finally:
            db.close()
    except sqlite3.Error as error:
        raise AnkiOpsError(
            f"{path}: cannot read AnkiOps' note map ({error}); nothing changed"
        ) from error
    return {str(key): int(note_id) for key, note_id in rows}


def plan(root: Path, config: Config) -> Migration:
    """The conversion of the AnkiOps deck files in `root`; reads only."""
    result = Migration()
    keys: dict[str, int] | None = None
    for path in deckfile.deck_files(root, config):
        text = path.read_text(encoding="utf-8")
        if "note_key:" not in text and "note_type:" not in text:
            continue
        out: list[str] = []
        blanked: list[str] = []
        fence: deckfile.Fence | None = None
        changed = False
        for number, line in enumerate(deckfile.split_lines(text), 1):
            body = line
            if fence is None:
                key = NOTE_KEY_RE.match(line)
                kind = NOTE_TYPE_RE.match(line)
                if key:
                    keys = key_map(root) if keys is None else keys
                    note_id = keys.get(key.group(1))
                    changed = True
                    if note_id is None:
                        result.unmapped += 1
                        blanked.append("")
                        continue
                    result.keys += 1
                    out.append(f"<!-- note_id: {note_id} -->")
                    blanked.append(out[-1])
                    continue
                if kind:
                    if kind.group(1) not in BY_ANKI_NAME:
                        raise DeckFileError(
                            f"note type {kind.group(1)!r} is not one ankiops-git syncs "
                            f"({', '.join(BY_ANKI_NAME)}); move its notes to another "
                            "folder or convert them in Anki. Nothing changed",
                            path.name,
                            number,
                            1,
                        )
                    changed = True
                    blanked.append("")
                    continue
                m = deckfile.PREFIX_RE.match(line)
                body = line[len(m.group(0)) :] if m else line
            fence = deckfile.step_fence(fence, body)
            out.append(line)
            blanked.append(line)
        if changed:
            result.texts[path.name] = "\n".join(out) + "\n"
            result.checked[path.name] = "\n".join(blanked) + "\n"
    return result


def check(root: Path, config: Config, migration: Migration) -> None:
    """Parse every deck file as it will be after the conversion: DeckFileError naming
    the file and line (as the user sees it now) of the first problem."""
    for path in deckfile.deck_files(root, config):
        text = migration.checked.get(path.name)
        deckfile.parse(text if text is not None else path.read_text(encoding="utf-8"), path.name)


def apply(root: Path, migration: Migration) -> None:
    for name, text in migration.texts.items():
        (root / name).write_text(text, encoding="utf-8")
