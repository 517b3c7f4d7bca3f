"""Edits carried to a note's new file, when git will not pass that file to the driver.

A note moved from A.md to B.md on one side and edited in A.md on the other: git runs
the driver on A.md (both sides changed it) but takes B.md from the side that moved
the note, without the driver. Under the `git-merge-ankiops` strategy the driver drops
the note from A.md and records a `Carried`; after git's merge the strategy merges the
recorded edit into the note in B.md (`apply`). Records are JSON lines in a file the
strategy names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.errors import AnkiOpsError
from ankiops_git.merge.deck import Carried, MergeResult, render
from ankiops_git.merge.notes import Outcome, merge_note
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteTypes


def _note_dict(note: Note) -> dict[str, object]:
    return {
        "note_type": note.note_type,
        "fields": note.fields,
        "id": note.note_id,
        "tags": note.tags,
    }


def _note_from(data: dict[str, object]) -> Note:
    fields = data["fields"]
    tags = data["tags"]
    note_id = data["id"]
    assert isinstance(fields, dict) and isinstance(tags, list)
    assert note_id is None or isinstance(note_id, int)
    return Note(str(data["note_type"]), dict(fields), note_id, list(tags))


def record(path: Path, carried: list[Carried]) -> None:
    """Append records to `path` (one driver run per file; git runs them one at a time)."""
    if not carried:
        return
    with path.open("a", encoding="utf-8") as out:
        for c in carried:
            data = asdict(c) | {"base": _note_dict(c.base), "edited": _note_dict(c.edited)}
            out.write(json.dumps(data, ensure_ascii=False) + "\n")


def read(path: Path) -> list[Carried]:
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        found.append(
            Carried(
                str(data["source"]),
                str(data["destination"]),
                int(data["note_id"]),
                str(data["mover"]),
                _note_from(data["base"]),
                _note_from(data["edited"]),
            )
        )
    return found


@dataclass
class Applied:
    """The destination file merged with its carried edits. For a conflict, `stages` are
    the texts for git's index (base, ours, theirs) so git shows the file as unmerged."""

    result: MergeResult
    stages: tuple[str, str, str] | None = None


def _replaced(text: str, path: str, notes: list[Note], types: NoteTypes = BUILTIN) -> str:
    """`text` with the notes of the same ids replaced, the other bytes kept if possible."""
    from ankiops_git.export import splice  # only the strategy needs it: keep the driver light

    deck = deckfile.parse(text, path, types)
    by_id = {n.note_id: n for n in notes}
    new = Deck([by_id.get(n.note_id, n) for n in deck.notes], deck.deck_id, deck.name)
    return splice(text, deck, new, types) or deckfile.write(new, types)


def _lost_block(c: Carried) -> Outcome:
    """The edit, as a conflict of its own, when the moved note is not in the destination."""
    moved = f"{c.mover}: moved note {c.note_id} here from {c.source}; it is not in this file now"
    edited = f"{c.stayer}: edited it in {c.source}; put the edit where the note is"
    why = f"note {c.note_id}, moved here from {c.source} and edited there, is not in this file"
    if c.mover == "ours":
        return Outcome(None, True, None, c.edited, moved, edited, why)
    return Outcome(None, True, c.edited, None, edited, moved, why)


def _merged(c: Carried, moved: Note, types: NoteTypes = BUILTIN) -> Outcome:
    """The note as moved (and maybe edited) by the mover, merged with the stayer's edit."""
    if c.mover == "ours":
        outcome = merge_note(c.base, moved, c.edited, types=types)
    else:
        outcome = merge_note(c.base, c.edited, moved, types=types)
    if not outcome.conflict:
        return outcome
    return replace(
        outcome,
        ours_label="ours" + (f" (moved it here from {c.source})" if c.mover == "ours" else ""),
        theirs_label="theirs"
        + (f" (moved it here from {c.source})" if c.mover == "theirs" else ""),
        reason=f"moved here from {c.source} by {c.mover}; {outcome.reason}",
    )


def apply(text: str, path: str, carried: list[Carried], types: NoteTypes = BUILTIN) -> Applied:
    """Merge carried edits into the destination file's `text` (as git left it: the
    mover's version), note by note and three-way as the driver would have. All carries
    into one file have the same mover: git took the file from the side that changed it."""
    try:
        deck: Deck | None = deckfile.parse(text, path, types)
    except AnkiOpsError:
        deck = None
    notes = deck.notes if deck is not None else []
    positions = {n.note_id: i for i, n in enumerate(notes) if n.note_id is not None}
    outcomes = [Outcome(n) for n in notes]
    present = [c for c in carried if c.note_id in positions]
    lost = [_lost_block(c) for c in carried if c.note_id not in positions]
    conflicts: list[str] = []
    for c in present:
        outcome = _merged(c, notes[positions[c.note_id]], types)
        outcomes[positions[c.note_id]] = outcome
        if outcome.conflict:
            conflicts.append(f"{path}: note {c.note_id}: {outcome.reason}")
    conflicts += [f"{path}: {o.reason}" for o in lost]
    if not conflicts:
        merged = [o.note for o in outcomes if o.note is not None]
        deck_id = deck.deck_id if deck is not None else None
        result = MergeResult(_replaced(text, path, merged, types), [], Deck(merged, deck_id))
        return Applied(result)
    if deck is None:
        return appended(text, path, carried, "the file does not parse", types)
    header = f"<!-- deck_id: {deck.deck_id} -->\n\n" if deck.deck_id is not None else ""
    merged_text = header + "\n---\n\n".join(render(o, types) for o in outcomes + lost)
    base = _replaced(text, path, [c.base for c in present], types)
    edited = _replaced(text, path, [c.edited for c in present], types)
    mover = carried[0].mover
    stages = (base, text, edited) if mover == "ours" else (base, edited, text)
    return Applied(MergeResult(merged_text, conflicts), stages)


def appended(
    text: str, path: str, carried: list[Carried], why: str, types: NoteTypes = BUILTIN
) -> Applied:
    """The fallback: each edit as a conflict block after the file's text as it is."""
    blocks = [_lost_block(c) for c in carried]
    body = text if text.endswith("\n") or not text else text + "\n"
    separator = "\n---\n\n" if body.strip() else ""
    merged_text = body + separator + "\n---\n\n".join(render(o, types) for o in blocks)
    conflicts = [f"{path}: {o.reason} ({why})" for o in blocks]
    return Applied(MergeResult(merged_text, conflicts), (text, text, text))
