"""Anki -> tree of deck files: deterministic and incremental.

Two steps. `anki_view` reads Anki's managed notes as Markdown notes, relative to a
reference snapshot (the last synced tree): notes whose modification time is unchanged
since that snapshot are taken from it as they are; only the others are read and
converted, and a field whose HTML still equals what the reference Markdown renders to
keeps that Markdown byte for byte. `export_files` lays the view out as deck files:
order follows the reference, new notes are appended sorted by id, unchanged decks
keep their blobs.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git import deckfile, gitstore, syncstate
from ankiops_git.anki.base import AnkiNote, Backend
from ankiops_git.config import CONFIG_NAME, Config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.gitstore import Files
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteTypes
from ankiops_git.syncstate import SyncState

Progress = Callable[[int, int], None]  # (done, total)


# --- conversion, cached (the same Markdown renders many times in one run) --------------


@functools.lru_cache(maxsize=65536)
def render(markdown: str, ankiops: bool = False) -> str:
    """A field's HTML; `ankiops`: with AnkiOps' inline Markdown (Config.ankiops_markdown)."""
    from ankiops_git.convert import md_to_html

    return md_to_html(markdown, ankiops)


def html_same(a: str, b: str) -> bool:
    if a == b:
        return True  # without loading the HTML parser: most fields of a sync
    from ankiops_git.convert import html_equal

    return html_equal(a, b)


def to_markdown(html: str, ankiops: bool = False, latex: bool = False) -> str:
    from ankiops_git.convert import html_to_md

    return html_to_md(html, ankiops, latex)


def field_markdown(
    html: str,
    reference: str | None,
    ankiops: bool = False,
    types: NoteTypes = BUILTIN,
    latex: bool = False,
) -> str:
    """The Markdown for a field: the reference text if it still renders to `html`, or
    with `ankiops` (a repository adopted from AnkiOps) if `html` is what it means as
    AnkiOps renders it (convert.ankiops.same_meaning: AnkiOps' own HTML stays as it is).
    `latex`: the field is LaTeX source in its card (NoteType.latex_fields)."""
    if reference is not None:
        if html_same(render(reference, ankiops), html):
            return reference
        if ankiops and _same_meaning(reference, html):
            return reference
    if not html.strip():
        return ""
    return escape_prefixes(to_markdown(html, ankiops, latex), types)


def escape_prefixes(markdown: str, types: NoteTypes) -> str:
    """A line of `markdown` that starts with a declared type's prefix (`W: `) escaped as
    `W\\: ` (Markdown shows it alike), or, where the field is HTML kept as HTML, led by a
    space, so it stays text in a deck file: the converter escapes the built-in prefixes
    itself."""
    if types.extra_prefix_re is None:
        return markdown
    lines = markdown.split("\n")
    spaced = list(lines)
    for index, kind in deckfile.structure_in(markdown, types.extra_prefix_re):
        match = types.extra_prefix_re.match(lines[index]) if kind == "prefix" else None
        if match:
            lines[index] = lines[index][: len(match[1])] + "\\" + lines[index][len(match[1]) :]
            spaced[index] = " " + spaced[index]
    escaped = "\n".join(lines)
    if escaped == markdown or html_same(render(escaped), render(markdown)):
        return escaped
    return "\n".join(spaced)  # (in HTML kept as HTML a "\\" shows, a leading space not)


def _same_meaning(markdown: str, html: str) -> bool:
    from ankiops_git.convert.ankiops import same_meaning

    return same_meaning(markdown, html)


@functools.lru_cache(maxsize=65536)
def canonical(html: str) -> str:
    from ankiops_git.convert import canonical_html

    return canonical_html(html)


ContentKey = tuple[str, tuple[tuple[str, str], ...]]


def content_key(note_type_key: str, html_fields: dict[str, str]) -> ContentKey:
    """Equal keys <=> same note type and every field html_equal: for matching by content
    with a dict lookup instead of comparing every pair."""
    fields = ((n, canonical(h)) for n, h in html_fields.items())
    return note_type_key, tuple(sorted((n, c) for n, c in fields if c))


def markdown_key(note: Note, ankiops: bool = False) -> ContentKey:
    return content_key(note.note_type, {n: render(t, ankiops) for n, t in note.fields.items()})


# --- snapshots: a tree's deck files, parsed ---------------------------------------------


@dataclass
class Snapshot:
    files: Files  # every blob of the tree
    decks: dict[str, Deck]  # deck file path -> parsed deck
    tree: pygit2.Oid | None = None  # the tree itself, when known: a new tree is built on it
    types: NoteTypes = BUILTIN  # the note types its deck files were read with

    def deck_name(self, path: str, anki_names: dict[int, str]) -> str:
        """The Anki deck a file stands for: by its deck_id if Anki has it, else its name."""
        deck_id = self.decks[path].deck_id
        if deck_id is not None and deck_id in anki_names:
            return anki_names[deck_id]
        return deckfile.deck_name_for_path(path)

    def notes_by_id(self) -> dict[int, tuple[str, int, Note]]:
        """note id -> (path, index in file, note)."""
        out: dict[int, tuple[str, int, Note]] = {}
        for path, deck in self.decks.items():
            for index, note in enumerate(deck.notes):
                if note.note_id is not None:
                    out[note.note_id] = (path, index, note)
        return out


EMPTY = Snapshot({}, {})


# (blob id, path) -> parsed deck: a blob is parsed once per process, however many
# snapshots hold it (a push reads base and target, which share all but a few blobs).
# Parsed decks are shared between snapshots, so nothing may modify them in place.
_PARSED: dict[tuple[str, str, str], Deck] = {}


def parse_blob(
    repo: pygit2.Repository, oid: pygit2.Oid, path: str, types: NoteTypes = BUILTIN
) -> Deck:
    key = (str(oid), path, types.token)
    deck = _PARSED.get(key)
    if deck is None:
        deck = _PARSED[key] = deckfile.parse(gitstore.blob_text(repo, oid), path, types)
    return deck


def read_snapshot(repo: pygit2.Repository, tree: pygit2.Tree | None, config: Config) -> Snapshot:
    files = gitstore.tree_files(repo, tree)
    types = config.note_types
    decks = {
        path: parse_blob(repo, oid, path, types)
        for path, (oid, _) in files.items()
        if deckfile.is_deck_path(path, config)
    }
    return Snapshot(files, decks, types=types)


def snapshot_of_commit(repo: pygit2.Repository, oid: pygit2.Oid | None, config: Config) -> Snapshot:
    if oid is None:
        return EMPTY
    return read_snapshot(repo, gitstore.commit_of(repo, oid).tree, config)


def snapshot_of_workdir(root: Path, config: Config) -> Snapshot:
    """The deck files in a folder (for init in a folder coming from AnkiOps)."""
    decks = {
        p.name: deckfile.parse(p.read_text(encoding="utf-8"), p.name, config.note_types)
        for p in deckfile.deck_files(root, config)
    }
    return Snapshot({}, decks, types=config.note_types)


# --- export state: mod times seen at the last sync --------------------------------------


@dataclass
class AnkiRead:
    """What a sync reads of Anki first, cheaply (no fields)."""

    decks: dict[str, int]  # name -> id
    taken: int  # the second just before the mod times were read
    mods: dict[int, int]
    note_decks: dict[int, str]
    # The notes read (those of some decks, see read_decks); None: every managed note.
    covers: set[int] | None = None


def read_anki(backend: Backend) -> AnkiRead:
    decks = backend.decks()
    taken = int(time.time())
    mods = backend.mod_times()
    return AnkiRead(decks, taken, mods, backend.note_decks(mods))


def save_state(
    repo: pygit2.Repository,
    commit: pygit2.Oid | str,
    mods: dict[int, int],
    taken: int,
    decks: dict[str, int] | None = None,
    note_decks: dict[int, str] | None = None,
    dirty: Iterable[str] = (),
) -> SyncState:
    """Remember Anki's mod times as read at second `taken` (read just before them).

    An edit after the read moves a note's mod time to `taken` or later, so notes with
    an older mod time are known unchanged while it stays; those at `taken` or later
    are read again next time. `decks`, `note_decks`, `dirty`: see SyncState.
    """
    if decks is None or note_decks is None:
        decks = note_decks = None
    state = SyncState(str(commit), mods, taken, decks, note_decks, sorted(set(dirty)))
    syncstate.save(repo, state)
    return state


def save_read(
    repo: pygit2.Repository,
    commit: pygit2.Oid | str,
    read: AnkiRead,
    state: SyncState | None,
    dirty: Iterable[str] = (),
) -> SyncState:
    """The state for `commit` after `read`: as read if it covers every note, else
    `state` with the notes read replaced (see syncstate.merged)."""
    if read.covers is None:
        return save_state(repo, commit, read.mods, read.taken, read.decks, read.note_decks, dirty)
    assert state is not None
    merged = syncstate.merged(
        state, str(commit), read.covers, read.mods, read.note_decks, read.taken, dirty
    )
    syncstate.save(repo, merged)
    return merged


@dataclass
class Scope:
    """The deck files whose export may differ from the base tree, and the notes in them."""

    paths: set[str]
    note_ids: set[int]


def scope_of_changes(
    read: AnkiRead,
    state: SyncState | None,
    base_files: Files,
    config: Config,
    also: Iterable[str] = (),
) -> Scope | None:
    """Which deck files of the base tree (`state.commit`) Anki's changes since `state`
    touch, with `also` (files a push changes); None if that cannot be told (no state
    from a fetch, decks created, renamed or deleted in Anki, ...): then all of them.

    Every other deck file is what an export gives: none of its notes changed (mod time,
    deck), none was deleted, none arrived in its deck, and its deck kept its name.
    """
    if state is None or not state.knows_decks:
        return None
    if read.decks != state.decks or read.note_decks.keys() != read.mods.keys():
        return None
    path_of = deckfile.deck_paths(base_files, config)
    if path_of is None:
        return None  # two files for one deck name: let the full export sort it out
    # Set operations on the dicts' items: at 100,000 notes, much quicker than a loop.
    changed: set[int] = set()
    if read.mods != state.mods:  # a dict compare is quicker still when nothing changed
        changed = {i for i, _ in read.mods.items() - state.mods.items()}
    state_decks = state.note_decks or {}
    if read.note_decks != state_decks:
        changed |= {i for i, _ in read.note_decks.items() - state_decks.items()}
    if max(read.mods.values(), default=0) >= state.high:
        changed |= {i for i, m in read.mods.items() if m >= state.high}
    gone = state.mods.keys() - read.mods.keys()
    decks = {read.note_decks[i] for i in changed} | set(state.decks_of(changed | gone).values())
    if "" in decks:
        return None
    also = set(also)
    if CONFIG_NAME in also:
        return None  # which files are decks may have changed
    paths = set(state.dirty) | {p for p in also if deckfile.is_deck_path(p, config)}
    paths |= {path_of.get(name) or deckfile.filename_for_deck(name) for name in decks}
    names = {deckfile.deck_name_for_path(p) for p in paths}
    return Scope(paths, {i for i, deck in read.note_decks.items() if deck in names})


def scope_of_files(
    repo: pygit2.Repository,
    backend: Backend,
    state: SyncState | None,
    trees: list[Files],
    paths: Iterable[str],
    config: Config,
) -> tuple[AnkiRead, Scope] | None:
    """Read only what a change to the deck files `paths` (and the files `state` marks
    dirty) involves: Anki's notes in their decks, and the notes these files name in
    each of `trees`. None where that cannot be told (as scope_of_changes): then read
    everything.

    What Anki changed elsewhere is not read, and stays for the next full sync to find:
    the saved state keeps the old mod times of the notes not read (save_read). The scope
    takes in the deck of every note it reads: a note moved in Anki to another deck
    brings that deck's file in, until no note leads out of the scope.
    """
    if state is None or not state.knows_decks:
        return None
    wanted = set(paths) | set(state.dirty)
    if CONFIG_NAME in wanted:
        return None  # which files are decks may have changed
    decks = backend.decks()
    if decks != state.decks:
        return None  # a deck created, renamed or deleted in Anki
    taken = int(time.time())
    path_of: dict[str, str] = {}
    for files in trees:
        in_tree = deckfile.deck_paths(files, config)
        if in_tree is None or any(path_of.setdefault(n, p) != p for n, p in in_tree.items()):
            return None  # two files for one deck name: the full export sorts it out
    names: set[str] = set()
    covered: set[int] = set()
    mods: dict[int, int] = {}
    note_decks: dict[int, str] = {}
    new_paths = {p for p in wanted if deckfile.is_deck_path(p, config)}
    scope_paths: set[str] = set()
    while new_paths:
        scope_paths |= new_paths
        new_names = {deckfile.deck_name_for_path(p) for p in new_paths} - names
        names |= new_names
        ids = backend.deck_note_ids(decks[n] for n in new_names if n in decks)
        ids |= state.notes_in(new_names)
        for files in trees:
            for path in new_paths & files.keys():
                deck = parse_blob(repo, files[path][0], path, config.note_types)
                ids |= {n.note_id for n in deck.notes if n.note_id is not None}
        ids -= covered
        covered |= ids
        mods.update(backend.mod_times(ids))
        note_decks.update(backend.note_decks(mods.keys() & ids))
        reached = {note_decks[i] for i in ids if i in note_decks}
        reached |= set(state.decks_of(ids).values())
        if "" in reached:
            return None  # a note with no cards: the full export knows what to do
        new_paths = {path_of.get(n) or deckfile.filename_for_deck(n) for n in reached - names}
    read = AnkiRead(decks, taken, mods, note_decks, covers=covered)
    return read, Scope(scope_paths, {i for i, deck in note_decks.items() if deck in names})


def snapshot_in_scope(
    repo: pygit2.Repository,
    files: Files,
    config: Config,
    paths: Iterable[str],
    tree: pygit2.Oid | None = None,
) -> Snapshot:
    """A tree's snapshot (`files`: its blobs; `tree`: its id, if known) with only the
    deck files in `paths` parsed; the other deck files count as other files
    (export_tree keeps them as they are)."""
    decks = {
        path: parse_blob(repo, files[path][0], path, config.note_types)
        for path in sorted(paths)
        if path in files and deckfile.is_deck_path(path, config)
    }
    return Snapshot(files, decks, tree, config.note_types)


def commit_files(repo: pygit2.Repository, oid: pygit2.Oid | None) -> Files:
    return {} if oid is None else gitstore.tree_files(repo, gitstore.commit_of(repo, oid).tree)


# --- the view of Anki ---------------------------------------------------------------------


@dataclass
class ViewNote:
    note: Note  # Markdown, note_id set
    deck: str  # Anki deck name
    # Anki's fields if read this time (the AnkiNote's own dict: read only); None: as reference
    html: dict[str, str] | None
    ref: tuple[str, int] | None  # (path, index) of the note in the reference, if any
    matched: bool = False  # found by content for an id-less reference note
    ankiops: bool = False  # rendered with AnkiOps' inline Markdown (see render)

    def fields_html(self) -> dict[str, str]:
        if self.html is not None:
            return self.html
        return {name: render(text, self.ankiops) for name, text in self.note.fields.items()}


@dataclass
class AnkiView:
    decks: dict[str, int]  # Anki deck name -> id
    notes: dict[int, ViewNote]
    mods: dict[int, int]
    read: int = 0  # how many notes were read from Anki this time
    names: dict[int, str] = field(default_factory=dict)  # deck id -> name
    taken: int = 0  # the second just before `mods` was read
    note_decks: dict[int, str] = field(default_factory=dict)  # every managed note's deck
    # deck id in files -> the deck that took its place (a rename over AnkiConnect
    # re-creates the deck; the old one may stay, as a parent of other decks)
    aliases: dict[int, int] = field(default_factory=dict)
    # note id -> its deck, for notes left out of the files: their deck's name is longer
    # than a file name can be (see left_out_lines)
    left_out: dict[int, str] = field(default_factory=dict)
    ankiops: bool = False  # the repository's Markdown has AnkiOps' inline syntax
    types: NoteTypes = BUILTIN  # the repository's note types (Config.note_types)

    def __post_init__(self) -> None:
        self.names = deck_names(self.decks, self.aliases)

    def left_out_lines(self) -> list[str]:
        """One line per deck whose notes stay out of the files, saying why and what to do."""
        by_deck: dict[str, list[int]] = {}
        for note_id, deck in sorted(self.left_out.items()):
            by_deck.setdefault(deck, []).append(note_id)
        return [
            f"anki: deck {deck[:40]!r}... (id {self.decks.get(deck)}) would be a file name of "
            f"{deckfile.file_name_too_long(deck)} bytes, more than file systems allow "
            f"({deckfile.MAX_FILE_NAME_BYTES}): its {len(ids)} note(s) (note_id "
            f"{', '.join(map(str, ids[:5]))}{', ...' if len(ids) > 5 else ''}) stay in Anki "
            f"and out of your files. Rename the deck shorter in Anki, then `git pull anki`."
            for deck, ids in sorted(by_deck.items())
        ]


def deck_names(decks: dict[str, int], aliases: dict[int, int]) -> dict[int, str]:
    """Deck id -> name; an aliased id names the deck that took its place."""
    names = {i: n for n, i in decks.items()}
    names.update({old: names[new] for old, new in aliases.items() if new in names})
    return names


def _markdown_note(
    anki: AnkiNote, reference: Note | None, ankiops: bool = False, types: NoteTypes = BUILTIN
) -> Note:
    note_type = types.by_anki_name[anki.note_type]
    fields: dict[str, str] = {}
    latex = note_type.latex_fields
    for name in note_type.field_names:
        old = reference.fields.get(name, "") if reference is not None else None
        try:
            text = field_markdown(anki.fields.get(name, ""), old, ankiops, types, name in latex)
        except AnkiOpsError as e:
            raise AnkiOpsError(
                f"note {anki.note_id} ({anki.note_type}), field {name}: {e}. Remove it in Anki's "
                f"HTML editor (Ctrl+Shift+X in that field), then try again; nothing was "
                f"written."
            ) from e
        if text:
            fields[name] = text
    tags = list(anki.tags)
    if reference is not None and sorted(reference.tags) == sorted(tags):
        tags = list(reference.tags)
    return Note(note_type.key, fields, anki.note_id, tags)


def unclaimed_notes(
    reference: Snapshot, live_ids: set[int], anki_names: dict[int, str]
) -> dict[tuple[str, str], list[tuple[str, int, Note]]]:
    """Reference notes no Anki note claims by id, by (deck name, note type key)."""
    out: dict[tuple[str, str], list[tuple[str, int, Note]]] = {}
    for path, deck in reference.decks.items():
        name = reference.deck_name(path, anki_names)
        for index, note in enumerate(deck.notes):
            if note.note_id is None or note.note_id not in live_ids:
                out.setdefault((name, note.note_type), []).append((path, index, note))
    return out


def anki_view(
    backend: Backend,
    reference: Snapshot,
    state: SyncState | None,
    progress: Progress | None = None,
    first: AnkiRead | None = None,
    only: set[int] | None = None,
    aliases: dict[int, int] | None = None,
    ankiops: bool = False,
) -> AnkiView:
    """Anki's managed notes as Markdown, reading only what changed since `state`.

    `first`: Anki's decks and mod times if read already. `only`: the notes to view (those
    of a Scope, whose files `reference` holds); all managed notes if None. `aliases`:
    see AnkiView.aliases. `ankiops`: the repository's Markdown is AnkiOps'
    (Config.ankiops_markdown).
    """
    types = reference.types
    by_anki_name = types.by_anki_name
    read_first = first if first is not None else read_anki(backend)
    decks, mods, note_decks = read_first.decks, read_first.mods, read_first.note_decks
    aliases = aliases or {}
    names = deck_names(decks, aliases)
    wanted = set(mods) if only is None else set(mods) & only
    # Notes in a deck whose name no file system takes as a file name stay out of the
    # files, said and not deleted, until the deck is renamed shorter in Anki.
    too_long = {d for d in set(note_decks.values()) if deckfile.file_name_too_long(d)}
    left_out = {i: note_decks[i] for i in wanted if note_decks.get(i) in too_long}
    wanted -= left_out.keys()
    by_id = reference.notes_by_id()
    if state is None:
        changed = set(wanted)
    else:
        known = state.mods_of(wanted)
        changed = {
            i for i in wanted if i not in by_id or known.get(i) != mods[i] or mods[i] >= state.high
        }
        # A move to another deck in Anki changes the cards, not the note's mod time.
        changed |= {
            i
            for i in wanted
            if i in by_id
            and i not in changed
            and note_decks.get(i) != reference.deck_name(by_id[i][0], names)
        }
    read = backend.read_notes(sorted(changed)) if changed else []
    view = AnkiView(
        decks,
        {},
        mods,
        read=len(read),
        taken=read_first.taken,
        aliases=aliases,
        ankiops=ankiops,
        types=types,
    )
    view.note_decks = note_decks
    view.left_out = left_out

    for note_id in sorted(wanted - changed):
        path, index, note = by_id[note_id]
        view.notes[note_id] = ViewNote(
            note, reference.deck_name(path, names), None, (path, index), ankiops=ankiops
        )

    unmatched: list[AnkiNote] = []
    for done, anki in enumerate(read, 1):
        if anki.note_type not in by_anki_name:
            continue
        if progress is not None and done % 50 == 0:
            progress(done, len(read))
        hit = by_id.get(anki.note_id)
        if hit is None or hit[2].note_type != by_anki_name[anki.note_type].key:
            unmatched.append(anki)
            continue
        path, index, old = hit
        note = _markdown_note(anki, old, ankiops, types)
        view.notes[anki.note_id] = ViewNote(
            note, anki.deck, anki.fields, (path, index), ankiops=ankiops
        )
    if progress is not None and read:
        progress(len(read), len(read))

    # Notes new to the reference: find the id-less reference note they came from, so
    # its Markdown and position are kept (the ids of a push coming back).
    pool: dict[tuple[str, ContentKey], list[tuple[str, int, Note]]] = {}
    if unmatched:
        for (deck_name, _), notes in unclaimed_notes(reference, set(mods), names).items():
            for path, index, old in notes:
                key = markdown_key(old, ankiops)
                pool.setdefault((deck_name, key), []).append((path, index, old))
    for anki in unmatched:
        candidates: list[tuple[str, int, Note]] = []
        if pool:  # a first fetch into an empty folder has nothing to match against
            key = content_key(by_anki_name[anki.note_type].key, anki.fields)
            candidates = pool.get((anki.deck, key), [])
        if not candidates:
            note = _markdown_note(anki, None, ankiops, types)
            view.notes[anki.note_id] = ViewNote(note, anki.deck, anki.fields, None, ankiops=ankiops)
            continue
        path, index, old = candidates.pop(0)
        note = _markdown_note(anki, old, ankiops, types)
        view.notes[anki.note_id] = ViewNote(
            note, anki.deck, anki.fields, (path, index), matched=True, ankiops=ankiops
        )
    return view


# --- laying the view out as files --------------------------------------------------------


def change_line(
    added: int, updated: int, moved: int, deleted: int, extras: list[tuple[int, str]]
) -> str:
    """One line per sync direction: "3 added, 1 updated, 0 moved, 0 deleted" (+ extras)."""
    counts = f"{added} added, {updated} updated, {moved} moved, {deleted} deleted"
    return counts + "".join(f", {n} {what}" for n, what in extras if n)


@dataclass
class ExportSummary:
    added: int = 0
    updated: int = 0
    moved: int = 0
    deleted: int = 0
    decks_renamed: int = 0
    ids: int = 0  # notes pushed without an id whose id Anki now gave
    left_out: int = 0  # notes that leave the files: their deck's name is too long
    media: int = 0  # media files new or changed in media/

    def line(self) -> str:
        return change_line(
            self.added,
            self.updated,
            self.moved,
            self.deleted,
            [
                (self.decks_renamed, "deck(s) renamed"),
                (self.ids, "new note id(s)"),
                (self.left_out, "left out (deck name too long)"),
                (self.media, "media file(s)"),
            ],
        )

    def empty(self) -> bool:
        return not (
            self.added
            or self.updated
            or self.moved
            or self.deleted
            or self.decks_renamed
            or self.left_out
            or self.media
        )

    def subject(self) -> str:
        """A commit subject naming only what happened ("Anki: 2 updated, 1 deleted")."""
        counts = [
            (self.added, "added"),
            (self.updated, "updated"),
            (self.moved, "moved"),
            (self.deleted, "deleted"),
            (self.decks_renamed, "deck(s) renamed"),
            (self.ids, "new note id(s)"),
            (self.left_out, "left out (deck name too long)"),
            (self.media, "media file(s)"),
        ]
        parts = [f"{n} {what}" for n, what in counts if n]
        return "Anki: " + (", ".join(parts) if parts else "state of the notes")


def _deck_paths(view: AnkiView, reference: Snapshot, deck_names: set[str]) -> dict[str, str]:
    """Deck name -> file path: the reference file of that deck (by id, then name), else new."""
    by_id = {d.deck_id: p for p, d in reference.decks.items() if d.deck_id is not None}
    by_name = {deckfile.deck_name_for_path(p): p for p in reference.decks}
    out: dict[str, str] = {}
    for name in sorted(deck_names):
        ref_path = by_id.get(view.decks.get(name, -1))
        if ref_path is not None and deckfile.deck_name_for_path(ref_path) == name:
            out[name] = ref_path
        elif ref_path is None and name in by_name:
            out[name] = by_name[name]
        else:
            out[name] = deckfile.filename_for_deck(name)
    return out


def export_decks(view: AnkiView, reference: Snapshot) -> dict[str, Deck]:
    """The deck files Anki's state gives: path -> Deck, in reference order."""
    groups: dict[str, list[ViewNote]] = {}
    for view_note in view.notes.values():
        groups.setdefault(view_note.deck, []).append(view_note)
    # A file whose deck still exists in Anki stays, even with no notes left in it.
    for path in reference.decks:
        name = reference.deck_name(path, view.names)
        if name in view.decks and not deckfile.file_name_too_long(name):
            groups.setdefault(name, [])
    paths = _deck_paths(view, reference, set(groups))
    out: dict[str, Deck] = {}
    for name, members in groups.items():
        path = paths[name]
        kept = sorted(
            (v for v in members if v.ref is not None and v.ref[0] == path),
            key=lambda v: v.ref[1] if v.ref else 0,
        )
        kept_ids = {v.note.note_id for v in kept}
        added = sorted(
            (v for v in members if v.note.note_id not in kept_ids),
            key=lambda v: v.note.note_id or 0,
        )
        out[path] = Deck([v.note for v in kept + added], view.decks.get(name), name)
    return out


