"""Three-way merge of one note: fields line by line, tags as sets, type and id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from ankiops_git import deckfile
from ankiops_git.errors import AnkiOpsError
from ankiops_git.merge import lines
from ankiops_git.model import Note
from ankiops_git.notetypes import BUILTIN, NoteTypes

T = TypeVar("T")


@dataclass
class Outcome:
    """A merged note (None: deleted), or for a conflict the note as each side has it."""

    note: Note | None
    conflict: bool = False
    ours: Note | None = None
    theirs: Note | None = None
    ours_label: str = "ours"
    theirs_label: str = "theirs"
    reason: str = ""  # for a conflict: what collided, for the message


def same_content(a: Note, b: Note) -> bool:
    """Equal fields, tags and type; the id and positions do not count."""
    return (
        a.note_type == b.note_type
        and {k: v for k, v in a.fields.items() if v} == {k: v for k, v in b.fields.items() if v}
        and sorted(a.tags) == sorted(b.tags)
    )


def merge_value(base: T, ours: T, theirs: T) -> tuple[T, bool]:
    """(merged value, conflict?) for a scalar such as a note type or a deck id."""
    if ours == theirs or theirs == base:
        return ours, False
    if ours == base:
        return theirs, False
    return ours, True


def merge_tags(base: list[str], ours: list[str], theirs: list[str]) -> list[str]:
    """Added on either side: added. Removed on either side: removed. Ours' order first
    (a side that changed nothing yields to the other, order included)."""
    if ours in (base, theirs):
        return list(theirs)
    if theirs == base:
        return list(ours)
    removed = (set(base) - set(ours)) | (set(base) - set(theirs))
    return [t for t in dict.fromkeys(ours + theirs) if t not in removed]


def merge_field(base: str, ours: str, theirs: str) -> list[lines.Part]:
    """A field's text, three-way; line-level diff3 when both sides changed it."""
    if ours == theirs or theirs == base:
        return [ours.split("\n")] if ours else []
    if ours == base:
        return [theirs.split("\n")] if theirs else []
    split = [t.split("\n") if t else [] for t in (base, ours, theirs)]
    return lines.diff3(*split)


def _unwritable(note: Note, types: NoteTypes = BUILTIN) -> str | None:
    """Why the note cannot be written as a deck file note, if it cannot; or why it is
    not a whole note (all fields empty, or those that make its type: a deck file holds
    such a note, emptied in Anki, but a merge of two sides never makes one)."""
    try:
        deckfile.write_note(note, types)
    except AnkiOpsError as problem:
        return str(problem)
    if not note.fields:
        return "all its fields are empty"
    note_type = types.by_key[note.note_type]
    given = [p for p, name in note_type.fields if note.fields.get(name)]
    if deckfile.note_type_for(given, types) is not note_type:
        return f"its {note_type.key} fields that make its type are empty"
    return None


def _field_order(note_type: str, names: set[str], types: NoteTypes = BUILTIN) -> list[str]:
    known = list(types.by_key[note_type].field_names) if note_type in types.by_key else []
    return [n for n in known if n in names] + sorted(names - set(known))


def merge_present(
    base: Note | None, ours: Note, theirs: Note, types: NoteTypes = BUILTIN
) -> Outcome:
    """Both sides have the note; `base` is None when neither had it at the merge base."""
    b = base if base is not None else Note(note_type="", fields={})
    # An id on any side is the note's id: one side may just have been given it by Anki.
    note_id = next((n.note_id for n in (ours, theirs, b) if n.note_id is not None), None)
    if ours == theirs or theirs == b:
        return Outcome(ours if ours.note_id == note_id else replace(ours, note_id=note_id))
    if ours == b:
        return Outcome(theirs if theirs.note_id == note_id else replace(theirs, note_id=note_id))
    note_type, type_conflict = merge_value(b.note_type, ours.note_type, theirs.note_type)
    tags = merge_tags(b.tags, ours.tags, theirs.tags)
    names = set(b.fields) | set(ours.fields) | set(theirs.fields)
    merged: dict[str, list[lines.Part]] = {
        n: merge_field(b.field(n), ours.field(n), theirs.field(n))
        for n in _field_order(note_type, names, types)
    }
    clashing = [n for n, p in merged.items() if lines.has_conflict(p)]

    def build(kind: str, which: str) -> Note:
        fields = {n: "\n".join(lines.side(p, which)) for n, p in merged.items()}
        return Note(kind, {n: v for n, v in fields.items() if v}, note_id, list(tags))

    if type_conflict or clashing:
        reason = ("note type and " if type_conflict else "") + (
            f"{', '.join(clashing)} changed differently on both sides"
            if clashing
            else "changed differently on both sides"
        )
    else:
        note = build(note_type, "ours")
        one_side = note.fields in (ours.fields, theirs.fields)  # an emptied note, say
        problem = None if one_side else _unwritable(note, types)
        if problem is None:
            return Outcome(note)
        reason = f"the field-by-field merge is not a valid note ({problem})"
    ours_note = build(ours.note_type if type_conflict else note_type, "ours")
    theirs_note = build(theirs.note_type if type_conflict else note_type, "theirs")
    if _unwritable(ours_note, types) or _unwritable(theirs_note, types):
        # The field-by-field result is not a valid note: show each side's whole note.
        ours_note = Note(ours.note_type, dict(ours.fields), note_id, list(ours.tags))
        theirs_note = Note(theirs.note_type, dict(theirs.fields), note_id, list(theirs.tags))
    return Outcome(None, True, ours_note, theirs_note, reason=reason)


def merge_note(
    base: Note | None,
    ours: Note | None,
    theirs: Note | None,
    moved: tuple[bool, bool] = (False, False),
    types: NoteTypes = BUILTIN,
) -> Outcome:
    """One note's three versions (None: absent on that side) merged.

    `moved` says whether ours/theirs has the note in another deck file than the base.
    Deleted on one side and unchanged on the other: deleted. Deleted on one side and
    edited on the other: a conflict. Deleted on one side and only moved on the other:
    kept where it moved (git may take the moved-to file without asking the driver,
    so that is the only result that is the same whichever files git merges).
    """
    if ours is None and theirs is None:
        return Outcome(None)
    if ours is not None and theirs is not None:
        return merge_present(base, ours, theirs, types)
    kept = ours if ours is not None else theirs
    assert kept is not None
    kept_moved = moved[0] if ours is not None else moved[1]
    if base is None or kept_moved:
        return Outcome(kept)  # added on one side, or moved there
    if same_content(base, kept):
        return Outcome(None)
    edited = kept if kept.note_id is not None else replace(kept, note_id=base.note_id)
    why = "deleted on one side, edited on the other"
    if ours is None:
        return Outcome(
            None, True, None, edited, "ours: deleted this note", "theirs: edited this note", why
        )
    return Outcome(
        None, True, edited, None, "ours: edited this note", "theirs: deleted this note", why
    )
