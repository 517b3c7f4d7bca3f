"""Sharing deck files: a portable JSON document (a ZIP with the media), both ways.

`serialize` reads a repository's deck files (the working tree) into the document
docs/sharing.md describes (schema "ankiops-git/share", version 1): deck names, note
types, Markdown fields and tags, and unless left out the ids, which belong to one
Anki profile. `write_archive` adds the media files the notes show (media/...) and
puts it all in a ZIP. `deserialize` writes such a document (or ZIP) into a folder
as deck files and media/: everything is checked, and made in a temporary folder,
before anything is moved into place; a deck file that exists is replaced only with
`overwrite`. A media file whose name the folder holds with other bytes is renamed
(`x-<hash>.png`) and the notes' references follow; the same bytes are the same file.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ankiops_git import archive, deckfile, media
from ankiops_git.config import load as load_config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import NOTE_TYPES

SCHEMA = "ankiops-git/share"
VERSION = 1
JSON_NAME = "decks.json"  # the document inside a ZIP; media files beside it in media/
MEDIA_PREFIX = media.MEDIA_DIR + "/"


class ShareError(AnkiOpsError):
    """A shared document that cannot be read or written."""


# --- reading the repository ---------------------------------------------------------


def read_decks(root: Path) -> dict[str, Deck]:
    """Deck name -> Deck, for the deck files in `root` (the working tree)."""
    out: dict[str, Deck] = {}
    for path in deckfile.deck_files(root, load_config(root)):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
        out[deckfile.deck_name_for_path(path)] = deck
    return out


def select_decks(names: Iterable[str], wanted: Iterable[str], subdecks: bool = True) -> list[str]:
    """The deck names among `names` that `wanted` asks for (all if none), with their
    subdecks unless `subdecks` is False; sorted. An unknown name is an error."""
    names = sorted(names)
    wanted = list(wanted)
    if not wanted:
        return names
    out: set[str] = set()
    for want in wanted:
        found = [n for n in names if n == want or (subdecks and n.startswith(want + "::"))]
        if not found:
            listing = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise ShareError(
                f"no deck {want!r} in the repository (decks: {listing or 'none'}); "
                f"a deck is named as in Anki, e.g. Spanish::Verbs"
            )
        out |= set(found)
    return sorted(out)


def media_name(target: str) -> str | None:
    """The file name in media/ a Markdown media reference stands for, if it is one."""
    if not target.startswith(MEDIA_PREFIX):
        return None
    name = target[len(MEDIA_PREFIX) :]
    return name if media.tree_name_ok(name) and "\\" not in name else None


def note_media(note: Note) -> set[str]:
    """The media/ file names a note's fields show."""
    return {
        name
        for text in note.fields.values()
        for _, target in media.markdown_targets(text)
        if (name := media_name(target)) is not None
    }


# --- the document ----------------------------------------------------------------------


def serialize(
    root: Path, decks: Iterable[str] = (), subdecks: bool = True, ids: bool = True
) -> dict[str, Any]:
    """The document for the repository at `root` (see the module docstring)."""
    found = read_decks(root)
    out_decks = []
    for name in select_decks(found, decks, subdecks):
        deck = found[name]
        entry: dict[str, Any] = {"name": name}
        if ids and deck.deck_id is not None:
            entry["deck_id"] = deck.deck_id
        entry["notes"] = [note_entry(n, ids) for n in deck.notes]
        out_decks.append(entry)
    return {"schema": SCHEMA, "version": VERSION, "decks": out_decks}


