"""Moving over from AnkiOps: folders and collections made by the published AnkiOps
(tests/ankiops_peer.py, on real Anki) adopted by `ankiops-git init`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ankiops_peer import Peer, _peer_venv, ankiops_peer  # noqa: F401  (fixtures)
from realanki import RealAnki

pytestmark = pytest.mark.real_anki


def key_map(folder: Path) -> dict[str, int]:
    """AnkiOps' own record: note_key -> Anki note id."""
    with sqlite3.connect(folder / ".ankiops.db") as db:
        return dict(db.execute("select note_key, note_id from note_state").fetchall())


def anki_keys(real_anki: RealAnki) -> dict[int, str]:
    """Anki's AnkiOps notes: note id -> their `AnkiOps Key` field."""
    rows = real_anki.col.db.all(
        "select n.id, n.flds, m.name from notes n join notetypes m on m.id = n.mid"
    )
    out: dict[int, str] = {}
    for note_id, flds, model in rows:
        assert model.startswith("AnkiOps"), (note_id, model)
        fields = real_anki.col.run(_field_names, model)
        out[note_id] = dict(zip(fields, flds.split("\x1f"), strict=True))["AnkiOps Key"]
    return out


def _field_names(col, model):  # type: ignore[no-untyped-def]
    return [f["name"] for f in col.models.by_name(model)["flds"]]


def test_the_peer_syncs_its_tutorial_into_real_anki(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    folder = tmp_path / "ankiops"
    ankiops_peer.tutorial(folder)
    keys = key_map(folder)
    assert len(keys) == 5
    text = (folder / "AnkiOps Tutorial.md").read_text(encoding="utf-8")
    assert all(f"<!-- note_key: {k} -->" in text for k in keys)
    assert anki_keys(real_anki) == {note_id: key for key, note_id in keys.items()}