def summarize(view: AnkiView, reference: Snapshot) -> ExportSummary:
    """What changed in Anki relative to the reference."""
    summary = ExportSummary()
    by_id = reference.notes_by_id()
    names = view.names
    for note_id, v in view.notes.items():
        hit = by_id.get(note_id)
        if hit is None:
            if v.matched:
                summary.ids += 1
            else:
                summary.added += 1
            continue
        path, _, old = hit
        if (old.fields, sorted(old.tags)) != (v.note.fields, sorted(v.note.tags)):
            summary.updated += 1
        if reference.deck_name(path, names) != v.deck:
            summary.moved += 1
    summary.deleted = sum(1 for i in by_id if i not in view.notes and i not in view.left_out)
    summary.left_out = sum(1 for i in by_id if i in view.left_out)
    for path, deck in reference.decks.items():
        if deck.deck_id in names and names[deck.deck_id] != deckfile.deck_name_for_path(path):
            summary.decks_renamed += 1
    return summary


def export_tree(
    repo: pygit2.Repository,
    view: AnkiView,
    reference: Snapshot,
    keep_other_files: bool = True,
    config: Config | None = None,
    extra: Files | None = None,
) -> pygit2.Oid:
    """Write the tree for Anki's state: reference's other files plus the exported decks,
    and `extra` (media files fetched: path -> blob) over them."""
    files: Files = {}
    if keep_other_files:
        files = {p: e for p, e in reference.files.items() if p not in reference.decks}
    files.update(extra or {})
    for path, deck in export_decks(view, reference).items():
        if len(path.encode("utf-8")) > deckfile.MAX_FILE_NAME_BYTES:
            raise AnkiOpsError(
                f"Anki's deck {(deck.name or path)[:60]!r}... would be a file name of "
                f"{len(path.encode('utf-8'))} bytes, longer than file systems allow "
                f"({deckfile.MAX_FILE_NAME_BYTES}). Shorten the deck's name in Anki, then "
                f"pull again; nothing was fetched."
            )
        if config is not None and not deckfile.is_deck_path(path, config):
            # Written but then not read as a deck, its notes would look deleted to a push.
            raise AnkiOpsError(
                f"Anki's deck {deck.name!r} would be the file {path}, which ankiops.toml "
                f"excludes from the decks. Rename the deck in Anki, or remove {path} from "
                f"`exclude` in ankiops.toml; nothing was fetched."
            )
        old = reference.decks.get(path)
        if (
            old is not None
            and path in reference.files
            and old.deck_id == deck.deck_id
            and old.notes == deck.notes
        ):
            files[path] = reference.files[path]  # unchanged deck: the very same bytes
            continue
        try:
            text = deckfile.write(deck, reference.types)
            if old is not None and path in reference.files and old.deck_id == deck.deck_id:
                original = gitstore.blob_text(repo, reference.files[path][0])
                text = splice(original, old, deck, reference.types) or text
        except AnkiOpsError as e:
            raise AnkiOpsError(f"{path}: cannot write the deck exported from Anki: {e}") from e
        files[path] = (gitstore.write_blob(repo, text), gitstore.FILE_MODE)
    base = (reference.tree, reference.files) if reference.tree is not None else None
    return gitstore.build_tree(repo, files, base)


LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def splice(original: str, old: Deck, new: Deck, types: NoteTypes = BUILTIN) -> str | None:
    """`new` written into `original`'s bytes: notes that did not change keep their exact
    text, and so do the header and the separators between them; changed notes are
    written anew in place, removed ones leave with their separator, new ones are
    appended in canonical form.

    Needs `new` to be `original`'s notes in their order (some edited, some removed)
    followed by new notes, which is how export orders them; None otherwise, or if the
    result would not read back as `new` (the caller then writes canonical text).
    """
    old_ids = [n.note_id for n in old.notes]
    if not old.notes or None in old_ids:
        return None
    position = {note_id: k for k, note_id in enumerate(old_ids)}
    kept = [position[n.note_id] for n in new.notes if n.note_id in position]
    if kept != sorted(kept) or len(set(kept)) != len(kept):
        return None
    appended = new.notes[len(kept) :]
    if any(n.note_id in position for n in appended):
        return None
    lines = LINE_RE.findall(original)
    starts = [n.line - 1 for n in old.notes] + [len(lines)]
    if starts != sorted(starts) or starts[0] < 0:
        return None
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    glue_between = f"{newline}---{newline}{newline}"

    def body_and_glue(k: int) -> tuple[str, str]:
        """Note k's own text, and what follows it up to the next note (separator, blanks)."""
        chunk = lines[starts[k] : starts[k + 1]]
        end = len(chunk)
        if k + 1 < len(old.notes):
            separators = [
                i
                for i, line in enumerate(chunk)
                if deckfile.SEPARATOR_RE.match(line.rstrip("\r\n"))
            ]
            end = separators[-1] if separators else len(chunk)
        while end > 0 and not chunk[end - 1].strip():
            end -= 1
        return "".join(chunk[:end]), "".join(chunk[end:])

    out = ["".join(lines[: starts[0]])]
    total = len(new.notes)
    for i, note in enumerate(new.notes):
        k = kept[i] if i < len(kept) else None
        if k is not None:
            body, glue = body_and_glue(k)
            if old.notes[k] != note:
                body = deckfile.write_note(note, types).replace("\n", newline).rstrip("\r\n")
                body += newline
            elif not body.endswith(("\n", "\r")):
                body += newline
        else:
            body, glue = deckfile.write_note(note, types).replace("\n", newline), ""
        last_in_old = k is not None and k + 1 == len(old.notes)
        if i + 1 < total:
            out.append(body + (glue if k is not None and not last_in_old else glue_between))
        else:
            out.append(body + (glue if last_in_old else ""))
    text = "".join(out)
    try:
        back = deckfile.parse(text, types=types)
    except AnkiOpsError:
        return None
    return text if back.notes == new.notes and back.deck_id == new.deck_id else None


def note_type_key(anki_name: str, types: NoteTypes = BUILTIN) -> str:
    return types.by_anki_name[anki_name].key


def first_line(note: Note, types: NoteTypes = BUILTIN) -> str:
    """A note's first field line, for listings ("Q: What is ser?")."""
    note_type = types.by_key.get(note.note_type)
    if note_type is None:
        return "(a note of type " + note.note_type + ")"
    for prefix, name in note_type.fields:
        text = note.field(name)
        if text:
            line = text.split("\n", 1)[0]
            return f"{prefix}: {line}"[:80]
    return "(empty note)"
