"""The sync state: array-backed lookups and merges give what the plain dicts give, and
the file reads back as written (syncstate.py)."""

from __future__ import annotations

from pathlib import Path

import pygit2
from hypothesis import given, settings
from hypothesis import strategies as st

from ankiops_git import syncstate
from ankiops_git.syncstate import SyncState

DECKS = ["A", "A::B", "C", ""]
note_ids = st.integers(1, 60)
records = st.dictionaries(note_ids, st.tuples(st.integers(0, 10**6), st.sampled_from(DECKS)))


def state_of(records: dict[int, tuple[int, str]], high: int = 5) -> SyncState:
    mods = {i: m for i, (m, _) in records.items()}
    decks = {i: d for i, (_, d) in records.items() if d != "A::B" or i % 2}  # some unrecorded
    return SyncState("c0", mods, high, {"A": 1, "C": 2}, decks, ["A.md"])


@settings(max_examples=200, deadline=None)
@given(records, st.sets(note_ids), st.sets(st.sampled_from(DECKS)))
def test_lookups_match_the_dicts(
    records: dict[int, tuple[int, str]], asked: set[int], names: set[str]
) -> None:
    state = state_of(records)
    mods, decks = state.mods, state.note_decks
    assert decks is not None
    assert mods == {i: m for i, (m, _) in records.items()}
    fresh = state_of(records)  # before any dict was built: the bisection path
    assert fresh.mods_of(asked) == {i: mods[i] for i in asked if i in mods}
    assert fresh.decks_of(asked) == {i: decks[i] for i in asked if i in decks}
    assert fresh.notes_in(names) == {i for i, d in decks.items() if d in names}


@settings(max_examples=300, deadline=None)
@given(
    records,
    st.sets(note_ids),
    st.dictionaries(st.integers(1, 90), st.tuples(st.integers(0, 10**6), st.sampled_from(DECKS))),
    st.integers(0, 10),
)
def test_merged_is_the_state_with_the_covered_notes_replaced(
    records: dict[int, tuple[int, str]],
    covered: set[int],
    read: dict[int, tuple[int, str]],
    taken: int,
) -> None:
    """Whichever way merged() goes (patching the arrays, appending new notes, or
    rebuilding when notes are gone), it is the dict computation."""
    state = state_of(records)
    read = {i: v for i, v in read.items() if i in covered or i > 60}  # reads cover
    covered |= set(read)
    mods = {i: m for i, (m, _) in read.items()}
    note_decks = {i: d for i, (_, d) in read.items()}
    got = syncstate.merged(state, "c1", covered, mods, note_decks, taken, ["B.md"])
    old_decks = state.note_decks or {}
    want_mods = {i: m for i, m in state.mods.items() if i not in covered} | mods
    want_decks = {i: d for i, d in old_decks.items() if i not in covered} | note_decks
    want = SyncState("c1", want_mods, min(5, taken), {"A": 1, "C": 2}, want_decks, ["B.md"])
    assert got == want
    assert list(got._ids) == sorted(got._ids)  # still sorted for bisection
    assert got.mods_of(covered) == {i: want_mods[i] for i in covered if i in want_mods}
    assert state.mods == {i: m for i, (m, _) in records.items()}  # the old one unchanged


def test_file_round_trip_and_damage(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r"))
    state = state_of({i: (1000 + i, DECKS[i % 4]) for i in range(1, 500)}, high=7)
    syncstate.save(repo, state)
    again = syncstate.load(repo)
    assert again == state and again is not None and again.dirty == ["A.md"]
    assert again.decks_of([3, 4, 6]) == {3: "", 4: "A", 6: "C"}
    without = SyncState("c9", {1: 2, 3: 4}, 1)  # a state that does not know the decks
    syncstate.save(repo, without)
    loaded = syncstate.load(repo)
    assert loaded == without and loaded is not None and not loaded.knows_decks
    path = syncstate.state_path(repo)
    path.write_bytes(path.read_bytes()[:-3])  # cut short
    assert syncstate.load(repo) is None
