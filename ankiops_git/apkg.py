"""Anki packages (.apkg) both ways, through the official `anki` package only.

`export_apkg` builds a package from the repository alone (no Anki running): a new
collection in a temporary folder gets the repository's note types (templates, CSS),
the notes with their fields rendered as a push renders them, the media files they
show, and each note a stable GUID (`note_guid`); Anki's own exporter then writes the
package. Anki's importer updates a note whose GUID it has, so importing a newer
package of the same repository updates notes instead of adding them again. With
scheduling (`anki`: a backend on the user's Anki), the cards of notes with an id get
their state and review history (`_schedule`), and the decks their options presets.

`import_apkg` goes the other way: Anki's own importer reads the package into a new
collection in a temporary folder; notes of Anki's stock types become AnkiOps notes
with Anki's own "change note type" (Basic -> QA, Basic (and reversed card) ->
Reversed, Basic (type in the answer) -> Input, Cloze -> Cloze), and the collection is
then read as a fetch reads one (export.py) and written as deck files and media/. The
ids in a package belong to the profile that made it, so the deck files get none: a
push makes the notes in the user's own Anki. The package's other note types are
declared in the folder's ankiops.toml (share.copy_declarations: checked in a
temporary copy first): its own with their cards and CSS as files, Anki's stock ones
mapped; a stock name with other fields is counted and skipped, with why.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ankiops_git import archive, deckfile, export, media, share
from ankiops_git.anki.base import Backend, CardState, due_in_days
from ankiops_git.config import load as load_config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import (
    BUILTIN,
    BY_ANKI_NAME,
    CLOZE,
    INPUT,
    NOTE_TYPES,
    QA,
    REVERSED,
    NoteTypes,
)

Progress = Callable[[int, int], None]

GUID_PREFIX = "ao"


class PackageError(AnkiOpsError):
    """An Anki package that cannot be written or read."""


def note_guid(deck: str, note: Note, occurrence: int = 0, types: NoteTypes = BUILTIN) -> str:
    """A note's GUID in packages: the same for the same note in every export.

    With a note id: from the id alone (edits, moves and renames keep it). Without one
    (a note never synced with Anki): from its deck, note type and first non-empty
    field's Markdown, and which such note it is (`occurrence`, counted from 0 among
    notes alike in those), so editing that field makes it another note for Anki.
    """
    if note.note_id is not None:
        key = f"note_id\x1f{note.note_id}"
    else:
        first = next(
            (
                note.fields[n]
                for n in types.by_key[note.note_type].field_names
                if note.fields.get(n)
            ),
            "",
        )
        key = f"new\x1f{deck}\x1f{note.note_type}\x1f{first}\x1f{occurrence}"
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return GUID_PREFIX + base64.b64encode(digest, b"-_").decode("ascii")[:14]


@dataclass
class Exported:
    decks: int = 0
    notes: int = 0
    media: int = 0
    missing: list[str] = field(default_factory=list)  # media the notes show, media/ lacks
    scheduled: int = 0  # cards given their scheduling and history (`states`)
    reviews: int = 0  # review history rows carried
    undated: int = 0  # of those, cards whose due day Anki did not tell (due today)
    unmatched: int = 0  # cards Anki has that the files' notes no longer make
    presets: int = 0  # deck options presets carried


def export_apkg(
    root: Path,
    out: Path,
    decks: Iterable[str] = (),
    progress: Progress | None = None,
    anki: Backend | None = None,
) -> Exported:
    """The package of the repository at `root` (its decks `decks` and their subdecks,
    all if none) written to `out`. With `anki` (the user's Anki), the notes that have
    a note id carry their cards' scheduling and review history (`_schedule`), and the
    decks their options presets (`_presets`); Anki's importer, asked to import learning
    progress and deck presets, keeps them."""
    from anki.collection import AddNoteRequest, ExportAnkiPackageOptions, NoteIdsLimit
    from anki.decks import DeckId

    from ankiops_git.anki.collection import CollectionBackend

    types = load_config(root).note_types
    found = share.read_decks(root)
    names = share.select_decks(found, decks)
    result = Exported(decks=len(names))
    total = sum(len(found[n].notes) for n in names)
    with tempfile.TemporaryDirectory(prefix="ankiops-apkg-") as tmp:
        col_path = Path(tmp) / "collection.anki2"
        with CollectionBackend(col_path, create=True, note_types=types) as backend:
            try:
                backend.ensure_note_types()
            except AnkiOpsError as e:
                raise PackageError(
                    f"the repository's note types cannot be made in a new collection ({e}); "
                    f"nothing was written"
                ) from e
            _add_optional_fields(backend.col, types, [found[n] for n in names])
        _stable_note_type_ids(col_path, types)
        backend = CollectionBackend(col_path, note_types=types)
        try:
            col = backend.col
            models = {t.key: col.models.by_name(t.anki_name) for t in types.all}
            requests = []
            notes: list[Note] = []
            wanted_media: set[str] = set()
            deck_ids: dict[str, int] = {}
            for name in names:
                deck_id = deck_ids[name] = DeckId(backend.create_deck(name))
                seen: dict[tuple[str, str, str], int] = {}
                for note in found[name].notes:
                    model = models[note.note_type]
                    assert model is not None
                    anki_note = col.new_note(model)
                    for field_name, text in note.fields.items():
                        anki_note[field_name] = export.render(text)
                    anki_note.tags = list(note.tags)
                    first = next(iter(note.fields.values()), "")
                    key = (name, note.note_type, first)
                    anki_note.guid = note_guid(name, note, seen.get(key, 0), types)
                    seen[key] = seen.get(key, 0) + 1
                    requests.append(AddNoteRequest(note=anki_note, deck_id=deck_id))
                    notes.append(note)
                    wanted_media |= share.note_media(note)
                    if progress is not None and len(requests) % 200 == 0:
                        progress(len(requests), total)
            for name in sorted(wanted_media):
                path = root / media.MEDIA_DIR / name
                if path.is_symlink() or not path.is_file():
                    result.missing.append(name)
                    continue
                col.media.write_data(name, path.read_bytes())
                result.media += 1
            if requests:
                col.add_notes(requests)
            guids = [r.note.guid for r in requests]
            if len(set(guids)) != len(guids):
                raise PackageError("two notes would have the same GUID; nothing was written")
            result.notes = len(requests)
            if anki is not None:
                ids = {
                    n.note_id: int(r.note.id)
                    for n, r in zip(notes, requests, strict=True)
                    if n.note_id is not None
                }
                _schedule(col, ids, anki.card_states(sorted(ids)), result)
                result.presets = _presets(col, deck_ids, anki.deck_options(names))
            if progress is not None:
                progress(total, total)
            tmp_out = Path(tmp) / "out.apkg"
            col.export_anki_package(
                out_path=str(tmp_out),
                options=ExportAnkiPackageOptions(
                    with_scheduling=anki is not None,
                    with_deck_configs=anki is not None,
                    with_media=True,
                    legacy=False,
                ),
                limit=NoteIdsLimit([r.note.id for r in requests]),
            )
        except AnkiOpsError:
            raise
        except Exception as e:  # the anki package's own errors: one line, not a traceback
            raise PackageError(
                f"Anki could not build the package ({e}); nothing was written"
            ) from e
        finally:
            backend.close()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(out.name + ".partial")
            shutil.copyfile(tmp_out, partial)  # (made here: the user's umask, not Anki's 0600)
            partial.replace(out)
        except OSError as e:
            raise PackageError(f"cannot write {out}: {e.strerror or e}") from e
    return result


def _add_optional_fields(col: Any, types: NoteTypes, decks: list[Deck]) -> None:
    """Give the new collection's types the optional fields (AnkiOps' `AI:`, `D:`, ...)
    the exported notes fill, in the type's field order: a push makes a type without
    them, and a type without a field cannot hold its text. Other types keep their
    core fields only, as the importing Anki most likely has them."""
    from ankiops_git.push import optional_used

    used: dict[str, set[str]] = {}
    for deck in decks:
        for note in deck.notes:
            kind = types.by_key[note.note_type]
            used.setdefault(kind.key, set()).update(optional_used(note, kind))
    for key, names in used.items():
        if not names:
            continue
        kind = types.by_key[key]
        model = col.models.by_name(kind.anki_name)
        for name in names:
            col.models.add_field(model, col.models.new_field(name))
        wanted = [n for n in kind.field_names if n in kind.core_field_names or n in names]
        by_name = {f["name"]: f for f in model["flds"]}
        for index, name in enumerate(wanted):
            col.models.reposition_field(model, by_name[name], index)
        col.models.update_dict(model)


def _presets(col: Any, deck_ids: dict[str, int], options: dict[str, dict[str, Any]]) -> int:
    """Give the package's decks the options presets they have in the user's Anki, under
    the same ids, as Anki's own export does: Anki's importer adds a preset the profile
    lacks and keeps one it has (its Default, or one imported before); how many."""
    presets = {preset["id"]: preset for preset in options.values()}  # (decks share them)
    for preset in presets.values():
        col.decks.update_config(dict(preset))  # (an id it lacks: added under that id)
    for name, preset in options.items():
        deck = col.decks.get(deck_ids[name])
        deck["conf"] = preset["id"]
        col.decks.save(deck)
    return len(presets)


def _schedule(col: Any, ids: dict[int, int], states: Sequence[CardState], result: Exported) -> None:
    """Give the new collection's cards the scheduling and history their notes' cards
    have in the user's Anki (note id in the files -> note id here, card by ord).

    A day number is placed on this collection's calendar (Anki's importer moves it to
    the importing one's). The `anki` package writes cards (`update_cards`, FSRS memory
    state included) but has no call that adds review history, so the rows are inserted
    into this temporary collection's revlog as they are; Anki's exporter then writes
    them with the cards."""
    from anki.cards import FSRSMemoryState

    today = col.sched.today
    cards = {(c.nid, c.ord): c for nid in ids.values() for c in col.get_note(nid).cards()}
    changed = []
    for state in states:
        card = cards.get((ids.get(state.note_id, -1), state.ord))
        if card is None:
            result.unmatched += 1
            continue
        card.type, card.queue, card.ivl = state.ctype, state.queue, state.ivl
        card.due = (
            state.due + today if due_in_days(state.ctype, state.queue, state.due) else state.due
        )
        card.factor, card.reps, card.lapses = state.factor, state.reps, state.lapses
        card.left, card.flags, card.custom_data = state.left, state.flags, state.custom_data
        if state.memory is not None:
            card.memory_state = FSRSMemoryState(
                stability=state.memory[0], difficulty=state.memory[1]
            )
        changed.append(card)
        for review in state.reviews:
            col.db.execute(
                "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, "
                "time, type) values (?, ?, -1, ?, ?, ?, ?, ?, ?)",
                review[0],
                card.id,
                *review[1:],
            )
        result.reviews += len(state.reviews)
        result.undated += state.undated
    if changed:
        col.update_cards(changed)
    result.scheduled = len(changed)


def note_type_id(anki_name: str) -> int:
    """The id an AnkiOps note type has in every package: Anki's importer matches note
    types by id, and updates a note only when its note type is the same."""
    digest = hashlib.sha256(f"ankiops-git note type\x1f{anki_name}".encode()).digest()
    return 1_000_000_000_000 + int.from_bytes(digest[:5], "big")


def _stable_note_type_ids(path: Path, types: NoteTypes) -> None:
    """Give the repository's note types in the new, empty collection at `path` their
    `note_type_id`. The `anki` package has no call that sets a note type's id (Anki's
    own exporter keeps ids as the collection has them), so the three rows that carry
    it are renumbered in this temporary collection while it holds no note, before
    the collection is opened again; the package itself is Anki's export."""
    from ankiops_git.anki.collection import CollectionBackend

    with CollectionBackend(path) as backend:
        models = backend.col.models
        names = [t.anki_name for t in types.all]
        for name in names:  # field and template ids too: Anki compares them
            model = models.by_name(name)
            assert model is not None
            for kind in ("flds", "tmpls"):
                for index, part in enumerate(model[kind]):
                    part["id"] = note_type_id(f"{name}\x1f{kind}\x1f{index}")
            models.update_dict(model)
        db = backend.col.db
        assert db is not None
        for name in names:
            old = backend.col.models.id_for_name(name)
            new = note_type_id(name)
            for table, column in (("notetypes", "id"), ("fields", "ntid"), ("templates", "ntid")):
                db.execute(f"update {table} set {column} = ? where {column} = ?", new, old)


