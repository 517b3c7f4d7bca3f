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

import bisect
import itertools
import json
import sys
from array import array
from collections.abc import Iterable
from pathlib import Path

import pygit2

from ankiops_git import gitstore
from ankiops_git.errors import AnkiOpsError

STATE_NAME = "state"
EARLIER_NAME = "state.json"  # written by versions before the binary arrays
_FORMAT = 2


class SyncState:
    """Anki as a sync last saw it (see the module docstring).

    Kept as arrays sorted by note id, as in the file: a sync that reads a few notes
    (a push) looks them up by bisection and patches copies of the arrays, never
    building a dict of every note. The dicts `mods` and `note_decks` are built on
    first use, for the syncs that compare every note.
    """

    def __init__(
        self,
        commit: str,
        mods: dict[int, int],
        high: int = 0,
        decks: dict[str, int] | None = None,
        note_decks: dict[int, str] | None = None,
        dirty: Iterable[str] = (),
    ) -> None:
        ids = array("q", sorted(mods))
        homes: array[int] | None = None
        names: list[str] = []
        if decks is not None and note_decks is not None:
            names = list(dict.fromkeys(note_decks.values()))
            index: dict[str | None, int] = {name: i for i, name in enumerate(names)}
            index[None] = -1  # a note with no deck recorded
            homes = array("i", map(index.__getitem__, map(note_decks.get, ids)))
        self._init(commit, high, decks, dirty, ids, array("q", map(mods.__getitem__, ids)),
                   homes, names)  # fmt: skip

    def _init(
        self,
        commit: str,
        high: int,
        decks: dict[str, int] | None,
        dirty: Iterable[str],
        ids: array[int],
        mods: array[int],
        homes: array[int] | None,
        deck_names: list[str],
    ) -> None:
        self.commit = commit
        # Notes with a mod time at or after this are read again: an edit in the same
        # second as the snapshot would otherwise keep its old mod time.
        self.high = high
        # Anki's decks and each note's deck when the mods were taken; set only when
        # `commit`'s tree is what an export of that state gives, except in the files
        # `dirty` (which a push changed: they may lack new note ids). Then a sync reads
        # and writes only the deck files that can differ (export.scope_of_changes).
        self.decks = None if homes is None else decks
        self.dirty = sorted(set(dirty))
        self._ids, self._mods, self._homes, self._deck_names = ids, mods, homes, deck_names
        self._mods_dict: dict[int, int] | None = None
        self._decks_dict: dict[int, str] | None = None

    @classmethod
    def _from_arrays(cls, commit: str, high: int, decks: dict[str, int] | None,
                     dirty: Iterable[str], ids: array[int], mods: array[int],
                     homes: array[int] | None, deck_names: list[str]) -> SyncState:  # fmt: skip
        state = cls.__new__(cls)
        state._init(commit, high, decks, dirty, ids, mods, homes, deck_names)
        return state

    @property
    def knows_decks(self) -> bool:
        """Whether the decks of Anki and of each note were recorded (see `decks`)."""
        return self.decks is not None

    @property
    def mods(self) -> dict[int, int]:
        if self._mods_dict is None:
            self._mods_dict = dict(zip(self._ids, self._mods, strict=True))
        return self._mods_dict

    @property
    def note_decks(self) -> dict[int, str] | None:
        if self._homes is None:
            return None
        if self._decks_dict is None:
            pairs = zip(self._ids, self._homes, strict=True)
            names = self._deck_names
            self._decks_dict = {i: names[h] for i, h in pairs if h >= 0}
        return self._decks_dict

    def _positions(self, note_ids: Iterable[int]) -> dict[int, int]:
        """note id -> index in the arrays, for the ids the state has."""
        out: dict[int, int] = {}
        ids = self._ids
        for note_id in note_ids:
            at = bisect.bisect_left(ids, note_id)
            if at < len(ids) and ids[at] == note_id:
                out[note_id] = at
        return out

    def mods_of(self, note_ids: Iterable[int]) -> dict[int, int]:
        """The recorded mod times of these notes (those the state has)."""
        wanted = note_ids if isinstance(note_ids, (set, frozenset)) else set(note_ids)
        if self._mods_dict is not None or len(wanted) * 8 > len(self._ids):
            every = self.mods
            return {i: every[i] for i in wanted if i in every}
        return {i: self._mods[at] for i, at in self._positions(wanted).items()}

    def decks_of(self, note_ids: Iterable[int]) -> dict[int, str]:
        """The recorded decks of these notes (those the state has a deck for)."""
        if self._homes is None:
            return {}
        homes, names = self._homes, self._deck_names
        return {
            i: names[homes[at]] for i, at in self._positions(note_ids).items() if homes[at] >= 0
        }

    def notes_in(self, deck_names: Iterable[str]) -> set[int]:
        """The notes the state records in these decks (C-level: 100,000 notes in ms)."""
        if self._homes is None:
            return set()
        wanted = set(deck_names)
        indexes = {i for i, name in enumerate(self._deck_names) if name in wanted}
        return set(itertools.compress(self._ids, map(indexes.__contains__, self._homes)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyncState):
            return NotImplemented
        return (self.commit, self.high, self.decks, self.dirty, self.mods, self.note_decks) == (
            other.commit, other.high, other.decks, other.dirty, other.mods, other.note_decks
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"SyncState({self.commit[:12]}, {len(self._ids)} notes, high={self.high})"


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
    try:
        tmp.write_bytes(_encode(state))
        tmp.replace(path)
    except OSError as e:  # a folder where the file goes, say
        raise AnkiOpsError(
            f"{path}: cannot save the sync state there ({e.strerror}). Move it away "
            f"(mv {path} {path}.old) and run the command again: the state is rebuilt."
        ) from e
    path.with_name(EARLIER_NAME).unlink(missing_ok=True)


def merged(state: SyncState, commit: str, covered: Iterable[int], mods: dict[int, int],
           note_decks: dict[int, str], taken: int, dirty: Iterable[str]) -> SyncState:  # fmt: skip
    """`state` with the notes in `covered` as read now (`mods`, `note_decks`; a covered
    note missing there is gone), for `commit`; `dirty` replaces the dirty files.

    The other notes keep what `state` says, so a change Anki made to them since still
    shows. So does an edit in the second `state` was taken: `high` keeps the earlier of
    the two seconds (a few notes are read once more; none is missed)."""
    assert state.decks is not None and state._homes is not None
    high = min(state.high, taken)
    covered = set(covered)
    at = state._positions(covered)
    gone = [i for i in at if i not in mods]
    new = sorted(i for i in mods if i not in at)
    ids = state._ids
    if gone or (new and ids and new[0] <= ids[-1]):
        # Notes deleted, or added among the old ids (rare for a push: ids are creation
        # times): rebuilt from dicts.
        all_mods = {i: m for i, m in state.mods.items() if i not in covered}
        all_decks = {i: d for i, d in (state.note_decks or {}).items() if i not in covered}
        all_mods.update(mods)
        all_decks.update(note_decks)
        return SyncState(commit, all_mods, high, dict(state.decks), all_decks, dirty)
    # Patch copies of the arrays (a copy is one memcpy) and append the new notes.
    new_ids, new_mods, homes = array("q", ids), array("q", state._mods), array("i", state._homes)
    names = list(state._deck_names)
    index = {name: i for i, name in enumerate(names)}

    def home(note_id: int) -> int:
        deck = note_decks.get(note_id)
        if deck is None:
            return -1
        if deck not in index:
            index[deck] = len(names)
            names.append(deck)
        return index[deck]

    for note_id, position in at.items():
        new_mods[position] = mods[note_id]
        homes[position] = home(note_id)
    for note_id in new:
        new_ids.append(note_id)
        new_mods.append(mods[note_id])
        homes.append(home(note_id))
    return SyncState._from_arrays(
        commit, high, dict(state.decks), dirty, new_ids, new_mods, homes, names
    )


# --- the file format ------------------------------------------------------------------


def _encode(state: SyncState) -> bytes:
    homes = state._homes
    header = {
        "format": _FORMAT,
        "byteorder": sys.byteorder,
        "commit": state.commit,
        "high": state.high,
        "count": len(state._ids),
        "decks": state.decks,
        "deck_names": state._deck_names if homes is not None else None,
        "dirty": state.dirty,
    }
    arrays = [state._ids.tobytes(), state._mods.tobytes()]
    if homes is not None:
        arrays.append(homes.tobytes())
    return b"".join([json.dumps(header).encode("utf-8"), b"\n", *arrays])


def _decode(data: bytes) -> SyncState | None:
    line, _, payload = data.partition(b"\n")
    header = json.loads(line)
    if header.get("format") != _FORMAT:
        return None
    count = int(header["count"])
    deck_names = header["deck_names"]
    ids, mods = array("q"), array("q")
    size = ids.itemsize * count
    ids.frombytes(payload[:size])
    mods.frombytes(payload[size : 2 * size])
    homes: array[int] | None = None
    if deck_names is not None and header["decks"] is not None:
        homes = array("i")
        homes.frombytes(payload[2 * size :])
    elif len(payload) != 2 * size:
        return None
    if header["byteorder"] != sys.byteorder:
        for values in (ids, mods, homes):
            if values is not None:
                values.byteswap()
    if len(ids) != count or len(mods) != count or (homes is not None and len(homes) != count):
        return None
    decks = None
    if homes is not None:
        decks = {str(k): int(v) for k, v in header["decks"].items()}
        names = [str(n) for n in deck_names]
        if max(homes, default=-1) >= len(names):
            return None
    else:
        names = []
    return SyncState._from_arrays(
        str(header["commit"]), int(header["high"]), decks, [str(p) for p in header["dirty"]],
        ids, mods, homes, names,
    )  # fmt: skip


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
            note_decks: dict[int, str] = {}
            for deck, ids in data["note_decks"].items():
                note_decks.update(dict.fromkeys(ids, deck))
            dirty = [str(p) for p in data.get("dirty", [])]
            return SyncState(state.commit, mods, state.high, dict(data["decks"]), note_decks, dirty)
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
