"""Tree -> Anki: plan the difference note by note, check it is safe, apply it idempotently.

The plan compares the pushed tree with Anki's current state (an `export.AnkiView`),
so whatever is already in Anki (an earlier, interrupted run of the same push) is
not sent again. Before a note without an id is added, an existing managed note of
that deck with the same fields, not claimed by any id in the tree, is adopted
instead: a retried push never duplicates a note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ankiops_git import deckfile
from ankiops_git.anki.base import Backend, NewNote, NoteUpdate
from ankiops_git.config import Config
from ankiops_git.errors import AnkiOpsError, AnkiRejected, NotesRefused
from ankiops_git.export import (
    AnkiRead,
    AnkiView,
    ContentKey,
    Progress,
    Scope,
    Snapshot,
    change_line,
    content_key,
    first_line,
    html_same,
    markdown_key,
    render,
)
from ankiops_git.gitstore import Files
from ankiops_git.model import Note
from ankiops_git.notetypes import BUILTIN, NoteType, NoteTypes

MAX_DELETES = 20  # notes per push
MAX_DECK_SHARE = 0.10  # of a deck's notes per push...
MIN_DECK_DELETES = 3  # ...once at least this many (deleting a note or two is ordinary)


class PushRejected(AnkiOpsError):
    """The push would overwrite something: `reason` is "fetch first" or "deletes"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Addition:
    path: str
    deck: str
    note: Note


@dataclass
class Plan:
    renames: list[tuple[int, str, str]] = field(default_factory=list)  # id, old, new name
    # a deck in Anki named as a renamed file -> (the file's deck id, the file)
    onto: dict[int, tuple[int, str]] = field(default_factory=dict)
    deck_names: dict[int, str] = field(default_factory=dict)  # every target deck id -> name
    creates: list[str] = field(default_factory=list)
    adds: list[Addition] = field(default_factory=list)
    adopted: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (path, index)
    updates: list[NoteUpdate] = field(default_factory=list)
    moves: dict[str, list[int]] = field(default_factory=dict)  # deck name -> note ids
    deletes: list[tuple[int, str, str]] = field(default_factory=list)  # id, deck, first line
    media: list[tuple[str, bytes, str]] = field(default_factory=list)  # name, content, where
    where: dict[int, str] = field(default_factory=dict)  # note id -> "Deck.md:12" (updates)
    labels: dict[int, str] = field(default_factory=dict)  # note id -> its first line
    ankiops: bool = False  # fields rendered with AnkiOps' inline Markdown (AnkiView.ankiops)
    types: NoteTypes = BUILTIN  # the repository's note types (AnkiView.types)
    # what the push changed of the declared note types in Anki ("note type Vocab: ...")
    note_type_changes: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.renames
            or self.creates
            or self.adds
            or self.updates
            or self.moves
            or self.deletes
            or self.media
        )

    def written_html(self) -> list[tuple[str, str]]:
        """Every field this plan writes (added notes, changed fields): where its note is
        ("Deck.md:12") and its HTML."""
        out = [
            (f"{a.path}:{a.note.line}", render(text, self.ankiops))
            for a in self.adds
            for text in a.note.fields.values()
        ]
        out += [
            (self.where.get(u.note_id, f"note {u.note_id}"), html)
            for u in self.updates
            for html in (u.fields or {}).values()
        ]
        return out

    def listing(self) -> list[str]:
        """What the plan changes in Anki, one line each, by file and line."""
        out = [f"{a.path}:{a.note.line}: add {first_line(a.note, self.types)}" for a in self.adds]
        out += [
            f"{self.where.get(u.note_id, u.note_id)}: update {self.labels.get(u.note_id, '')}"
            for u in self.updates
        ]
        out += [
            f"{self.where.get(i, i)}: move to deck {deck!r}: {self.labels.get(i, '')}"
            for deck, ids in sorted(self.moves.items())
            for i in ids
        ]
        out += [
            f"{deckfile.filename_for_deck(deck)}: delete {line}" for _, deck, line in self.deletes
        ]
        out += [f"rename deck {old!r} to {new!r}" for _, old, new in self.renames]
        out += [f"make deck {name!r}" for name in self.creates]
        out += [f"{where}: store media file {name}" for name, _, where in self.media]
        return out

    def line(self) -> str:
        return change_line(
            len(self.adds),
            len(self.updates),
            sum(len(v) for v in self.moves.values()),
            len(self.deletes),
            [
                (len(self.renames), "deck(s) renamed"),
                (len(self.creates), "deck(s) created"),
                (len(self.media), "media file(s)"),
            ],
        )


