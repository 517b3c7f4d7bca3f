"""The AnkiConnect backend's own behaviour: transport, errors, verification, batching.

Every error the user can meet has a test checking its message. The loopback server
(tests/ankiconnect_server.py) answers as the real add-on does.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from ankiconnect_server import LoopbackAnkiConnect
from conftest import replace_cloze_type_with_a_standard_one

from ankiops_git.anki import open_backend
from ankiops_git.anki.base import NewNote, NoteUpdate
from ankiops_git.anki.connect import ConnectBackend
from ankiops_git.errors import AnkiBusy, AnkiRejected, AnkiUnavailable, NotesRefused, WrongProfile

WRITES = {"addNotes", "addNote", "createDeck", "updateNote", "changeDeck", "deleteNotes"}


def _qa(q: str, deck: str = "D") -> NewNote:
    return NewNote("AnkiOpsQA", deck, {"Question": q, "Answer": "a"})


def _post(url: str, payload: object) -> object:
    return requests.post(url, data=json.dumps(payload), timeout=10).json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- connection handling ------------------------------------------------------------


def test_anki_not_running_says_what_to_do() -> None:
    backend = ConnectBackend(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(AnkiUnavailable) as err:
        backend.decks()
    message = str(err.value)
    assert "Cannot reach AnkiConnect at http://127.0.0.1:" in message
    assert "connection refused" in message
    assert "Start Anki" in message and "2055492159" in message
    assert "anki::/path/to/collection.anki2" in message


def test_server_closes_like_the_addon_and_punishes_reused_connections(
    anki_collection_path: Path,
) -> None:
    """The loopback server closes every connection after one reply, a little later, the
    way the add-on's poll loop does. A keep-alive client then fails; this proves the
    next test would catch a client that reuses connections."""
    server = LoopbackAnkiConnect(anki_collection_path, close_delay=0.3)
    server.start()
    try:
        payload = {"action": "version", "version": 6}
        failures = 0
        with requests.Session() as session:
            for _ in range(6):
                try:
                    assert session.post(server.url, json=payload, timeout=5).json() == {
                        "result": 6,
                        "error": None,
                    }
                except requests.exceptions.ConnectionError:
                    failures += 1
        assert failures >= 1
        assert server.reused_connections == failures
    finally:
        server.stop()


def test_client_uses_a_fresh_connection_per_request(anki_collection_path: Path) -> None:
    server = LoopbackAnkiConnect(anki_collection_path, close_delay=0.05)
    server.start()
    try:
        backend = ConnectBackend(server.url)
        ids = backend.add_notes([_qa(f"q{i}") for i in range(5)])
        for _ in range(15):  # back-to-back, as sync does
            assert len(backend.read_notes(ids)) == 5
            backend.mod_times()
        assert server.requests > 45
        # one request per connection: nothing was sent on a connection being closed
        assert server.reused_connections == 0
        assert server.connections == server.requests
    finally:
        server.stop()


# -- protocol details the client relies on ---------------------------------------------


def test_server_speaks_version_4_without_version_and_checks_nested_keys(
    ankiconnect_server: LoopbackAnkiConnect,
) -> None:
    url = ankiconnect_server.url
    assert _post(url, {"action": "version"}) == 6  # bare reply: version 4
    assert _post(url, {"action": "version", "version": 6}) == {"result": 6, "error": None}
    assert _post(url, {"action": "nope", "version": 6}) == {
        "result": None,
        "error": "unsupported action",
    }
    ankiconnect_server.api_key = "k"
    reply = _post(
        url,
        {
            "action": "multi",
            "version": 6,
            "key": "k",
            "params": {"actions": [{"action": "version", "version": 6}]},
        },
    )
    assert reply == {
        "result": [{"result": None, "error": "valid api key must be provided"}],
        "error": None,
    }


def test_server_addnotes_is_all_or_nothing(
    ankiconnect_server: LoopbackAnkiConnect,
) -> None:
    note = {"deckName": "Default", "modelName": "AnkiOpsQA", "fields": {"Question": "same"}}
    reply = _post(
        ankiconnect_server.url,
        {"action": "addNotes", "version": 6, "params": {"notes": [note, note]}},
    )
    assert reply == {
        "result": None,
        "error": "['cannot create note because it is a duplicate']",
    }
    assert ankiconnect_server.col.note_count() == 0


def test_read_notes_is_three_bulk_requests_and_never_renders_cards(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    ids = connect_backend.add_notes([_qa(f"q{i}", deck=f"D{i % 3}") for i in range(40)])
    ankiconnect_server.actions.clear()
    requests_before = ankiconnect_server.requests
    notes = connect_backend.read_notes()
    assert sorted(n.note_id for n in notes) == sorted(ids)
    assert {n.deck for n in notes} == {"D0", "D1", "D2"}
    # the profile check, then three requests: the ids, their notes, their first
    # cards' decks (+ which of those cards sit in a filtered deck, in the same `multi`)
    assert ankiconnect_server.actions == [
        "getActiveProfile",
        "findNotes",
        "notesInfo",
        "multi",
        "getDecks",
        "findCards",
    ]
    assert ankiconnect_server.requests - requests_before == 4
    assert "cardsInfo" not in ankiconnect_server.actions


def test_mod_times_fall_back_when_notesmodtime_is_missing(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    ids = connect_backend.add_notes([_qa("q1"), _qa("q2")])
    expected = connect_backend.mod_times()
    assert set(expected) == set(ids)
    ankiconnect_server.unsupported.add("notesModTime")
    assert connect_backend.mod_times() == expected


def test_one_command_asks_once_per_note_and_sees_its_own_writes(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    """What one push reads three times (its scope, the state after it, the fetch that
    brings ids back) costs a request once; each write forgets what it changed."""
    assert connect_backend.remember_reads  # the fixture's backend serves one command
    ids = connect_backend.add_notes([_qa(f"q{i}") for i in range(5)])
    connect_backend.mod_times(ids)
    connect_backend.note_decks(ids)
    ankiconnect_server.actions.clear()
    before = ankiconnect_server.requests
    assert set(connect_backend.mod_times(ids)) == set(ids)
    assert connect_backend.note_decks(ids) == dict.fromkeys(ids, "D")
    assert {n.note_id for n in connect_backend.read_notes(ids)} == set(ids)
    assert "D" in connect_backend.decks()
    # all of it remembered: only the profile check (the fixture names a profile) asks
    assert set(ankiconnect_server.actions) == {"getActiveProfile"}
    assert ankiconnect_server.requests - before == len(ankiconnect_server.actions)
    old = connect_backend.mod_times(ids[:1])[ids[0]]
    connect_backend.update_notes([NoteUpdate(ids[0], fields={"Answer": "new"})])
    connect_backend.move_notes(ids[1:2], "E")
    connect_backend.delete_notes(ids[2:3])
    notes = {n.note_id: n for n in connect_backend.read_notes(ids)}
    assert notes[ids[0]].fields["Answer"] == "new" and notes[ids[0]].mod >= old
    assert notes[ids[1]].deck == "E" and "E" in connect_backend.decks()
    assert ids[2] not in notes and ids[2] not in connect_backend.mod_times(ids)
    assert connect_backend.note_decks(ids)[ids[1]] == "E"


def test_a_backend_for_longer_than_a_command_reads_afresh(
    ankiconnect_server: LoopbackAnkiConnect,
) -> None:
    """Without remember_reads (the default, for scripts), Anki's own changes between two
    reads are seen."""
    backend = ConnectBackend(ankiconnect_server.url)
    (note_id,) = backend.add_notes([_qa("q")])
    assert backend.read_notes([note_id])[0].fields["Answer"] == "a"
    note = ankiconnect_server.col.get_note(note_id)
    note["Answer"] = "changed in Anki"
    ankiconnect_server.col.update_note(note)
    ankiconnect_server.col.decks.id("Made in Anki", create=True)
    assert backend.read_notes([note_id])[0].fields["Answer"] == "changed in Anki"
    assert backend.mod_times([note_id])[note_id] == note.mod
    assert "Made in Anki" in backend.decks()


# -- errors the user can meet ---------------------------------------------------------------


def test_too_old_addon_names_the_action(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    connect_backend.add_notes([_qa("q")])
    ankiconnect_server.unsupported.add("notesInfo")
    with pytest.raises(AnkiUnavailable) as err:
        connect_backend.read_notes()
    message = str(err.value)
    assert "too old" in message and "'notesInfo'" in message and "Check for Updates" in message


def test_old_api_version_is_refused_before_anything_is_done(
    ankiconnect_server: LoopbackAnkiConnect,
) -> None:
    ankiconnect_server.api_version = 5
    with pytest.raises(AnkiUnavailable, match="speaks API version 5; ankiops-git needs 6"):
        ConnectBackend(ankiconnect_server.url).add_notes([_qa("q")])
    assert ankiconnect_server.actions == ["requestPermission"]


def test_api_key_missing_wrong_and_right(ankiconnect_server: LoopbackAnkiConnect) -> None:
    ankiconnect_server.api_key = "s3cret"
    with pytest.raises(AnkiUnavailable) as err:
        ConnectBackend(ankiconnect_server.url).decks()
    assert "requires an API key and none was given" in str(err.value)
    assert "ANKIOPS_ANKICONNECT_KEY" in str(err.value)
    assert "git config ankiops.apikey" in str(err.value)
    with pytest.raises(AnkiUnavailable) as err:
        ConnectBackend(ankiconnect_server.url, key="wrong").decks()
    assert "refused the API key (the key given is wrong)" in str(err.value)
    # the right key works, nested `multi` actions included (add_notes batches with multi)
    backend = ConnectBackend(ankiconnect_server.url, key="s3cret")
    (nid,) = backend.add_notes([_qa("q")])
    backend.update_notes([NoteUpdate(nid, fields={"Answer": "b"}, tags=("t",))])
    assert backend.read_notes([nid])[0].fields["Answer"] == "b"
    assert "multi" in ankiconnect_server.actions


def test_key_from_environment_via_open_backend(
    ankiconnect_server: LoopbackAnkiConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    ankiconnect_server.api_key = "envkey"
    monkeypatch.setenv("ANKIOPS_ANKICONNECT_KEY", "envkey")
    backend = open_backend(f"anki::{ankiconnect_server.url}")
    assert isinstance(backend, ConnectBackend)
    assert backend.profile() == "User 1"


def test_wrong_profile_writes_nothing(ankiconnect_server: LoopbackAnkiConnect) -> None:
    backend = ConnectBackend(ankiconnect_server.url, profile="Work")
    for call in (
        lambda: backend.add_notes([_qa("q")]),
        lambda: backend.create_deck("X"),
        lambda: backend.read_notes(),
        lambda: backend.ensure_note_types(),
    ):
        with pytest.raises(WrongProfile) as err:
            call()
        assert "'User 1'" in str(err.value) and "'Work'" in str(err.value)
        assert "nothing was read or written" in str(err.value)
    assert not WRITES & set(ankiconnect_server.actions)
    assert ankiconnect_server.col.note_count() == 0
    assert "X" not in {d.name for d in ankiconnect_server.col.decks.all_names_and_ids()}
    # the right profile goes through
    ConnectBackend(ankiconnect_server.url, profile="User 1").create_deck("X")


def test_update_that_did_not_take_effect_names_the_note(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    a, b = connect_backend.add_notes([_qa("qa"), _qa("qb")])
    ankiconnect_server.ignore_field_updates.add(b)  # b is open in Anki's browser
    with pytest.raises(AnkiRejected) as err:
        connect_backend.update_notes(
            [NoteUpdate(a, fields={"Answer": "new"}), NoteUpdate(b, fields={"Answer": "new"})]
        )
    message = str(err.value)
    assert f"{b} (Answer)" in message and str(a) not in message
    assert "open in Anki's browser" in message
    notes = {n.note_id: n for n in connect_backend.read_notes([a, b])}
    assert notes[a].fields["Answer"] == "new" and notes[b].fields["Answer"] == "a"


def test_error_in_a_batched_action_is_named(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    a, b = connect_backend.add_notes([_qa("qa"), _qa("qb")])
    ankiconnect_server.fail_actions["updateNote"] = "database is busy"
    with pytest.raises(AnkiRejected) as err:
        connect_backend.update_notes([NoteUpdate(a, tags=("x",))])
    assert str(err.value) == f"AnkiConnect refused updateNote (note {a}): database is busy"
    with pytest.raises(AnkiRejected) as err:
        connect_backend.update_notes([NoteUpdate(a, tags=("x",)), NoteUpdate(b, tags=("y",))])
    message = str(err.value)
    assert message.startswith("2 of 2 batched actions failed")
    assert f"updateNote (note {a})" in message and f"updateNote (note {b})" in message


def test_add_notes_refused_note_is_named_and_its_new_deck_removed(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    # an empty first field: the add-on refuses the note, and addNotes rolls back
    decks_before = connect_backend.decks()
    with pytest.raises(NotesRefused) as err:
        connect_backend.add_notes([_qa("", deck="New::Deck")])
    assert err.value.ids == [None]
    assert err.value.reasons == {0: "cannot create note because it is empty"}
    assert ankiconnect_server.col.note_count() == 0
    assert connect_backend.decks() == decks_before  # the decks it made are gone too


def test_sync_asks_anki_and_reports_failure(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    connect_backend.sync()
    assert ankiconnect_server.syncs == 1
    ankiconnect_server.sync_configured = False
    with pytest.raises(AnkiRejected, match="refused sync: sync: auth not configured"):
        connect_backend.sync()


class _RawServer:
    """A socket on 127.0.0.1 that accepts connections and answers with `reply` (or never)."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.reply = reply
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(client)
            if self.reply is not None:
                client.recv(65536)
                client.sendall(self.reply)
                client.close()

    def close(self) -> None:
        self.sock.close()
        for client in self.clients:
            client.close()


