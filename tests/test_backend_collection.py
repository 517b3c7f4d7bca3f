"""The collection-file backend's own behaviour: opening, locking, profiles, open_backend."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ankiops_git.anki import open_backend
from ankiops_git.anki.base import NewNote
from ankiops_git.anki.collection import CollectionBackend, profiles
from ankiops_git.anki.verify import anki_stored_text
from ankiops_git.errors import AnkiUnavailable, WrongProfile

HOLD = """
import sys
from anki.collection import Collection
col = Collection(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()
col.close()
"""


def test_locked_collection_fails_fast_and_points_to_ankiconnect(
    anki_collection_path: Path,
) -> None:
    # Another process holds the collection open, as Anki desktop does.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(anki_collection_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = anki_collection_path.read_bytes()
        started = time.monotonic()
        with pytest.raises(AnkiUnavailable) as err:
            CollectionBackend(anki_collection_path)
        assert time.monotonic() - started < 5
        message = str(err.value)
        assert "in use" in message and "anki::http://127.0.0.1:8765" in message
        assert str(anki_collection_path) in message
        assert anki_collection_path.read_bytes() == before
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    # once the holder is gone it opens normally
    CollectionBackend(anki_collection_path).close()


def test_second_backend_in_same_process_is_refused(collection_backend: CollectionBackend) -> None:
    with pytest.raises(AnkiUnavailable, match="in use"):
        CollectionBackend(collection_backend.path)


def test_missing_collection_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "collection.anki2"
    with pytest.raises(AnkiUnavailable, match="No Anki collection at"):
        CollectionBackend(path)
    assert not path.exists()


def test_profile_by_name_and_unknown_profile_lists_profiles(
    anki_collection_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = anki_collection_path.parent.parent  # tmp_path, holding "User 1"
    (base / "addons21").mkdir()  # not a profile: no collection file
    monkeypatch.setenv("ANKI_BASE", str(base))
    assert profiles() == ["User 1"]
    backend = open_backend("User 1")
    try:
        assert isinstance(backend, CollectionBackend)
        assert backend.path == anki_collection_path.resolve()
        assert backend.profile() == "User 1"
    finally:
        backend.close()
    with pytest.raises(AnkiUnavailable) as err:
        open_backend("Someone")
    assert "'Someone'" in str(err.value) and "profiles found: User 1" in str(err.value)


def test_open_backend_by_path_and_anki_prefix(anki_collection_path: Path) -> None:
    for spec in (str(anki_collection_path), f"anki::{anki_collection_path}"):
        backend = open_backend(spec)
        try:
            assert isinstance(backend, CollectionBackend)
            assert backend.profile() == "User 1"
        finally:
            backend.close()


def test_close_releases_the_lock(anki_collection_path: Path) -> None:
    with CollectionBackend(anki_collection_path) as backend:
        backend.create_deck("X")
    with CollectionBackend(anki_collection_path) as again:
        assert "X" in again.decks()


def test_collection_of_another_profile_is_refused(anki_collection_path: Path) -> None:
    with pytest.raises(WrongProfile) as err:
        open_backend(str(anki_collection_path), profile="Work")
    assert "belongs to profile 'User 1'" in str(err.value) and "'Work'" in str(err.value)
    open_backend(str(anki_collection_path), profile="User 1").close()


def test_reading_10000_notes_returns_every_note_with_its_fields(tmp_path: Path) -> None:
    # the benchmark's own collection; its speed is measured by `make bench`, not here
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root
    from bench.read_notes import build_collection

    path = tmp_path / "Bench" / "collection.anki2"
    build_collection(path, 10_000)
    with CollectionBackend(path) as backend:
        notes = backend.read_notes()
        mods = backend.mod_times()
    assert len(notes) == 10_000 and notes[0].fields["Question"].startswith("<p>Question")
    assert sorted(mods) == [n.note_id for n in notes]
    assert len({n.note_id for n in notes}) == 10_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=1, max_size=8))
def test_anki_stored_text_is_what_anki_stores(tmp_path_factory: Any, texts: list[str]) -> None:
    """anki_stored_text() predicts Anki's own normalisation for any text."""
    path = _shared_bench_collection(tmp_path_factory)
    with CollectionBackend(path) as backend:
        notes = [NewNote("AnkiOpsQA", "D", {"Question": "q", "Answer": t}) for t in texts]
        ids = backend.add_notes(notes)
        got = [n.fields["Answer"] for n in backend.read_notes(ids)]
        backend.delete_notes(ids)
    assert got == [anki_stored_text(t) for t in texts]


_SHARED: dict[str, Path] = {}


def _shared_bench_collection(factory: Any) -> Path:
    # one collection for all examples: hypothesis cannot use function-scoped fixtures
    if "path" not in _SHARED:
        path = factory.mktemp("hypothesis") / "User 1" / "collection.anki2"
        path.parent.mkdir()
        with CollectionBackend(path, create=True) as backend:
            backend.ensure_note_types()
        _SHARED["path"] = path
    return _SHARED["path"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "is empty, not an Anki collection"),
        (b"\x00garbage" * 10, "is not an Anki collection (not a database)"),
        (None, "is a database but not an Anki collection"),
    ],
)
def test_a_file_that_is_not_a_collection_is_refused_and_left_as_it_is(
    tmp_path: Path, content: bytes | None, said: str
) -> None:
    """Anki's engine makes a new empty collection of such a file: a sync would then
    delete every note. It is refused, and the file is not touched."""
    import sqlite3

    path = tmp_path / "User 1" / "collection.anki2"
    path.parent.mkdir()
    if content is None:
        db = sqlite3.connect(path)
        db.execute("create table things (x)")
        db.commit()
        db.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(AnkiUnavailable) as err:
        CollectionBackend(path)
    assert said in str(err.value) and "nothing was read or written" in str(err.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["collection.anki2"]


def test_a_read_only_collection_is_one_clear_message(
    anki_collection_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    writable = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and writable(p, mode))
    with pytest.raises(AnkiUnavailable, match="is read-only: ankiops-git writes to"):
        CollectionBackend(anki_collection_path)
