"""The collection-file backend: a collection.anki2 opened with the official `anki` package.

Used when Anki desktop is closed, or there is no desktop at all (CI, tests). It is
the same Rust engine as the desktop app, so writes are exactly what Anki would do.
Reads go through one SQL query; writes through the engine's bulk calls, each one
transaction. Anki desktop holds its open collection locked: opening it then fails
at once with a message pointing to the AnkiConnect remote, never waits, never writes.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anki.errors
from anki.collection import AddNoteRequest, Collection
from anki.consts import MODEL_CLOZE, MODEL_STD
from anki.dbproxy import DBProxy
from anki.decks import DeckId
from anki.notes import NoteId
from anki.utils import ids2str

from ankiops_git.anki.base import (
    AnkiNote,
    CardState,
    NewNote,
    NoteUpdate,
    Review,
    due_in_days,
    home_queue,
)
from ankiops_git.anki.templates import (
    CardTemplate,
    Existing,
    NoteTypeSpec,
    Pushed,
    TypeChange,
    changes,
)
from ankiops_git.anki.verify import check_managed, check_media_name, verify_updates
from ankiops_git.errors import AnkiRejected, AnkiUnavailable, NotesRefused, WrongProfile
from ankiops_git.notetypes import BUILTIN, NoteTypes

CONNECT_HINT = "anki::http://127.0.0.1:8765"


def anki_base_dir() -> Path:
    """Anki's data folder (the one holding one folder per profile) on this OS."""
    if override := os.environ.get("ANKI_BASE"):
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Anki2"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Anki2"
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "Anki2"


def profiles(base: Path | None = None) -> list[str]:
    """Profile names found under Anki's data folder (folders with a collection.anki2)."""
    base = base or anki_base_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "collection.anki2").is_file())


def profile_collection_path(name: str, base: Path | None = None) -> Path:
    """The collection file of profile `name`; AnkiUnavailable listing the profiles if unknown."""
    base = base or anki_base_dir()
    path = base / name / "collection.anki2"
    if path.is_file():
        return path
    found = profiles(base)
    listing = ", ".join(found) if found else "none"
    raise AnkiUnavailable(
        f"No Anki profile named {name!r} in {base} (profiles found: {listing}). "
        f"Use one of these names, or give the path to a collection.anki2 file."
    )


def _managed_where(models: dict[int, Any], note_ids: Iterable[int] | None) -> str:
    """SQL condition on `notes n`: a managed note, among `note_ids` if given (and few)."""
    where = f"n.mid in {ids2str(models)}"
    if note_ids is not None:
        where += f" and n.id in {ids2str(list(note_ids))}"
    return where


# Past this many ids, `id in (...)` costs more than reading every managed note's row
# and keeping the wanted ones (measured at 100,000 notes: twice as long).
_FEW_IDS = 5000


def _few(note_ids: Iterable[int] | None) -> tuple[Iterable[int] | None, set[int] | None]:
    """(ids for the SQL, ids to keep afterwards): a long list is filtered in Python."""
    if note_ids is None:
        return None, None
    wanted = note_ids if isinstance(note_ids, set) else set(note_ids)
    return (None, wanted) if len(wanted) > _FEW_IDS else (wanted, None)


# The deck of a note's first card (lowest ord); a card in a filtered deck counts in its
# home deck (odid). A correlated subquery over `notes n`.
_FIRST_CARD_DECK = (
    "(select case when c.odid != 0 then c.odid else c.did end "
    "from cards c where c.nid = n.id order by c.ord limit 1)"
)


_NOT_OURS = (
    "nothing was read or written. Check the path (Anki keeps each profile's collection "
    "as <profile>/collection.anki2), or restore the file from Anki's backups "
    "(<profile>/backups)."
)


def _check_is_collection(path: Path) -> None:
    """AnkiUnavailable unless `path` is an Anki collection this process may write."""
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as e:
        raise AnkiUnavailable(f"Cannot read {path}: {e.strerror}; {_NOT_OURS}") from e
    if not header:
        raise AnkiUnavailable(f"{path} is empty, not an Anki collection: {_NOT_OURS}")
    if header != b"SQLite format 3\x00":
        raise AnkiUnavailable(f"{path} is not an Anki collection (not a database): {_NOT_OURS}")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise AnkiUnavailable(
            f"{path} (or its folder) is read-only: ankiops-git writes to the collection, as "
            f"Anki does. Make it writable (chmod u+w), or use a copy; nothing was changed."
        )
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.2)
        try:
            tables = {row[0] for row in db.execute("select name from sqlite_master")}
        finally:
            db.close()
    except sqlite3.Error:
        return  # locked by Anki, say: opening it says so
    if not {"col", "notes", "cards"} <= tables:
        raise AnkiUnavailable(
            f"{path} is a database but not an Anki collection (it has no notes or cards "
            f"tables): {_NOT_OURS}"
        )