def _target_index(target: Snapshot) -> dict[int, tuple[str, int, Note]]:
    seen: dict[int, tuple[str, int, Note]] = {}
    for path, deck in sorted(target.decks.items()):
        for index, note in enumerate(deck.notes):
            if note.note_id is None:
                continue
            if note.note_id in seen:
                other = seen[note.note_id][0]
                raise AnkiOpsError(
                    f"{path}:{note.line}: note_id {note.note_id} is also in {other}; "
                    f"a note can be in one place only. Remove one of them and commit again."
                )
            seen[note.note_id] = (path, index, note)
    return seen


def _deck_targets(view: AnkiView, target: Snapshot, plan: Plan) -> dict[str, str]:
    """Each target file's Anki deck name; fills in the plan's renames and creates."""
    names: dict[str, str] = {}
    by_deck_id: dict[int, str] = {}
    for path, deck in sorted(target.decks.items()):
        name = deckfile.deck_name_for_path(path)
        names[path] = name
        if deck.deck_id is not None and deck.deck_id in view.names:
            if deck.deck_id in by_deck_id:
                raise AnkiOpsError(
                    f"{path}:1: deck_id {deck.deck_id} is also in {by_deck_id[deck.deck_id]}; "
                    f"each deck file needs its own deck. Remove one of the deck_id lines."
                )
            by_deck_id[deck.deck_id] = path
            plan.deck_names[deck.deck_id] = name
            current = view.names[deck.deck_id]
            if current != name:
                other = view.decks.get(name)
                if other is not None and other != deck.deck_id:
                    # Used if it holds only this file's notes (check_renames_onto).
                    plan.onto[other] = (deck.deck_id, path)
                plan.renames.append((deck.deck_id, current, name))
        elif name not in view.decks and name not in plan.creates:
            plan.creates.append(name)
    return names


def _deck_key(view: AnkiView, name: str, renames: dict[str, int]) -> object:
    """What identifies a deck across renames: its id if known, else its name."""
    if name in renames:
        return renames[name]
    return view.decks.get(name, name)


def check_renames_onto(backend: Backend, view: AnkiView, plan: Plan, target: Snapshot) -> None:
    """A file renamed to the name of another deck in Anki: that deck is used (an
    interrupted earlier rename made it, or it is an empty deck) only if it holds
    nothing but notes of that file; otherwise the rename is refused."""
    for other, (deck_id, path) in sorted(plan.onto.items()):
        ours = {n.note_id for n in target.decks[path].notes if n.note_id is not None}
        if not backend.deck_holds_only(other, ours):
            name = deckfile.deck_name_for_path(path)
            raise AnkiOpsError(
                f"{path}:1: this file is deck {deck_id} ({view.names[deck_id]!r} in Anki), "
                f"but a different deck named {name!r} exists in Anki (id {other}) and holds "
                f"other cards. Rename one of them, or remove the deck_id line to use the "
                f"existing deck."
            )


def check_renamed_decks_are_ours(plan: Plan, base: Snapshot, target: Snapshot) -> None:
    """Rename only decks a deck file stood for at the last sync: a deck_id copied or
    typed into a file could name Default, or a deck of the user's other notes."""
    ours = {d.deck_id for d in base.decks.values() if d.deck_id is not None}
    paths = {d.deck_id: p for p, d in target.decks.items() if d.deck_id is not None}
    for deck_id, old, new in plan.renames:
        if deck_id not in ours:
            raise AnkiOpsError(
                f"{paths[deck_id]}:1: deck_id {deck_id} is the deck {old!r} in Anki, which no "
                f"deck file here stood for: this push would rename it to {new!r}. Remove the "
                f"deck_id line (the file then makes or uses the deck {new!r}), or rename the "
                f"deck in Anki."
            )


