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
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ankiops_git import archive, deckfile, media
from ankiops_git.config import CONFIG_NAME
from ankiops_git.config import load as load_config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteType, NoteTypes

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
    config = load_config(root)
    for path in deckfile.deck_files(root, config):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name, config.note_types)
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
    types = load_config(root).note_types
    found = read_decks(root)
    out_decks = []
    used: set[str] = set()
    for name in select_decks(found, decks, subdecks):
        deck = found[name]
        entry: dict[str, Any] = {"name": name}
        if ids and deck.deck_id is not None:
            entry["deck_id"] = deck.deck_id
        entry["notes"] = [note_entry(n, ids, types) for n in deck.notes]
        used |= {n.note_type for n in deck.notes}
        out_decks.append(entry)
    doc: dict[str, Any] = {"schema": SCHEMA, "version": VERSION}
    declared = [type_entry(t) for t in types.declared if t.key in used]
    if declared:
        doc["note_types"] = declared
    doc["decks"] = out_decks
    return doc


def note_entry(note: Note, ids: bool, types: NoteTypes = BUILTIN) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if ids and note.note_id is not None:
        entry["note_id"] = note.note_id
    entry["note_type"] = note.note_type
    entry["tags"] = list(note.tags)
    note_type = types.by_key[note.note_type]
    entry["fields"] = {n: note.fields[n] for n in note_type.field_names if note.fields.get(n)}
    return entry


def type_entry(note_type: NoteType) -> dict[str, Any]:
    """A declared note type in the document: as ankiops.toml declares it, with its
    cards and CSS (none for a type mapped onto one Anki has)."""
    entry: dict[str, Any] = {
        "name": note_type.key,
        "anki_name": note_type.anki_name,
        "fields": [list(pair) for pair in note_type.fields],
        "identifying": list(note_type.identifying),
        "required": list(note_type.required),
        "cloze": note_type.is_cloze,
    }
    if note_type.origin == "declared":
        entry["cards"] = [
            {"name": name, "front": front, "back": back}
            for name, front, back in note_type.card_templates
        ]
        entry["css"] = note_type.css
    return entry


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def doc_media(doc: dict[str, Any], types: NoteTypes = BUILTIN) -> set[str]:
    return {
        name for _, deck in parse_doc(doc, "", types) for n in deck.notes for name in note_media(n)
    }


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
    names = sorted(doc_media(doc, load_config(root).note_types))
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


def parse_doc(
    doc: Any, where: str, types: NoteTypes = BUILTIN, keys: dict[str, str] | None = None
) -> list[tuple[str, Deck]]:
    """(deck name, Deck) for each deck of a document, every part checked. `types`: the
    note types its notes may have; `keys`: the document's name of a declared type -> its
    name in `types`, where they differ."""
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
        deck = Deck(
            [_parse_note(n, f"{at}, note {i}", types, keys or {}) for i, n in enumerate(notes, 1)],
            deck_id,
        )
        deck.name = name
        try:  # what deserialize writes must read back as the same notes
            back = deckfile.parse(deckfile.write(deck, types), "", types)
        except AnkiOpsError as e:
            raise _bad(at, f"cannot be written as a deck file ({e})") from e
        if back.notes != deck.notes:
            raise _bad(at, "its notes would not read back the same from a deck file")
        out.append((name, deck))
    return out


def _parse_note(entry: Any, at: str, types: NoteTypes, keys: dict[str, str]) -> Note:
    if not isinstance(entry, dict):
        raise _bad(at, "a note must be an object")
    key = entry.get("note_type")
    key = keys.get(key, key) if isinstance(key, str) else key
    if key not in types.by_key:
        raise _bad(at, f"note type {key!r} is not one of {', '.join(types.by_key)}")
    fields = entry.get("fields", {})
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
    ):
        raise _bad(at, '"fields" must map field names to text')
    unknown = sorted(set(fields) - set(types.by_key[key].field_names))
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
    declared: list[str] = field(default_factory=list)  # note types added to ankiops.toml


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


# --- note types a document or package brings: declared in ankiops.toml ---------------


def copy_declarations(directory: Path, root: Path) -> dict[str, bytes]:
    """Copy `directory`'s ankiops.toml and the template folders its note types use into
    `root`, where new declarations are added and checked before anything is written
    into `directory`; the files copied, path -> bytes."""
    root.mkdir(parents=True)
    copied: dict[str, bytes] = {}
    source = directory / CONFIG_NAME
    if source.is_file():
        copied[CONFIG_NAME] = source.read_bytes()
        for note_type in load_config(directory).note_types.declared:
            folder = directory / note_type.templates_dir
            if note_type.templates_dir and folder.is_dir():
                for file in sorted(folder.iterdir()):
                    if file.is_file():
                        copied[f"{note_type.templates_dir}/{file.name}"] = file.read_bytes()
    for rel, data in copied.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return copied


def declaration_files(root: Path, before: dict[str, bytes], directory: Path) -> dict[str, str]:
    """The files declaring note types in `root` added or changed since `before` (path
    -> text), to be written into `directory`; a new one `directory` has is an error."""
    out: dict[str, str] = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        data = file.read_bytes()
        if before.get(rel) == data:
            continue
        if rel not in before and (directory / rel).exists():
            raise ShareError(
                f"{directory / rel} exists already, and the note types coming in would "
                f"write it; nothing was written. Move it away, or use another --directory"
            )
        out[rel] = data.decode("utf-8")
    return out