def note_entry(note: Note, ids: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if ids and note.note_id is not None:
        entry["note_id"] = note.note_id
    entry["note_type"] = note.note_type
    entry["tags"] = list(note.tags)
    note_type = NOTE_TYPES[note.note_type]
    entry["fields"] = {n: note.fields[n] for n in note_type.field_names if note.fields.get(n)}
    return entry


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def doc_media(doc: dict[str, Any]) -> set[str]:
    return {name for _, deck in parse_doc(doc, "") for n in deck.notes for name in note_media(n)}


@dataclass
class Written:
    decks: int = 0
    notes: int = 0
    media: int = 0
    missing: list[str] = field(default_factory=list)  # media the notes show that media/ lacks


def count(doc: dict[str, Any]) -> Written:
    return Written(len(doc["decks"]), sum(len(d["notes"]) for d in doc["decks"]))


def write_archive(root: Path, doc: dict[str, Any], out: Path) -> Written:
    """`doc` and the media files its notes show (from root/media) as a ZIP at `out`."""
    result = count(doc)
    names = sorted(doc_media(doc))
    tmp = out.with_name(out.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(JSON_NAME, dumps(doc))
            for name in names:
                path = root / media.MEDIA_DIR / name
                if path.is_symlink() or not path.is_file():
                    result.missing.append(name)
                    continue
                zf.write(path, MEDIA_PREFIX + name)
                result.media += 1
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ShareError(f"cannot write {out}: {e.strerror or e}") from e
    return result


# --- reading a document ------------------------------------------------------------------


def _bad(where: str, what: str) -> ShareError:
    return ShareError(f"{where}: {what}; nothing was written")


def parse_doc(doc: Any, where: str) -> list[tuple[str, Deck]]:
    """(deck name, Deck) for each deck of a document, every part checked."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _bad(where, f'not an ankiops-git shared deck document (no "schema": {SCHEMA!r})')
    version = doc.get("version")
    if not isinstance(version, int) or version < 1:
        raise _bad(where, f"version {version!r} is not a version of {SCHEMA}")
    if version > VERSION:
        raise _bad(
            where,
            f"made by a newer ankiops-git ({SCHEMA} version {version}; this one reads up to "
            f"{VERSION}): update ankiops-git",
        )
    decks = doc.get("decks")
    if not isinstance(decks, list):
        raise _bad(where, '"decks" must be a list')
    out: list[tuple[str, Deck]] = []
    seen: set[str] = set()
    for d_index, entry in enumerate(decks, 1):
        at = f"{where}: deck {d_index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ShareError(f'{at}: a deck needs a "name" (text); nothing was written')
        name = entry["name"]
        at = f"{where}: deck {name!r}"
        if not name or any(not part for part in name.split("::")):
            raise _bad(at, "not a deck name")
        if name in seen:
            raise _bad(at, "appears twice")
        seen.add(name)
        if deckfile.file_name_too_long(name):
            raise _bad(at, "the name is too long for a file name")
        deck_id = entry.get("deck_id")
        if deck_id is not None and (not isinstance(deck_id, int) or deck_id < 0):
            raise _bad(at, f"deck_id {deck_id!r} is not a deck id")
        notes = entry.get("notes", [])
        if not isinstance(notes, list):
            raise _bad(at, '"notes" must be a list')
        deck = Deck([_parse_note(n, f"{at}, note {i}") for i, n in enumerate(notes, 1)], deck_id)
        deck.name = name
        try:  # what deserialize writes must read back as the same notes
            back = deckfile.parse(deckfile.write(deck))
        except AnkiOpsError as e:
            raise _bad(at, f"cannot be written as a deck file ({e})") from e
        if back.notes != deck.notes:
            raise _bad(at, "its notes would not read back the same from a deck file")
        out.append((name, deck))
    return out


def _parse_note(entry: Any, at: str) -> Note:
    if not isinstance(entry, dict):
        raise _bad(at, "a note must be an object")
    key = entry.get("note_type")
    if key not in NOTE_TYPES:
        raise _bad(at, f"note type {key!r} is not one of {', '.join(NOTE_TYPES)}")
    fields = entry.get("fields", {})
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
    ):
        raise _bad(at, '"fields" must map field names to text')
    unknown = sorted(set(fields) - set(NOTE_TYPES[key].field_names))
    if unknown:
        raise _bad(at, f"{', '.join(unknown)} not a field of {key}")
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _bad(at, '"tags" must be a list of text')
    note_id = entry.get("note_id")
    if note_id is not None and (not isinstance(note_id, int) or note_id < 0):
        raise _bad(at, f"note_id {note_id!r} is not a note id")
    kept = {k: deckfile.normalize_field(v) for k, v in fields.items()}
    return Note(key, {k: v for k, v in kept.items() if v}, note_id, list(tags))


@dataclass
class Deserialized:
    decks: list[str] = field(default_factory=list)  # deck files written
    notes: int = 0
    media_new: int = 0  # media files written
    media_same: int = 0  # the folder had them with the same bytes
    renamed: dict[str, str] = field(default_factory=dict)  # name in archive -> name written


def _load(path: Path, max_bytes: int) -> tuple[Any, dict[str, bytes]]:
    """(document, media name -> bytes) from a JSON file or a ZIP."""
    try:
        is_zip = zipfile.is_zipfile(path)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ShareError(f"{path}: no such file") from None
    except OSError as e:
        raise ShareError(f"cannot read {path}: {e.strerror or e}") from e
    files: dict[str, bytes] = {}
    if is_zip:
        with archive.open_checked(path, max_bytes, "shared deck archive") as zf:
            raw = archive.read_entry(zf, JSON_NAME, path, "shared deck archive")
            for info in zf.infolist():
                if info.is_dir() or info.filename == JSON_NAME:
                    continue
                name = media_name(info.filename)
                if name is None:
                    raise ShareError(
                        f"{path}: entry {info.filename!r} is neither {JSON_NAME} nor a file in "
                        f"{MEDIA_PREFIX}; nothing was written"
                    )
                files[name] = archive.read_entry(zf, info.filename, path)
    else:
        if size > max_bytes:
            raise ShareError(
                f"{path} is {size / 1e6:.1f} MB, more than the limit of {max_bytes / 1e6:g} MB; "
                f"nothing was written (raise it with --max-mb)"
            )
        raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8")), files
    except (UnicodeDecodeError, ValueError) as e:
        raise ShareError(f"{path} is not valid JSON ({e}); nothing was written") from e


def _renamed(name: str, data: bytes, taken: set[str], media_dir: Path) -> str:
    """A new name for `data`, whose name `name` is taken by other bytes: `x-<hash>.png`,
    or a longer hash if that is taken by other bytes too."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    digest = hashlib.sha256(data).hexdigest()
    for length in (8, 16, 64):
        new = f"{stem}-{digest[:length]}" + (f".{ext}" if ext else "")
        there = media_dir / new
        if new not in taken or (there.is_file() and there.read_bytes() == data):
            return new
    raise ShareError(f"cannot find a free name for media file {name!r}")  # pragma: no cover


def rename_references(text: str, renamed: dict[str, str]) -> str:
    """A field's Markdown with its media/ references renamed (old name -> new)."""
    if not renamed:
        return text
    out = text
    for offset, target in reversed(media.markdown_targets(text)):
        name = media_name(target)
        if name is None or name not in renamed:
            continue
        at = out.find(target, offset)
        if at >= 0:
            out = out[:at] + MEDIA_PREFIX + renamed[name] + out[at + len(target) :]
    return out


@dataclass
class PlacedMedia:
    to_write: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, new in media/
    renamed: dict[str, str] = field(default_factory=dict)  # name given -> name written
    same: int = 0  # media/ had them with the same bytes


def place_media(files: dict[str, bytes], directory: Path) -> PlacedMedia:
    """Where media files coming in (name -> bytes) go in `directory`'s media/: the same
    bytes are the same file; other bytes under a taken name get a new name
    (`x-<hash>.png`, see `renamed`, for rename_references). A symbolic link there is
    refused (ShareError), never written through."""
    media_dir = directory / media.MEDIA_DIR
    taken = {p.name for p in media_dir.iterdir()} if media_dir.is_dir() else set()
    taken |= set(files)
    out = PlacedMedia()
    for name, data in sorted(files.items()):
        existing = media_dir / name
        if existing.is_symlink():
            raise ShareError(
                f"{existing} is a symbolic link; the incoming {name} is not written over it; "
                f"nothing was written"
            )
        if not existing.exists():
            out.to_write[name] = data
        elif existing.is_file() and existing.read_bytes() == data:
            out.same += 1
        else:
            new = _renamed(name, data, taken, media_dir)
            taken.add(new)
            out.renamed[name] = new
            target = media_dir / new
            if target.is_file() and target.read_bytes() == data:
                out.same += 1
            else:
                out.to_write[new] = data
    return out


def deserialize(
    path: Path,
    directory: Path,
    overwrite: bool = False,
    max_bytes: int = archive.DEFAULT_MAX_MB * 1_000_000,
) -> Deserialized:
    """Write the document (or ZIP) at `path` into `directory` (see the module docstring)."""
    doc, files = _load(path, max_bytes)
    decks = parse_doc(doc, str(path))
    directory = directory.resolve()
    result = Deserialized()
    placed = place_media(files, directory)
    result.media_same, result.renamed = placed.same, placed.renamed
    to_write = placed.to_write
    # Deck files: never one written over without `overwrite`.
    paths = {name: deckfile.filename_for_deck(name) for name, _ in decks}
    existing_decks = [p for p in paths.values() if (directory / p).exists()]
    if existing_decks and not overwrite:
        shown = ", ".join(existing_decks[:5]) + (" ..." if len(existing_decks) > 5 else "")
        raise ShareError(
            f"{directory} already has {len(existing_decks)} of these deck files ({shown}); "
            f"nothing was written. Use --overwrite to replace them, or another --directory"
        )
    texts: dict[str, str] = {}
    for name, deck in decks:
        for note in deck.notes:
            note.fields = {k: rename_references(v, result.renamed) for k, v in note.fields.items()}
        texts[paths[name]] = deckfile.write(deck)
        result.notes += len(deck.notes)
    archive.write_all(directory, texts, to_write)
    result.decks = sorted(texts)
    result.media_new = len(to_write)
    return result