def recreate_warning(plan: Plan) -> str:
    """What a rename over AnkiConnect (no rename action: the deck is re-created) loses,
    and how to rename in Anki instead."""
    listing = "\n".join(
        f"  {deckfile.filename_for_deck(old)} -> {deckfile.filename_for_deck(new)}: in Anki, "
        f"rename deck {old!r} to {new!r}"
        for _, old, new in plan.renames
    )
    return (
        f"this push renames {len(plan.renames)} deck(s), and AnkiConnect cannot rename a "
        f"deck: it would be re-created under the new name, keeping its cards, review "
        f"history and options group, but not its description or per-deck limits.\n"
        f"{listing}\n"
        f"Either rename in Anki (Browse, right-click the deck, Rename; or the gear on the "
        f"deck list), then `git pull anki`; or re-create: `ankiops-git push "
        f"--recreate-decks` (or `git push -o recreate-decks anki`)."
    )


def check_outside_scope(
    read: AnkiRead, scope: Scope, target: Snapshot, target_files: Files, config: Config
) -> None:
    """The clashes plan_push finds within the files it sees, between those files and the
    rest: a note id or a deck id that an unchanged file outside the scope also holds.

    Outside the scope each file is its deck's export: it holds exactly the notes Anki
    has in that deck, and the deck's id."""
    every = deckfile.deck_paths(target_files, config) or {}
    outside = {name: p for name, p in every.items() if p not in scope.paths}
    names = {i: n for n, i in read.decks.items()}
    for path, deck in sorted(target.decks.items()):
        if deck.deck_id is not None and names.get(deck.deck_id) in outside:
            raise AnkiOpsError(
                f"{path}:1: deck_id {deck.deck_id} is also in "
                f"{outside[names[deck.deck_id]]}; each deck file needs its own deck. "
                f"Remove one of the deck_id lines."
            )
        for note in deck.notes:
            if note.note_id in read.mods and note.note_id not in scope.note_ids:
                other = outside.get(read.note_decks.get(note.note_id, ""), "another file")
                raise AnkiOpsError(
                    f"{path}:{note.line}: note_id {note.note_id} is also in {other}; "
                    f"a note can be in one place only. Remove one of them and commit again."
                )


def plan_push(view: AnkiView, target: Snapshot) -> Plan:
    """What to change in Anki so it holds `target` (Anki's state is `view`)."""
    plan = Plan(ankiops=view.ankiops, types=view.types)
    target_by_id = _target_index(target)
    deck_of = _deck_targets(view, target, plan)
    renamed_to = {new: deck_id for deck_id, _, new in plan.renames}
    # an interrupted rename's new deck counts as the renamed deck
    onto = {view.names[other]: deck_id for other, (deck_id, _) in plan.onto.items()}
    claimed = {i for i in target_by_id if i in view.notes}

    # Notes Anki has: fields, tags, deck.
    for note_id, (path, _, note) in target_by_id.items():
        if note_id not in view.notes:
            continue
        have = view.notes[note_id]
        if have.note.note_type != note.note_type:
            raise AnkiOpsError(
                f"{path}:{note.line}: note {note_id} is a {have.note.note_type} note in Anki and "
                f"cannot change its type to {note.note_type}. Keep its fields, or delete the "
                f"note_id line to make a new note (the old one is then deleted)."
            )
        changed = _changed_fields(note, have.note, have.fields_html, view.ankiops, view.types)
        tags = None if sorted(note.tags) == sorted(have.note.tags) else tuple(note.tags)
        if changed or tags is not None:
            plan.updates.append(NoteUpdate(note_id, changed or None, tags))
        want = deck_of[path]
        if _deck_key(view, want, renamed_to) != _deck_key(view, have.deck, onto):
            plan.moves.setdefault(want, []).append(note_id)
        plan.where[note_id] = f"{path}:{note.line}"
        plan.labels[note_id] = first_line(note, view.types)

    # Notes without an id (or with one Anki does not know): adopt, else add.
    unclaimed = [
        (path, index, note)
        for path, deck in sorted(target.decks.items())
        for index, note in enumerate(deck.notes)
        if note.note_id is None or note.note_id not in claimed
    ]
    pool: dict[tuple[object, ContentKey], list[int]] = {}
    for note_id, have in sorted(view.notes.items()) if unclaimed else []:
        if note_id not in claimed:
            key = content_key(have.note.note_type, have.fields_html())
            pool.setdefault((_deck_key(view, have.deck, {}), key), []).append(note_id)
    for path, index, note in unclaimed:
        want = deck_of[path]
        candidates: list[int] = []
        if pool:  # nothing to adopt: skip rendering the note for its key
            candidates = pool.get(
                (_deck_key(view, want, renamed_to), markdown_key(note, view.ankiops)), []
            )
        if not candidates:
            plan.adds.append(Addition(path, want, note))
            continue
        found = candidates.pop(0)
        claimed.add(found)
        plan.adopted[found] = (path, index)
        if sorted(note.tags) != sorted(view.notes[found].note.tags):
            plan.updates.append(NoteUpdate(found, None, tuple(note.tags)))

    for note_id, have in sorted(view.notes.items()):
        if note_id not in claimed:
            plan.deletes.append((note_id, have.deck, first_line(have.note, view.types)))
    return plan