def _declare_doc_types(
    doc: Any, root: Path, where: str
) -> tuple[NoteTypes, dict[str, str], list[str]]:
    """Declare the document's note types in `root`'s ankiops.toml (with their cards and
    CSS in note-types/KEY/) unless it has them (by Anki name, with the same fields). The
    note types then, the document's name of each -> its name there, and the Anki names
    of those declared now."""
    from ankiops_git import notetypes_config
    from ankiops_git.anki.templates import CardTemplate

    entries = doc.get("note_types", []) if isinstance(doc, dict) else []
    if not isinstance(entries, list):
        raise _bad(where, '"note_types" must be a list')
    known = load_config(root).note_types
    keys: dict[str, str] = {}
    new: list[str] = []
    for index, entry in enumerate(entries, 1):
        at = f"{where}: note type {index}"
        spec = _type_spec(entry, at)
        name, anki_name, fields = spec["name"], spec["anki_name"], spec["fields"]
        have = known.by_anki_name.get(anki_name)
        if have is not None:
            if list(have.fields) != fields:
                raise _bad(
                    at,
                    f"{anki_name!r} is declared here with other fields or prefixes "
                    f"({', '.join(p + ':' for p, _ in have.fields)}); make them the same, "
                    f"or rename one",
                )
            keys[name] = have.key
            continue
        key = notetypes_config.key_for(name, set(known.by_key) | set(keys.values()))
        cards = spec.get("cards")
        folder = f"note-types/{key}" if cards is not None else None
        text = notetypes_config.declaration(
            key, anki_name, fields, spec["cloze"], folder, [c["name"] for c in cards or []]
        )
        text += f"identifying = {_toml_list(spec['identifying'])}\n"
        text += f"required = {_toml_list(spec['required'])}\n"
        if folder is not None:
            (root / folder).mkdir(parents=True, exist_ok=True)
            templates = [CardTemplate(c["name"], c["front"], c["back"]) for c in cards or []]
            for rel, content in notetypes_config.card_files(folder, templates, spec["css"]).items():
                (root / rel).write_text(content, encoding="utf-8")
        config_path = root / CONFIG_NAME
        head = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        config_path.write_text(notetypes_config.with_table(head, text), encoding="utf-8")
        keys[name] = key
        new.append(anki_name)
    try:
        types = load_config(root).note_types
    except AnkiOpsError as e:
        raise _bad(where, f"its note types cannot be declared ({e})") from e
    return types, keys, sorted(new)


def _toml_list(values: list[str]) -> str:
    from ankiops_git.notetypes_config import toml_str

    return "[" + ", ".join(toml_str(v) for v in values) + "]"


def _type_spec(entry: Any, at: str) -> dict[str, Any]:
    """A document's note type entry, its shape checked (the declaration's rules are
    config.py's, applied when it is read back)."""

    def texts(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    if not isinstance(entry, dict):
        raise _bad(at, "a note type must be an object")
    for name in ("name", "anki_name"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise _bad(at, f'"{name}" must be a name')
    fields = entry.get("fields")
    if (
        not isinstance(fields, list)
        or not fields
        or not all(texts(f) and len(f) == 2 for f in fields)
    ):
        raise _bad(at, '"fields" must be a list of [prefix, field name] pairs')
    for name in ("identifying", "required"):
        if not texts(entry.get(name, [])):
            raise _bad(at, f'"{name}" must be a list of prefixes')
    cards = entry.get("cards")
    if cards is not None and (
        not isinstance(cards, list)
        or not cards
        or not all(
            isinstance(c, dict)
            and all(isinstance(c.get(k), str) for k in ("name", "front", "back"))
            and c["name"]
            and "/" not in c["name"]
            and "\\" not in c["name"]
            and not c["name"].startswith(".")
            for c in cards
        )
        or not isinstance(entry.get("css", ""), str)
    ):
        raise _bad(at, '"cards" must be a list of {"name", "front", "back"}, each a file name')
    return {
        "name": entry["name"],
        "anki_name": entry["anki_name"],
        "fields": [(p, n) for p, n in fields],
        "identifying": list(entry.get("identifying", [])),
        "required": list(entry.get("required", [])),
        "cloze": bool(entry.get("cloze", False)),
        "cards": cards,
        "css": entry.get("css", ""),
    }


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
    directory = directory.resolve()
    with tempfile.TemporaryDirectory(prefix="ankiops-share-") as tmp:
        root = Path(tmp) / "declared"
        before = copy_declarations(directory, root)
        types, keys, new = _declare_doc_types(doc, root, str(path))
        declared = declaration_files(root, before, directory)
    decks = parse_doc(doc, str(path), types, keys)
    result = Deserialized(declared=new)
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
        texts[paths[name]] = deckfile.write(deck, types)
        result.notes += len(deck.notes)
    result.decks = sorted(texts)
    archive.write_all(directory, {**texts, **declared}, to_write)
    result.media_new = len(to_write)
    return result