# --- import ------------------------------------------------------------------------------

# Anki's stock note types -> ours, with the index of each of our fields' source field
# (-1: none): Anki's "change note type" moves the fields.
STOCK = {
    "Basic": (QA.key, ("Front", "Back")),
    "Basic (and reversed card)": (REVERSED.key, ("Front", "Back")),
    "Basic (type in the answer)": (INPUT.key, ("Front", "Back")),
    "Cloze": (CLOZE.key, ("Text", "Back Extra")),
}


@dataclass
class Imported:
    decks: list[str] = field(default_factory=list)  # deck files written
    notes: int = 0
    media: int = 0  # media files written
    media_same: int = 0
    renamed: dict[str, str] = field(default_factory=dict)  # media name in package -> written
    skipped: dict[str, tuple[int, str]] = field(default_factory=dict)  # type -> notes, why
    declared: list[str] = field(default_factory=list)  # note types added to ankiops.toml
    refused: list[str] = field(default_factory=list)  # notes that cannot be deck file notes


def import_apkg(
    package: Path,
    directory: Path,
    overwrite: bool = False,
    max_bytes: int = archive.DEFAULT_MAX_MB * 1_000_000,
    progress: Progress | None = None,
) -> Imported:
    """Deck files and media/ in `directory` from the package (see the module docstring)."""
    import anki.errors
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.models import NotetypeId

    from ankiops_git.anki.collection import CollectionBackend

    with archive.open_checked(package, max_bytes, "Anki package") as zf:
        names = set(zf.namelist())
    if not names & {"collection.anki2", "collection.anki21", "collection.anki21b"}:
        raise PackageError(f"{package} is a ZIP but not an Anki package (no collection in it)")
    result = Imported()
    directory = directory.resolve()
    with tempfile.TemporaryDirectory(prefix="ankiops-apkg-") as tmp:
        backend = CollectionBackend(Path(tmp) / "collection.anki2", create=True)
        try:
            col = backend.col
            stock_fields = {
                entry.name: _field_names(col, entry.id) for entry in col.models.all_names_and_ids()
            }
            # Anki's stock types of the new collection go: the package's own come in
            # under their names (not "Basic+" beside ours).
            for entry in col.models.all_names_and_ids():
                col.models.remove(NotetypeId(entry.id))
            for entry in col.models.all_names_and_ids():  # Anki keeps one: renamed away
                kept = col.models.get(NotetypeId(entry.id))
                assert kept is not None
                kept["name"] = f"ankiops-git placeholder {entry.id}"
                col.models.update_dict(kept)
            try:
                col.import_anki_package(
                    ImportAnkiPackageRequest(
                        package_path=str(package.resolve()),
                        options=ImportAnkiPackageOptions(
                            merge_notetypes=True, with_scheduling=False, with_deck_configs=False
                        ),
                    )
                )
            except anki.errors.AnkiException as e:
                raise PackageError(
                    f"{package} is not a package Anki can import ({e}); nothing was written"
                ) from e
            _to_ankiops_types(backend)
            decl_root = Path(tmp) / "declared"
            before = share.copy_declarations(directory, decl_root)
            types = _declare_types(backend, decl_root, stock_fields, result)
            declared = share.declaration_files(decl_root, before, directory)
            empty = export.Snapshot({}, {}, types=types)
            view = export.anki_view(backend, empty, None, progress)
            decks = export.export_decks(view, empty)
            shown = media.names_of_notes(
                (i, v.fields_html().values()) for i, v in view.notes.items()
            )
            media_dir = Path(col.media.dir())
            files = {
                name: (media_dir / name).read_bytes()
                for name in sorted(shown)
                if media.tree_name_ok(name) and (media_dir / name).is_file()
            }
        finally:
            backend.close()
    placed = share.place_media(files, directory)
    texts: dict[str, str] = {}
    for path, deck in sorted(decks.items()):
        keep: list[Note] = []
        for note in deck.notes:
            note.note_id = None  # the package maker's ids: not the user's Anki's
            note.fields = {
                k: share.rename_references(v, placed.renamed) for k, v in note.fields.items()
            }
            try:
                deckfile.write_note(note, types)
            except AnkiOpsError as e:
                result.refused.append(f"{deck.name}: {export.first_line(note)}: {e}")
                continue
            keep.append(note)
        texts[path] = deckfile.write(Deck(keep), types)
        result.notes += len(keep)
    existing = [p for p in texts if (directory / p).exists()]
    if existing and not overwrite:
        shown_paths = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise PackageError(
            f"{directory} already has {len(existing)} of these deck files ({shown_paths}); "
            f"nothing was written. Use --overwrite to replace them, or another --directory"
        )
    result.decks = sorted(texts)
    archive.write_all(directory, {**texts, **declared}, placed.to_write)
    result.media = len(placed.to_write)
    result.media_same = placed.same
    result.renamed = placed.renamed
    return result


