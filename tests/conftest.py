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
- `real_anki`: real Anki desktop with the real AnkiConnect add-on (tests/realanki.py),
  its collection reset to a new profile's; skips where the tier cannot run (fails
  instead with ANKIOPS_REQUIRE_REAL_ANKI=1). `real_backend`: a `ConnectBackend` on it,
  with the AnkiOps note types created.
- `backend`: parametrised over BACKENDS ("collection", "connect", "real"): a test
  using it runs once against each backend, on the same kind of fresh collection.
- `anki_col`: the collection under `backend`, for checking Anki's state directly (raw
  rows, cards): an `anki.collection.Collection`, or for real Anki a
  `realanki.RemoteCollection` (the same calls with JSON arguments and results, and
  `run(fn, ...)`; helpers marked `@in_anki` take either). Use it between backend
  calls, not during one.
- `add_basic_note(col, deck, front, back) -> note id`: a plain function (not a fixture)
  adding an unmanaged "Basic" note, for tests that check such notes stay untouched.
- `replace_cloze_type_with_a_standard_one(col)`: a plain function making the note
  types unfit (AnkiOpsCloze not a cloze type), for note type checks.
- Constants: `PROFILE` ("User 1"), `BACKENDS`; `backend_params()` is BACKENDS for
  `pytest.mark.parametrize`/fixture params, "real" marked `real_anki`.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from anki.collection import Collection

from ankiops_git.anki.base import Backend
from ankiops_git.anki.collection import CollectionBackend

# tests/ is not a package: make the helpers beside this file importable from any test.
sys.path.insert(0, str(Path(__file__).parent))

from realanki import RealAnki, in_anki  # noqa: E402

if TYPE_CHECKING:
    from ankiconnect_server import LoopbackAnkiConnect

    from ankiops_git.anki.connect import ConnectBackend

PROFILE = "User 1"
BACKENDS = ["collection", "connect", "real"]


def backend_params() -> list[Any]:
    return [pytest.param(b, marks=pytest.mark.real_anki) if b == "real" else b for b in BACKENDS]


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

    backend = ConnectBackend(ankiconnect_server.url, profile=PROFILE, remember_reads=True)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def _real_anki_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAnki]:
    import realanki

    why = realanki.unavailable()
    if why is not None:
        if realanki.required():
            pytest.fail(f"{why}; {realanki.REQUIRE_ENV} is set, so this is a failure")
        pytest.skip(why)
    app = RealAnki(tmp_path_factory.mktemp("real-anki"))
    app.start()
    yield app
    app.stop()


@pytest.fixture
def real_anki(_real_anki_app: RealAnki) -> RealAnki:
    """Real Anki desktop, its collection as a new profile's (no AnkiOps note types)."""
    _real_anki_app.reset()
    return _real_anki_app


@pytest.fixture
def real_backend(real_anki: RealAnki) -> Iterator[ConnectBackend]:
    from ankiops_git.anki.connect import ConnectBackend

    backend = ConnectBackend(real_anki.url, profile=PROFILE)
    backend.ensure_note_types()
    yield backend
    backend.close()


_BACKEND_FIXTURES = {
    "collection": "collection_backend",
    "connect": "connect_backend",
    "real": "real_backend",
}


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn, over a fresh collection with the AnkiOps note types."""
    result: Backend = request.getfixturevalue(_BACKEND_FIXTURES[request.param])
    return result


@pytest.fixture
def anki_col(request: pytest.FixtureRequest, backend: Backend) -> Any:
    """The Anki collection under `backend` (direct access for checking state)."""
    if isinstance(backend, CollectionBackend):
        return backend.col
    if request.node.callspec.params["backend"] == "real":
        real: RealAnki = request.getfixturevalue("real_anki")
        return real.col
    server: LoopbackAnkiConnect = request.getfixturevalue("ankiconnect_server")
    return server.col


@in_anki
def add_basic_note(col: Collection, deck: str, front: str, back: str) -> int:
    """Add an unmanaged note of Anki's stock "Basic" type; returns its id."""
    from anki.collection import AddNoteRequest
    from anki.decks import DeckId

    model = col.models.by_name("Basic")
    assert model is not None
    note = col.new_note(model)
    note["Front"], note["Back"] = front, back
    deck_id = col.decks.id(deck, create=True)
    assert deck_id is not None
    col.add_notes([AddNoteRequest(note=note, deck_id=DeckId(deck_id))])
    return int(note.id)


@in_anki
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
