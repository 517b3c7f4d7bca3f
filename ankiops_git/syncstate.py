"""What a sync remembers of Anki between runs: `.git/ankiops/state`.

For the commit anki/main pointed at, every managed note's modification time and deck
as Anki had them, and Anki's decks. The next sync compares Anki's cheap reads (mod
times, note decks) with these to read and convert only the notes that changed.

Losing or corrupting the file costs speed, never data: with no usable state, a sync
reads every note again.

The file is one JSON line (the small parts) followed by the per-note arrays as raw
machine integers: at 100,000 notes JSON took 0.1 s to read and write, the arrays take
a few milliseconds, so a one-note commit costs the same at any collection size.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git import gitstore

STATE_NAME = "state"
EARLIER_NAME = "state.json"  # written by versions before the binary arrays
_FORMAT = 2


@dataclass
class SyncState:
    commit: str  # the anki/main commit Anki matched when `mods` was taken
    mods: dict[int, int]
    # Notes with a mod time at or after this are read again: an edit in the same second
    # as the snapshot would otherwise keep its old mod time.
    high: int = 0
    # Anki's decks and each note's deck when `mods` was taken; set only when `commit`'s
    # tree is what an export of that state gives, except in the files `dirty` (which a
    # push changed: they may lack new note ids). Then a sync reads and writes only the
    # deck files that can differ (see export.scope_of_changes). None: every file may.
    decks: dict[str, int] | None = None
    note_decks: dict[int, str] | None = None
    dirty: list[str] = field(default_factory=list)


def state_path(repo: pygit2.Repository) -> Path:
    return gitstore.state_dir(repo) / STATE_NAME


def load(repo: pygit2.Repository) -> SyncState | None:
    """The saved state, or None if there is none or it cannot be read."""
    folder = Path(repo.path) / "ankiops"
    try:
        data = (folder / STATE_NAME).read_bytes()
    except OSError:
        return _load_earlier(folder / EARLIER_NAME)
    try:
        return _decode(data)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None


def save(repo: pygit2.Repository, state: SyncState) -> None:
    path = state_path(repo)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(_encode(state))
    tmp.replace(path)
    path.with_name(EARLIER_NAME).unlink(missing_ok=True)


def merged(
    state: SyncState,
    commit: str,
    covered: Iterable[int],
    mods: dict[int, int],
    note_decks: dict[int, str],
    taken: int,
    dirty: Iterable[str],
) -> SyncState:
    """`state` with the notes in `covered` as read now (`mods`, `note_decks`; a covered
    note missing there is gone), for `commit`; `dirty` replaces the dirty files.

    The other notes keep what `state` says, so a change Anki made to them since still
    shows. So does an edit in the second `state` was taken: `high` keeps the earlier of
    the two seconds (a few notes are read once more; none is missed)."""
    assert state.note_decks is not None and state.decks is not None
    gone = set(covered)
    # Copies, then the few covered notes out and in: at 100,000 notes, much quicker
    # than rebuilding the dicts note by note.
    new_mods, new_decks = dict(state.mods), dict(state.note_decks)
    for note_id in gone:
        new_mods.pop(note_id, None)
        new_decks.pop(note_id, None)
    new_mods.update(mods)
    new_decks.update(note_decks)
    return SyncState(
        commit, new_mods, min(state.high, taken), dict(state.decks), new_decks, sorted(dirty)
    )


# --- the file format ------------------------------------------------------------------


def _encode(state: SyncState) -> bytes:
    ids = array("q", state.mods)
    mods = array("q", state.mods.values())
    deck_names: list[str] = []
    homes = array("i")
    if state.note_decks is not None:
        deck_names = list(dict.fromkeys(state.note_decks.values()))
        index: dict[str | None, int] = {name: i for i, name in enumerate(deck_names)}
        index[None] = -1  # a note with no deck recorded
        homes = array("i", map(index.__getitem__, map(state.note_decks.get, state.mods)))
    header = {
        "format": _FORMAT,
        "byteorder": sys.byteorder,
        "commit": state.commit,
        "high": state.high,
        "count": len(ids),
        "decks": state.decks,
        "deck_names": deck_names if state.note_decks is not None else None,
        "dirty": sorted(set(state.dirty)),
    }
    return b"".join(
        [json.dumps(header).encode("utf-8"), b"\n", ids.tobytes(), mods.tobytes(), homes.tobytes()]
    )


def _decode(data: bytes) -> SyncState | None:
    line, _, payload = data.partition(b"\n")
    header = json.loads(line)
    if header.get("format") != _FORMAT:
        return None
    count = int(header["count"])
    deck_names = header["deck_names"]
    ids, mods, homes = array("q"), array("q"), array("i")
    size = ids.itemsize * count
    ids.frombytes(payload[:size])
    mods.frombytes(payload[size : 2 * size])
    if deck_names is not None:
        homes.frombytes(payload[2 * size :])
    elif len(payload) != 2 * size:
        return None
    if header["byteorder"] != sys.byteorder:
        for values in (ids, mods, homes):
            values.byteswap()
    if len(ids) != count or len(mods) != count:
        return None
    state = SyncState(str(header["commit"]), dict(zip(ids, mods, strict=True)), int(header["high"]))
    if header["decks"] is not None and deck_names is not None:
        if len(homes) != count:
            return None
        state.decks = {str(k): int(v) for k, v in header["decks"].items()}
        if -1 in homes:  # notes with no deck recorded
            pairs = zip(ids, homes, strict=True)
            state.note_decks = {i: deck_names[h] for i, h in pairs if h >= 0}
        else:
            state.note_decks = dict(zip(ids, map(deck_names.__getitem__, homes), strict=True))
        state.dirty = [str(p) for p in header["dirty"]]
    return state


def _load_earlier(path: Path) -> SyncState | None:
    """The JSON state of earlier versions (mods as an object, or as two lists)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data["mods"], dict):
            mods = {int(k): int(v) for k, v in data["mods"].items()}
        else:
            mods = dict(zip(data["note_ids"], data["mods"], strict=True))
        state = SyncState(str(data["commit"]), mods, int(data.get("high", 0)))
        if "decks" in data and "note_decks" in data:
            state.decks = dict(data["decks"])
            note_decks: dict[int, str] = {}
            for deck, ids in data["note_decks"].items():
                note_decks.update(dict.fromkeys(ids, deck))
            state.note_decks = note_decks
            state.dirty = [str(p) for p in data.get("dirty", [])]
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