class CollectionBackend:
    """`base.Backend` over a collection file. Close it (or use `with`) to release the lock."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = False,
        profile: str | None = None,
        note_types: NoteTypes = BUILTIN,
    ) -> None:
        """Open `path` (`create`: make a new collection there if none). `profile`: the
        profile the data belongs to; WrongProfile if the file is another profile's.
        `note_types`: the repository's note types, whose notes are managed."""
        self.note_types = note_types
        self.path = Path(path).expanduser().resolve()
        if profile is not None and profile != self.path.parent.name:
            raise WrongProfile(
                f"{self.path} belongs to profile {self.path.parent.name!r}, but this "
                f"repository belongs to profile {profile!r}; nothing was read or written. "
                f"Point it at that profile's collection."
            )
        if not create and not self.path.is_file():
            raise AnkiUnavailable(
                f"No Anki collection at {self.path}. Give the path to an existing "
                f"collection.anki2, an Anki profile name, or an AnkiConnect URL."
            )
        if not create or self.path.exists():
            # Anki's engine would make a new, empty collection of an empty file or of a
            # database that is not a collection: a sync would then delete every note.
            _check_is_collection(self.path)
        try:
            self.col = Collection(str(self.path))
        except anki.errors.DBError as e:
            if "already open" in str(e):
                raise AnkiUnavailable(
                    f"The collection {self.path} is in use (Anki is probably open with it). "
                    f"Close Anki and retry, or, with Anki running, use the AnkiConnect "
                    f"remote instead: {CONNECT_HINT}"
                ) from e
            if "readonly" in str(e) or "disk I/O error" in str(e):
                raise AnkiUnavailable(
                    f"Cannot write to {self.path} ({_db_reason(e)}): ankiops-git writes to "
                    f"the collection, as Anki does. Make the file and its folder writable, or "
                    f"use a copy; nothing was changed."
                ) from e
            raise AnkiUnavailable(
                f"Cannot open {self.path} as an Anki collection ({_db_reason(e)}). Check the "
                f"path points to a collection.anki2 file."
            ) from e

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        if self.col.db is not None:
            self.col.close()

    def __enter__(self) -> CollectionBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _db(self) -> DBProxy:
        if self.col.db is None:
            raise AnkiUnavailable(f"The collection {self.path} was closed; open it again.")
        return self.col.db

    def profile(self) -> str:
        return self.path.parent.name

    def sync(self) -> None:
        """No-op: a collection file has no AnkiWeb login here; Anki syncs when next opened."""

    def deck_options(self, deck_names: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in deck_names:
            did = self.col.decks.id_for_name(name)
            if did is not None:
                out[name] = dict(self.col.decks.config_dict_for_deck_id(did))
        return out

    def card_states(self, note_ids: Sequence[int]) -> list[CardState]:
        """Read as Anki stores them (revlog rows whole); a card in a filtered deck as in
        its home deck (`odue`), as Anki puts it back when the filtered deck is emptied."""
        today = self.col.sched.today
        out: list[CardState] = []
        nids = ids2str(list(note_ids))
        reviews: dict[int, list[Review]] = {}
        for cid, *row in self._db.all(
            "select cid, id, ease, ivl, lastIvl, factor, time, type from revlog "
            f"where cid in (select id from cards where nid in {nids}) order by id"
        ):
            reviews.setdefault(int(cid), []).append(tuple(row))
        for cid in self._db.list(f"select id from cards where nid in {nids}"):
            card = self.col.get_card(cid)
            due, queue = card.due, int(card.queue)
            if card.odid:
                due = card.odue
                if queue >= 0:  # what emptying the filtered deck gives back
                    queue = home_queue(card.type, due)
            if due_in_days(card.type, queue, due):
                due -= today
            memory = card.memory_state
            out.append(
                CardState(
                    note_id=card.nid,
                    ord=card.ord,
                    ctype=int(card.type),
                    queue=queue,
                    due=due,
                    ivl=card.ivl,
                    factor=card.factor,
                    reps=card.reps,
                    lapses=card.lapses,
                    left=card.left,
                    flags=card.flags,
                    reviews=tuple(reviews.get(cid, ())),
                    memory=(memory.stability, memory.difficulty) if memory else None,
                    custom_data=card.custom_data,
                )
            )
        return out

    # -- note types ------------------------------------------------------------------

    def ensure_note_types(
        self,
        allow_field_changes: bool = False,
        *,
        dry_run: bool = False,
        pushed: Pushed | None = None,
    ) -> list[str]:
        existing = {}
        for note_type in self.note_types.all:
            model = self.col.models.by_name(note_type.anki_name)
            if model is not None:
                existing[note_type.anki_name] = _existing(model)
        # every type checked before any is created or changed
        todo = changes(self.note_types, existing, allow_field_changes, pushed)
        for change in [] if dry_run else todo:
            if change.create:
                self._create_note_type(change.spec)
            else:
                self._change_note_type(change)
        return [line for change in todo for line in change.lines()]

    def read_note_type(self, name: str) -> tuple[NoteTypeSpec, Existing] | None:
        """A note type as Anki has it (for `note-type import`), or None."""
        model = self.col.models.by_name(name)
        if model is None:
            return None
        have = _existing(model)
        spec = NoteTypeSpec(
            name, tuple(have.fields), have.templates or (), have.css or "", bool(have.is_cloze)
        )
        return spec, have

    def _change_note_type(self, change: TypeChange) -> None:
        mm = self.col.models
        model = mm.by_name(change.spec.name)
        assert model is not None
        for name in change.add_fields:
            mm.add_field(model, mm.new_field(name))
        for name in change.remove_fields:
            mm.remove_field(model, mm.field_map(model)[name][1])
        if change.templates:
            for template, wanted in zip(model["tmpls"], change.spec.templates, strict=True):
                template["qfmt"], template["afmt"] = wanted.front, wanted.back
        if change.css:
            model["css"] = change.spec.css
        mm.update_dict(model)

    def _create_note_type(self, spec: NoteTypeSpec) -> None:
        mm = self.col.models
        model = mm.new(spec.name)
        model["type"] = MODEL_CLOZE if spec.is_cloze else MODEL_STD
        for name in spec.fields:
            mm.add_field(model, mm.new_field(name))
        for template in spec.templates:
            t = mm.new_template(template.name)
            t["qfmt"] = template.front
            t["afmt"] = template.back
            mm.add_template(model, t)
        model["css"] = spec.css
        mm.add(model)

    def _managed_models(self) -> dict[int, tuple[str, list[str]]]:
        """Note type id -> (name, field names in order) for the managed types present."""
        out: dict[int, tuple[str, list[str]]] = {}
        for name in self.note_types.by_anki_name:
            model = self.col.models.by_name(name)
            if model is not None:
                out[int(model["id"])] = (name, [f["name"] for f in model["flds"]])
        return out

    # -- decks -----------------------------------------------------------------------

    def decks(self) -> dict[str, int]:
        return {d.name: int(d.id) for d in self.col.decks.all_names_and_ids()}

    def create_deck(self, name: str) -> int:
        existing = self.col.decks.id_for_name(name)
        if existing is not None:
            return int(existing)
        return int(self.col.decks.add_normal_deck_with_name(name).id)

    renames_in_place = True

    def rename_deck(self, deck_id: int, new_name: str) -> int:
        decks = self.col.decks
        deck = decks.get(DeckId(deck_id), default=False)
        if deck is None:
            raise AnkiRejected(f"No deck with id {deck_id} in Anki; nothing renamed.")
        old = str(deck["name"])
        if old == new_name:
            return deck_id
        other = decks.id_for_name(new_name)
        if other is not None and int(other) != deck_id:
            # A deck of that name holding only these cards (deck_holds_only): take its
            # cards, then its place.
            cards = self._db.list("select id from cards where did = ? or odid = ?", other, other)
            if cards:
                self.col.set_deck(cards, deck_id)
            decks.remove([other])
        depth = old.count("::") + 1
        children = [(i, n) for n, i in decks.children(DeckId(deck_id)) if n.count("::") == depth]
        decks.rename(DeckId(deck_id), new_name)
        # Subdecks have files of their own: they keep their names (and ids), and so
        # do theirs, which move with them.
        for child_id, child_name in children:
            decks.rename(child_id, child_name)
        return deck_id

    def deck_holds_only(self, deck_id: int, note_ids: Iterable[int]) -> bool:
        found = self._db.list(
            "select distinct nid from cards where did = ? or odid = ?", deck_id, deck_id
        )
        return set(found) <= set(note_ids)

    # -- notes: reads ----------------------------------------------------------------

    def mod_times(self, note_ids: Iterable[int] | None = None) -> dict[int, int]:
        models = self._managed_models()
        if not models:
            return {}
        asked, keep = _few(note_ids)
        where = _managed_where(models, asked)
        rows = self._db.all(f"select n.id, n.mod from notes n where {where}")
        out = {int(nid): int(mod) for nid, mod in rows}
        return out if keep is None else {i: out[i] for i in keep if i in out}

    def note_decks(self, note_ids: Iterable[int] | None = None) -> dict[int, str]:
        models = self._managed_models()
        if not models:
            return {}
        asked, keep = _few(note_ids)
        rows = self._db.all(
            f"select n.id, {_FIRST_CARD_DECK} from notes n where {_managed_where(models, asked)}"
        )
        deck_names = {int(d.id): d.name for d in self.col.decks.all_names_and_ids()}
        out = {int(nid): deck_names.get(int(did or 0), "") for nid, did in rows}
        return out if keep is None else {i: out[i] for i in keep if i in out}

    def deck_note_ids(self, deck_ids: Iterable[int]) -> set[int]:
        models = self._managed_models()
        wanted = ids2str(list(deck_ids))
        if not models or wanted == "()":
            return set()
        # Both by the cards' deck index: a card's own deck, and for cards in a
        # filtered deck (few) their home deck.
        decks = self.col.decks
        regular = {d.id for d in decks.all_names_and_ids(include_filtered=False)}
        filtered = ids2str([d.id for d in decks.all_names_and_ids() if d.id not in regular])
        # A union of two lookups by deck: sqlite uses the deck index for neither side of
        # an `or` (a scan of every card: 0.1 s at 100,000 notes against 0.5 ms).
        rows = self._db.list(
            f"select n.id from notes n where n.mid in {ids2str(models)} and n.id in "
            f"(select nid from cards where did in {wanted} "
            f"union select nid from cards where did in {filtered} and odid in {wanted})"
        )
        return {int(nid) for nid in rows}

    def read_notes(self, note_ids: Iterable[int] | None = None) -> list[AnkiNote]:
        """Managed notes, sorted by id; ids that are not managed notes are left out."""
        models = self._managed_models()
        if not models:
            return []
        where = f"n.mid in {ids2str(models)}"
        if note_ids is not None:
            where += f" and n.id in {ids2str(list(note_ids))}"
        rows = self._db.all(
            f"select n.id, n.mid, n.flds, n.tags, n.mod, {_FIRST_CARD_DECK} "
            f"from notes n where {where} order by n.id"
        )
        deck_names = {int(d.id): d.name for d in self.col.decks.all_names_and_ids()}
        out = []
        for nid, mid, flds, tags, mod, did in rows:
            name, field_names = models[int(mid)]
            values = flds.split("\x1f")
            out.append(
                AnkiNote(
                    note_id=int(nid),
                    note_type=name,
                    fields=dict(zip(field_names, values, strict=False)),
                    tags=tuple(tags.split()),
                    deck=deck_names.get(int(did), "") if did is not None else "",
                    mod=int(mod),
                )
            )
        return out

    # -- notes: writes ---------------------------------------------------------------

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        if not notes:
            return []
        # Check everything before writing anything, so a bad note changes nothing.
        models = {name: self.col.models.by_name(name) for name in {n.note_type for n in notes}}
        for i, new in enumerate(notes):
            model = models[new.note_type]
            if new.note_type not in self.note_types.by_anki_name or model is None:
                raise AnkiRejected(
                    f"Note {i + 1} of the batch has note type {new.note_type!r}, which is "
                    f"not a managed note type present in Anki; nothing was added."
                )
            _check_fields(f"Note {i + 1} of the batch", new.fields, model)
        # As Anki's Add window and AnkiConnect do: a note whose first field is empty
        # would make a card with nothing to ask.
        reasons = {
            i: "cannot create note because it is empty"
            for i, new in enumerate(notes)
            if not new.fields.get(models[new.note_type]["flds"][0]["name"], "").strip()  # type: ignore[index]
        }
        wanted = [new for i, new in enumerate(notes) if i not in reasons]
        decks_before = set(self.decks())
        deck_ids = {name: self.create_deck(name) for name in {n.deck for n in wanted}}
        requests = []
        for new in wanted:
            note = self.col.new_note(models[new.note_type])  # type: ignore[arg-type]
            for name, value in new.fields.items():
                note[name] = value
            note.tags = list(new.tags)
            requests.append(AddNoteRequest(note=note, deck_id=DeckId(deck_ids[new.deck])))
        try:
            if requests:
                self.col.add_notes(requests)  # one transaction: all or nothing
        except anki.errors.AnkiException as e:
            created = [i for name, i in self.decks().items() if name not in decks_before]
            self.col.decks.remove([DeckId(i) for i in created])  # empty: the add rolled back
            raise AnkiRejected(f"Anki refused to add the notes ({e}); nothing was added.") from e
        added = iter(int(r.note.id) for r in requests)
        ids = [None if i in reasons else next(added) for i in range(len(notes))]
        if reasons:
            raise NotesRefused(ids, reasons)
        return [i for i in ids if i is not None]

    def update_notes(self, updates: Sequence[NoteUpdate]) -> None:
        if not updates:
            return
        self._require_managed([u.note_id for u in updates], "update")
        notes = []
        for update in updates:
            note = self.col.get_note(NoteId(update.note_id))
            if update.fields is not None:
                _check_fields(f"Note {update.note_id}", update.fields, note.note_type())
                for name, value in update.fields.items():
                    note[name] = value
            if update.tags is not None:
                note.tags = list(update.tags)
            notes.append(note)
        try:
            self.col.update_notes(notes)
        except anki.errors.AnkiException as e:
            raise AnkiRejected(f"Anki refused to update the notes ({e}).") from e
        verify_updates(updates, self.read_notes([u.note_id for u in updates]))

    def move_notes(self, note_ids: Sequence[int], deck: str) -> None:
        if not note_ids:
            return
        self._require_managed(note_ids, "move")
        deck_id = self.create_deck(deck)
        card_ids = self._db.list(f"select id from cards where nid in {ids2str(note_ids)}")
        # set_deck changes the deck only: scheduling and review history stay.
        self.col.set_deck(card_ids, deck_id)

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        if not note_ids:
            return
        self._require_managed(note_ids, "delete")
        self.col.remove_notes([NoteId(n) for n in note_ids])

    def _require_managed(self, note_ids: Sequence[int], action: str) -> None:
        rows = self._db.all(
            "select n.id, m.name from notes n join notetypes m on m.id = n.mid "
            f"where n.id in {ids2str(note_ids)}"
        )
        check_managed(
            action, note_ids, {int(nid): str(name) for nid, name in rows}, self.note_types
        )

    # -- media -----------------------------------------------------------------------

    def store_media(self, filename: str, data: bytes) -> str:
        """Store under `filename`, replacing a different file of that name (the old one
        goes to Anki's media trash), as AnkiConnect's storeMediaFile does."""
        check_media_name(filename)
        existing = self.read_media(filename)
        if existing is not None and existing != data:
            self.col.media.trash_files([filename])
        return str(self.col.media.write_data(filename, data))

    def trash_media(self, filename: str) -> None:
        check_media_name(filename)
        if self.read_media(filename) is not None:
            self.col.media.trash_files([filename])

    def read_media(self, filename: str) -> bytes | None:
        check_media_name(filename)
        path = Path(self.col.media.dir()) / filename
        return path.read_bytes() if path.is_file() else None

    def read_media_many(self, filenames: Sequence[str]) -> list[bytes | None]:
        return [self.read_media(name) for name in filenames]

    def media_in_use(self, filenames: Iterable[str]) -> set[str]:
        wanted = set(filenames)
        found: set[str] = set()
        for (flds,) in self._db.execute("select flds from notes"):
            found |= {name for name in wanted - found if name in flds}
            if found == wanted:
                break
        return found


def _existing(model: Any) -> Existing:
    return Existing(
        [f["name"] for f in model["flds"]],
        model["type"] == MODEL_CLOZE,
        tuple(CardTemplate(t["name"], t["qfmt"], t["afmt"]) for t in model["tmpls"]),
        model["css"],
    )


def _check_fields(what: str, fields: dict[str, str], model: Any) -> None:
    known = [f["name"] for f in model["flds"]]
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise AnkiRejected(
            f"{what}: note type {model['name']!r} has no field "
            f"{', '.join(repr(u) for u in unknown)} (its fields: {', '.join(known)}); "
            f"nothing was written."
        )


def _db_reason(e: Exception) -> str:
    text = str(e)
    if "file is not a database" in text:
        return "not a database file"
    return text if len(text) < 160 else text[:157] + "..."