def _changed_fields(
    note: Note,
    have: Note,
    have_html: Callable[[], dict[str, str]],
    ankiops: bool = False,
    types: NoteTypes = BUILTIN,
) -> dict[str, str]:
    """Fields whose HTML would change; `have_html` (Anki's fields, which may need
    rendering) is asked for only if some field's Markdown differs."""
    changed: dict[str, str] = {}
    html: dict[str, str] | None = None
    for name in types.by_key[note.note_type].field_names:
        want_md = note.field(name)
        if want_md == have.field(name):
            continue
        if html is None:
            html = have_html()
        want_html = render(want_md, ankiops)
        anki_html = html.get(name, "")
        if want_html == anki_html:
            continue
        # Anki holds just what the old Markdown renders to and the Markdown changed:
        # write it, without comparing canonical forms (which parses HTML, and loads
        # the parser: a third of a one-note commit). At most a write of equal HTML.
        if anki_html == render(have.field(name), ankiops) or not html_same(want_html, anki_html):
            changed[name] = want_html
    return changed


def missing_optional_fields(plan: Plan, target: Snapshot, backend: Backend) -> list[str]:
    """lacking_fields for what the plan writes: the optional fields of the notes it adds
    (those not empty) and those its updates change."""
    sent: list[tuple[str, Note, str]] = []  # (path, note, field name)
    for addition in plan.adds:
        t = plan.types.by_key[addition.note.note_type]
        sent += [(addition.path, addition.note, n) for n in optional_used(addition.note, t)]
    updated = {u.note_id: u.fields for u in plan.updates if u.fields}
    if updated:
        for path, deck in target.decks.items():
            for note in deck.notes:
                fields = updated.get(note.note_id) if note.note_id is not None else None
                if fields:
                    t = plan.types.by_key[note.note_type]
                    sent += [
                        (path, note, n) for p, n in t.fields if p in t.optional and n in fields
                    ]
    return lacking_fields(sent, plan.types, backend)


def optional_used(note: Note, note_type: NoteType) -> list[str]:
    """The optional fields (AnkiOps' `AI:`, `D:`, `C8:`, `S:`) `note` fills."""
    return [n for p, n in note_type.fields if p in note_type.optional and note.field(n)]


def lacking_fields(
    sent: Iterable[tuple[str, Note, str]], types: NoteTypes, backend: Backend
) -> list[str]:
    """A line (file:line, what to do) per (path, note, field name) in `sent` whose note
    type in Anki lacks that field (or that Anki has not yet: a push creates the built-in
    types without their optional fields). ankiops-git never adds a field to a type
    behind the user's back: that forces a full sync. Reads each type once, and only a
    type some note of `sent` is of."""
    out: list[str] = []
    has: dict[str, set[str]] = {}
    for path, note, name in sent:
        note_type = types.by_key[note.note_type]
        anki_name = note_type.anki_name
        if anki_name not in has:
            found = backend.read_note_type(anki_name)
            has[anki_name] = set(found[1].fields) if found is not None else set()
        if name not in has[anki_name]:
            out.append(
                f"{path}:{note.field_lines.get(name, note.line)}: "
                f"`{note_type.prefix_for_field(name)}:` is the field {name!r}, which the note "
                f"type {anki_name!r} in Anki does not have (AnkiOps' own has it). Move the "
                f"text into another field (E:, say), or add the field {name!r} to "
                f"{anki_name!r} in Anki (Tools > Manage Note Types > Fields; that forces a "
                f"full sync), then try again."
            )
    return out


# --- safety checks --------------------------------------------------------------------


