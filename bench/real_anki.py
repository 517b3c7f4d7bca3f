"""Real Anki desktop with the real AnkiConnect add-on as a benchmark backend ("real").

Anki runs headless through tests/realanki.py (`real-anki.sh` of the shared kit, the
Anki venv of `make real-anki`), on the profile the benchmark's repositories belong to
("Bench", named in their ankiops.toml), with a copy of the generated collection file
as that profile's collection: the file is put in the profile folder while Anki is
stopped, and Anki opens it at start, as it would a profile folder a user copied in.

What the cases need of Anki beyond AnkiConnect (the ids of the managed notes, edits
"made in Anki's editor", an empty collection for the first push) goes through the
probe add-on (`RemoteCollection`), never through the code under test. The floors
talk to the add-on directly: `post` is one AnkiConnect request on a fresh connection,
as our client sends it, with nothing of our client around it.
"""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ankiops_git.anki.base import NewNote
from bench import corpus

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import realanki  # noqa: E402  (tests/realanki.py)

API_VERSION = 6


def unavailable() -> str | None:
    """Why real Anki cannot run here (no kit, no Anki venv), or None."""
    return realanki.unavailable()


def version() -> str:
    """'Anki desktop X ... AnkiConnect' for the machine line."""
    venv = realanki.anki_venv()
    found = sorted(venv.glob("lib/python3*/site-packages/aqt-*.dist-info"))
    aqt = found[-1].name.removesuffix(".dist-info").split("-")[1] if found else "?"
    return f"Anki desktop {aqt} (aqt) with the real AnkiConnect add-on, headless"


class BenchAnki(realanki.RealAnki):
    """Real Anki on the benchmark's profile rather than the tests' "User 1"."""

    profile_name = corpus.PROFILE

    def _env(self) -> dict[str, str]:
        env = super()._env()
        env["ANKI_PROFILE"] = self.profile_name
        return env

    @property
    def collection_path(self) -> Path:
        return self.base / self.profile_name / "collection.anki2"


@realanki.in_anki
def managed_note_ids(col: Any) -> list[int]:
    """Ids of the notes of AnkiOps note types, ascending."""
    return sorted(
        int(i)
        for i in col.db.list(
            "select n.id from notes n join notetypes m on m.id = n.mid where m.name like 'AnkiOps%'"
        )
    )


@realanki.in_anki
def edit_first_fields(col: Any, note_ids: list[int], stamp: str) -> None:
    """Append a line to the first field of these notes, as Anki's editor would save it."""
    notes = [col.get_note(nid) for nid in note_ids]
    for note in notes:
        note.fields[0] = note.fields[0] + f"<br>edited {stamp}"
    col.update_notes(notes)


@realanki.in_anki
def note_count(col: Any) -> int:
    return int(col.db.scalar("select count() from notes"))


def post(url: str, action: str, **params: Any) -> Any:
    """One AnkiConnect request (API version 6) on a new connection; its result."""
    parts = urlsplit(url)
    body = json.dumps({"action": action, "version": API_VERSION, "params": params})
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=900)
    try:
        connection.request(
            "POST",
            "/",
            body=body.encode("utf-8"),
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        reply = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    if reply.get("error") is not None:
        raise RuntimeError(f"AnkiConnect refused {action}: {reply['error']}")
    return reply["result"]


def add_notes_directly(url: str, notes: Sequence[NewNote], batch: int) -> int:
    """What the add-on itself needs to add these notes: one `multi` of `createDeck` for
    their decks, then `addNotes` per `batch` notes, with the options our client sends.
    The number of requests made."""
    decks = sorted({n.deck for n in notes})
    post(
        url,
        "multi",
        actions=[
            {"action": "createDeck", "version": API_VERSION, "params": {"deck": d}} for d in decks
        ],
    )
    requests = 1
    for start in range(0, len(notes), batch):
        payload = [
            {
                "deckName": n.deck,
                "modelName": n.note_type,
                "fields": dict(n.fields),
                "tags": list(n.tags),
                "options": {"allowDuplicate": True, "duplicateScope": "deck"},
            }
            for n in notes[start : start + batch]
        ]
        added = post(url, "addNotes", notes=payload)
        assert len(added) == len(payload) and all(added), "addNotes left notes out"
        requests += 1
    return requests
