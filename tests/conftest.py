"""Shared fixtures: real Anki collections, and both backends over them.

Fixtures for other tests to use:

- `anki_collection_path`: a fresh collection.anki2 (closed, unlocked) with the five
  AnkiOps note types, at `tmp_path/"User 1"/collection.anki2` (so its profile is
  "User 1"). Copied from a per-session template, so it costs a file copy.
- `empty_collection_path`: the same without the AnkiOps note types (Anki's stock
  note types only), for testing `ensure_note_types` and first-time setup.
- `collection_backend`: a `CollectionBackend` open on `anki_collection_path`
  (closed after the test).
- `ankiconnect_server`: a loopback AnkiConnect server (tests/ankiconnect_server.py)
  on 127.0.0.1 with a random port, holding `anki_collection_path` open the way Anki
  desktop does (a `CollectionBackend` on the same file fails while it runs).
  `.url` is its address, `.col` its `anki.collection.Collection`.
- `connect_backend`: a `ConnectBackend` talking to `ankiconnect_server`, expecting
  profile "User 1" (so every call also checks the active profile, as sync does).
- `backend`: parametrised over ["collection", "connect"]: a test using it runs once
  against each backend, on the same kind of fresh collection.
- `anki_col`: the `anki.collection.Collection` under `backend`, for checking Anki's
  state directly (raw rows, cards). Use it between backend calls, not during one.
- `add_basic_note(col, deck, front, back) -> note id`: a plain function (not a fixture)
  adding an unmanaged "Basic" note, for tests that check such notes stay untouched.
- `replace_cloze_type_with_a_standard_one(col)`: a plain function making the note
  types unfit (AnkiOpsCloze not a cloze type), for note type checks.
- Constants: `PROFILE` ("User 1"), `BACKENDS` (["collection", "connect"]).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from anki.collection import AddNoteRequest, Collection
from anki.decks import DeckId

from ankiops_git.anki.base import Backend
from ankiops_git.anki.collection import CollectionBackend

if TYPE_CHECKING:
    from ankiconnect_server import LoopbackAnkiConnect

    from ankiops_git.anki.connect import ConnectBackend

# tests/ is not a package: make the loopback server importable from any test.
sys.path.insert(0, str(Path(__file__).parent))

PROFILE = "User 1"
BACKENDS = ["collection", "connect"]


def _make_collection(path: Path, with_note_types: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = CollectionBackend(path, create=True)
    try:
        if with_note_types:
            backend.ensure_note_types()
    finally:
        backend.close()


@pytest.fixture(scope="session")
def _collection_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("anki-templates")
    out = {"managed": root / "managed" / "collection.anki2", "empty": root / "empty" / "c.anki2"}
    _make_collection(out["managed"], with_note_types=True)
    _make_collection(out["empty"], with_note_types=False)
    return out


def _copy_collection(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / PROFILE / "collection.anki2"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


@pytest.fixture
def anki_collection_path(tmp_path: Path, _collection_templates: dict[str, Path]) -> Path:
    """A fresh, closed collection file with the AnkiOps note types; profile "User 1"."""
    return _copy_collection(_collection_templates["managed"], tmp_path)


@pytest.fixture
def empty_collection_path(tmp_path: Path, _collection_templates: dict[str, Path]) -> Path:
    """A fresh, closed collection file with only Anki's stock note types."""
    return _copy_collection(_collection_templates["empty"], tmp_path)


@pytest.fixture
def collection_backend(anki_collection_path: Path) -> Iterator[CollectionBackend]:
    backend = CollectionBackend(anki_collection_path)
    yield backend
    backend.close()


@pytest.fixture
def ankiconnect_server(anki_collection_path: Path) -> Iterator[LoopbackAnkiConnect]:
    from ankiconnect_server import LoopbackAnkiConnect

    server = LoopbackAnkiConnect(anki_collection_path, profile=PROFILE)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def connect_backend(ankiconnect_server: LoopbackAnkiConnect) -> Iterator[ConnectBackend]:
    from ankiops_git.anki.connect import ConnectBackend

    backend = ConnectBackend(ankiconnect_server.url, profile=PROFILE)
    yield backend
    backend.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn, over a fresh collection with the AnkiOps note types."""
    name = "collection_backend" if request.param == "collection" else "connect_backend"
    result: Backend = request.getfixturevalue(name)
    return result


@pytest.fixture
def anki_col(request: pytest.FixtureRequest, backend: Backend) -> Collection:
    """The Anki collection under `backend` (direct access for checking state)."""
    if isinstance(backend, CollectionBackend):
        return backend.col
    server: LoopbackAnkiConnect = request.getfixturevalue("ankiconnect_server")
    return server.col


def add_basic_note(col: Collection, deck: str, front: str, back: str) -> int:
    """Add an unmanaged note of Anki's stock "Basic" type; returns its id."""
    model = col.models.by_name("Basic")
    assert model is not None
    note = col.new_note(model)
    note["Front"], note["Back"] = front, back
    deck_id = col.decks.id(deck, create=True)
    assert deck_id is not None
    col.add_notes([AddNoteRequest(note=note, deck_id=DeckId(deck_id))])
    return int(note.id)


def replace_cloze_type_with_a_standard_one(col: Collection) -> None:
    """Swap AnkiOpsCloze for a standard (non-cloze) type with its fields, and drop
    AnkiOpsChoice: a collection ensure_note_types() must refuse."""
    mm = col.models
    for name in ("AnkiOpsCloze", "AnkiOpsChoice"):
        model = mm.by_name(name)
        assert model is not None
        mm.remove(model["id"])
    fake = mm.new("AnkiOpsCloze")  # the cloze type's fields, but not a cloze type
    for name in ("Text", "Extra", "More"):
        mm.add_field(fake, mm.new_field(name))
    template = mm.new_template("Card 1")
    template["qfmt"], template["afmt"] = "{{Text}}", "{{Text}}"
    mm.add_template(fake, template)
    mm.add(fake)