def _to_ankiops_types(backend: object) -> None:
    """Give notes of Anki's stock types our types (Anki's own change of note type)."""
    from anki.models import NotetypeId

    col = backend.col  # type: ignore[attr-defined]
    present = {n.name: n.id for n in col.models.all_names_and_ids()}
    try:
        backend.ensure_note_types()  # type: ignore[attr-defined]
    except AnkiOpsError as e:
        raise PackageError(f"the package's AnkiOps note types differ from ours: {e}") from e
    for name, model_id in sorted(present.items()):
        if name in BY_ANKI_NAME:
            continue
        note_ids = list(col.models.nids(model_id))
        if not note_ids:
            continue
        fields = _field_names(col, model_id)
        target = STOCK.get(name)
        if target is None or fields != list(target[1]):
            continue  # declared as it is (_declare_types), or skipped there
        ours = col.models.by_name(NOTE_TYPES[target[0]].anki_name)
        info = col.models.change_notetype_info(
            old_notetype_id=NotetypeId(model_id), new_notetype_id=NotetypeId(ours["id"])
        )
        request = info.input
        request.note_ids.extend(note_ids)
        del request.new_fields[:]
        request.new_fields.extend(
            [fields.index(f) if f in fields else -1 for f in _sources(target[0])]
        )
        col.models.change_notetype_of_notes(request)