def test_anki_that_never_answers_times_out_with_advice() -> None:
    server = _RawServer(None)
    try:
        with pytest.raises(AnkiBusy) as err:
            ConnectBackend(server.url, timeout=0.5).decks()
        assert "did not answer 'requestPermission' within 0.5 s" in str(err.value)
        assert "may still be working on it, or be showing a dialog" in str(err.value)
        assert not isinstance(err.value, AnkiUnavailable)  # slow is not unreachable
    finally:
        server.close()


def test_a_big_media_file_gets_more_time_and_a_slow_send_is_busy_not_dropped(
    ankiconnect_server: LoopbackAnkiConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real add-on reads a request in pieces on its poll timer, and Python counts the
    whole send against the timeout: 4 MB of base64 get 40 s more than the 60 s. A send
    that still times out is "did not answer" (retry later), not "dropped"."""
    timeouts: dict[str, float] = {}
    post = requests.Session.post

    def recording(self: requests.Session, url: str, **kwargs: Any) -> requests.Response:
        action = json.loads(kwargs["data"])["action"]
        timeouts[action] = kwargs["timeout"]
        if action == "storeMediaFile" and len(kwargs["data"]) > 1_000_000:
            raise requests.exceptions.ConnectionError(
                "('Connection aborted.', TimeoutError('timed out'))"
            )
        return post(self, url, **kwargs)

    monkeypatch.setattr(requests.Session, "post", recording)
    backend = ConnectBackend(ankiconnect_server.url)
    assert backend.store_media("small.png", b"x" * 1000) == "small.png"
    assert 60 <= timeouts["storeMediaFile"] < 61
    with pytest.raises(AnkiBusy) as err:
        backend.store_media("big.png", b"x" * 3_000_000)
    assert 100 <= timeouts["storeMediaFile"] < 101
    assert "did not answer 'storeMediaFile' within 100 s" in str(err.value)


def test_something_else_on_the_port_is_named() -> None:
    page = b"<html>hello</html>"
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
        len(page),
        page,
    )
    server = _RawServer(reply)
    try:
        with pytest.raises(AnkiUnavailable, match="answered something that is not JSON"):
            ConnectBackend(server.url).decks()
    finally:
        server.close()


def test_proxy_settings_do_not_capture_local_anki(
    connect_backend: ConnectBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_proxy = f"http://127.0.0.1:{_free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert "Default" in connect_backend.decks()


def test_ensure_note_types_on_an_addon_without_findmodelsbyname(
    connect_backend: ConnectBackend, ankiconnect_server: LoopbackAnkiConnect
) -> None:
    replace_cloze_type_with_a_standard_one(ankiconnect_server.col)
    ankiconnect_server.unsupported.add("findModelsByName")
    connect_backend.ensure_note_types()  # fields match; the kind cannot be seen there
    assert ankiconnect_server.col.models.by_name("AnkiOpsChoice") is not None
    assert "modelFieldNames" in ankiconnect_server.actions


def test_api_key_from_the_repositorys_git_config(
    ankiconnect_server: LoopbackAnkiConnect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git config ankiops.apikey` reaches every command of a repository (hooks run from
    GUI clients do not see the shell's environment); the environment variable wins."""
    import pygit2

    from ankiops_git import sync
    from ankiops_git.config import Config

    monkeypatch.delenv("ANKIOPS_ANKICONNECT_KEY", raising=False)
    ankiconnect_server.api_key = "fromconfig"
    repo = pygit2.init_repository(str(tmp_path / "decks"), initial_head="main")
    repo.remotes.create("anki", f"anki::{ankiconnect_server.url}")

    def decks() -> dict[str, int]:
        with sync.open_anki(sync.remote_spec(repo), Config(), sync.api_key(repo)) as backend:
            return backend.decks()

    with pytest.raises(AnkiUnavailable, match="git config ankiops.apikey"):
        decks()
    repo.config["ankiops.apikey"] = "fromconfig"
    with sync.open_anki(sync.remote_spec(repo), Config(), sync.api_key(repo)) as backend:
        assert sync.fetch(repo, backend, Config()).created
    monkeypatch.setenv("ANKIOPS_ANKICONNECT_KEY", "wrong")
    with pytest.raises(AnkiUnavailable, match="the key given is wrong"):
        decks()