def mass_deletion(deletes: list[tuple[str, str]], sizes: Counter[str]) -> tuple[str, str] | None:
    """Why these deletions ((deck, first line) each) need a go-ahead: more than
    MAX_DELETES notes, or more than MAX_DECK_SHARE of a deck of `sizes`; and their list,
    one line each. None if they are ordinary."""
    per_deck = Counter(deck for deck, _ in deletes)
    heavy = [
        d for d, n in per_deck.items() if n >= MIN_DECK_DELETES and n > MAX_DECK_SHARE * sizes[d]
    ]
    if len(deletes) <= MAX_DELETES and not heavy:
        return None
    why = (
        f"{len(deletes)} notes"
        if len(deletes) > MAX_DELETES
        else "more than 10% of deck " + ", ".join(repr(d) for d in sorted(heavy))
    )
    listing = "\n".join(
        f"  {deckfile.filename_for_deck(deck)}: {line}" for deck, line in deletes[:50]
    )
    more = f"\n  ... and {len(deletes) - 50} more" if len(deletes) > 50 else ""
    return why, listing + more


def check_deletions(plan: Plan, view: AnkiView, allow: bool) -> None:
    """Refuse mass deletions (MAX_DELETES, MAX_DECK_SHARE) unless allowed."""
    if allow or not plan.deletes:
        return
    # Every managed note's deck (a view scoped to some files holds only their notes).
    sizes = Counter(view.note_decks.values() or (v.deck for v in view.notes.values()))
    found = mass_deletion([(deck, line) for _, deck, line in plan.deletes], sizes)
    if found is not None:
        why, listing = found
        raise PushRejected(
            f"this push would delete {why} in Anki:\n{listing}\n"
            f"If that is intended: `ankiops-git push --allow-deletes` (or "
            f"`git push -o allow-deletes anki`, or allow_deletes = true in ankiops.toml).",
            "deletes",
        )


def _label(deck: str, note: Note, types: NoteTypes = BUILTIN) -> str:
    return f"{deckfile.filename_for_deck(deck)}: {first_line(note, types)}"


def unfetched_changes(view: AnkiView, base: Snapshot, target: Snapshot, plan: Plan) -> list[str]:
    """Changes made in Anki since `base` that `target` does not already hold.

    Pushing over them would lose them, so the push is refused ("fetch first"). A change
    that `target` holds too (an interrupted run of this same push) is not one.
    """
    out: list[str] = []
    base_by_id = base.notes_by_id()
    target_by_id = _target_index(target)
    deck_of = {p: deckfile.deck_name_for_path(p) for p in target.decks}
    for note_id, have in sorted(view.notes.items()):
        hit = base_by_id.get(note_id)
        if hit is None:
            if not have.matched and note_id not in target_by_id and note_id not in plan.adopted:
                out.append(f"added in Anki: {_label(have.deck, have.note, view.types)}")
            continue
        path, _, old = hit
        same_deck = base.deck_name(path, view.names) == have.deck
        same_note = old.fields == have.note.fields and sorted(old.tags) == sorted(have.note.tags)
        if same_deck and same_note:
            continue
        wanted = target_by_id.get(note_id)
        if wanted is not None:
            t_path, _, t_note = wanted
            deck_ok = same_deck or deck_of[t_path] == have.deck
            note_ok = same_note or (
                not _changed_fields(t_note, have.note, have.fields_html, view.ankiops, view.types)
                and sorted(t_note.tags) == sorted(have.note.tags)
            )
            if deck_ok and note_ok:
                continue
        what = "edited" if not same_note else "moved"
        out.append(f"{what} in Anki: {_label(have.deck, have.note, view.types)}")
    for note_id, (base_path, _, old) in sorted(base_by_id.items()):
        if note_id not in view.notes and note_id in target_by_id:
            out.append(f"deleted in Anki: {base_path}: {first_line(old, view.types)}")
    target_ids = {d.deck_id: p for p, d in target.decks.items() if d.deck_id is not None}
    for path, deck in base.decks.items():
        if deck.deck_id is None or deck.deck_id not in view.names:
            continue
        now = view.names[deck.deck_id]
        if now == deckfile.deck_name_for_path(path):
            continue
        same_file = target_ids.get(deck.deck_id)
        if same_file is not None and deckfile.deck_name_for_path(same_file) == now:
            continue
        out.append(f"deck renamed in Anki: {path} -> {now!r}")
    return out