def _field_names(col: Any, model_id: int) -> list[str]:
    from anki.models import NotetypeId

    model = col.models.get(NotetypeId(model_id))
    return [f["name"] for f in model["flds"]] if model is not None else []


def _declare_types(
    backend: Any, root: Path, stock_fields: dict[str, list[str]], result: Imported
) -> NoteTypes:
    """Declare in `root`'s ankiops.toml each note type of the package (with notes) that
    the repository does not know: with its templates and CSS as files, or for one of
    Anki's stock types with its stock fields, mapped (the user's Anki has it). A stock
    name with other fields, or a type that cannot be declared, is skipped with why.
    The note types of `root` then, also given to `backend` (whose notes it reads)."""
    from anki.models import NotetypeId

    from ankiops_git import config as config_mod
    from ankiops_git import notetypes_config

    col = backend.col
    known = config_mod.load(root).note_types
    for entry in sorted(col.models.all_names_and_ids(), key=lambda e: e.name):
        count = len(col.models.nids(NotetypeId(entry.id)))
        if not count or entry.name in known.by_anki_name:
            continue
        fields = _field_names(col, entry.id)
        stock = stock_fields.get(entry.name)
        if stock is not None and fields != stock:
            result.skipped[entry.name] = (
                count,
                f"Anki's stock type with other fields ({', '.join(fields)}): mapping it "
                f"would not fit your Anki's {entry.name!r}",
            )
            continue
        try:
            notetypes_config.import_note_type(root, backend, entry.name, stock is None)
        except AnkiOpsError as e:
            result.skipped[entry.name] = (count, str(e).removesuffix("; nothing was written."))
            continue
        result.declared.append(entry.name)
    types = config_mod.load(root).note_types
    backend.note_types = types
    return types


def _sources(key: str) -> list[str]:
    """For each field of our type `key`, the stock field it takes ("" for none)."""
    if key == CLOZE.key:
        return ["Text", "Back Extra", ""]
    return ["Front", "Back", "", ""]  # QA, Reversed and Input: Question/Front, Answer/Back/Input