# --- applying -------------------------------------------------------------------------


def apply_decks(backend: Backend, plan: Plan) -> dict[int, int]:
    """Renames and new decks; the decks that took the place of renamed ones (old id ->
    new id: AnkiConnect re-creates a renamed deck)."""
    replaced: dict[int, int] = {}
    for deck_id, _, new in plan.renames:
        # subdecks keep their names: they have files of their own
        now = backend.rename_deck(deck_id, new)
        if now != deck_id:
            replaced[deck_id] = now
    # Decks that get notes are made by add_notes, all in one request; one request
    # each here cost 4.6 s of a 10,000-note first push (200 decks) on real Anki.
    filled = {a.deck for a in plan.adds}
    for name in plan.creates:
        if name not in filled:
            backend.create_deck(name)
    return replaced


ADD_BATCH = 500  # notes per add call: AnkiConnect adds ~7 ms a note, well inside its timeout


def apply_adds(
    backend: Backend, plan: Plan, progress: Progress | None = None
) -> tuple[list[int], list[str]]:
    """Add the plan's new notes in batches: the new ids, and a line per note Anki refused
    (file:line: reason). A refused note does not stop the others."""
    if not plan.adds:
        return [], []
    new_notes = []
    for addition in plan.adds:
        note_type = plan.types.by_key[addition.note.note_type]
        fields = {  # an optional field left empty is not sent: Anki's type may lack it
            name: render(addition.note.field(name), plan.ankiops)
            for prefix, name in note_type.fields
            if prefix not in note_type.optional or addition.note.field(name)
        }
        new_notes.append(
            NewNote(note_type.anki_name, addition.deck, fields, tuple(addition.note.tags))
        )
    added: list[int] = []
    refused: list[str] = []
    for start in range(0, len(new_notes), ADD_BATCH):
        batch = new_notes[start : start + ADD_BATCH]
        try:
            added += backend.add_notes(batch)
        except NotesRefused as e:
            added += [i for i in e.ids if i is not None]
            for index, why in sorted(e.reasons.items()):
                addition = plan.adds[start + index]
                where = f"{addition.path}:{addition.note.line}"
                refused.append(f"{where}: Anki refused this note: {why}")
        if progress is not None:
            progress(start + len(batch), len(new_notes))
    return added, refused


def apply_rest(backend: Backend, plan: Plan) -> None:
    """Updates, moves and deletes: each safe to repeat."""
    if plan.updates:
        backend.update_notes(plan.updates)
    for deck, note_ids in sorted(plan.moves.items()):
        backend.move_notes(note_ids, deck)
    if plan.deletes:
        backend.delete_notes([note_id for note_id, _, _ in plan.deletes])


def apply_media(backend: Backend, plan: Plan) -> None:
    """Media first, so no note refers to a file Anki does not have yet. A file Anki
    stores under another name is taken out again and the push stops there (nothing
    else written): the notes would refer to a name Anki does not have."""
    for name, data, where in plan.media:
        stored = backend.store_media(name, data)
        if stored != name:
            backend.trash_media(stored)
            raise AnkiOpsError(
                f"{where}: media file {name!r}: Anki stores it as {stored!r} (it changes "
                f"media names: lower case, some characters dropped), so the note would "
                f"show a broken link. Rename the file to {stored!r} (and the references "
                f"to it), then commit again; nothing was pushed."
            )


def apply_plan(
    backend: Backend,
    plan: Plan,
    progress: Progress | None = None,
    replaced: Callable[[dict[int, int]], None] | None = None,
) -> list[int]:
    """Apply in an order where an interruption at any step is repaired by running again.

    `replaced` is told at once of decks re-created under a new name (old id -> new id).
    Notes Anki refuses are reported (AnkiRejected, one line each with file:line) once
    everything else is applied; the push then counts as not done, and the next one
    recognises the notes this one added."""
    apply_media(backend, plan)
    moved_decks = apply_decks(backend, plan)
    if moved_decks and replaced is not None:
        replaced(moved_decks)
    added, refused = apply_adds(backend, plan, progress)
    apply_rest(backend, plan)
    if refused:
        raise AnkiRejected(
            f"Anki refused {len(refused)} note(s); everything else was pushed. Fix them, "
            f"commit, and the next push sends them:\n" + "\n".join(refused)
        )
    return added
