"""Syncing with AnkiWeb's protocol, against the official sync server of the `anki`
package (`python -m anki.syncserver`, tests/syncserver.py) on loopback.

Two collections play "desktop" (a deck repository on it, the collection file backend,
sync = true in ankiops.toml) and "phone" (an Anki profile folder of its own, synced by
`ankiops-git sync --anki phone`, or edited and synced in-process as AnkiDroid would).
One server serves the module; each test logs in with an account of its own.
"""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from anki.collection import AddNoteRequest, Collection
from anki.decks import DeckId
from gitrepo import BIN, git_env
from syncserver import SyncServer, free_port, make_profile

from ankiops_git.anki import ankiweb
from ankiops_git.anki.ankiweb import (
    FullSyncRequired,
    MemoryLoginStore,
    SyncFailed,
)

PASSWORD_ENV = "ANKIOPS_SYNC_PASSWORD"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    running = SyncServer(tmp_path_factory.mktemp("syncserver") / "base")
    running.start()
    yield running
    running.stop()


def add_qa(col: Collection, deck: str, question: str, answer: str) -> int:
    model = col.models.by_name("AnkiOpsQA")
    assert model is not None
    note = col.new_note(model)
    note["Question"], note["Answer"] = question, answer
    deck_id = col.decks.id(deck, create=True)
    assert deck_id is not None
    col.add_notes([AddNoteRequest(note=note, deck_id=DeckId(deck_id))])
    return int(note.id)


def add_basic(col: Collection, front: str) -> int:
    model = col.models.by_name("Basic")
    assert model is not None
    note = col.new_note(model)
    note["Front"], note["Back"] = front, front
    col.add_notes([AddNoteRequest(note=note, deck_id=DeckId(1))])
    return int(note.id)


def profile_settings(base: Path, name: str) -> dict[str, object]:
    db = sqlite3.connect(base / "prefs21.db")
    row = db.execute("select data from profiles where name = ?", (name,)).fetchone()
    db.close()
    data: dict[str, object] = pickle.loads(row[0])
    return data


@dataclass
class Desk:
    """The desktop side: a deck repository (after `ankiops-git init`) on a collection
    file, and the phone: an Anki profile "phone" under `anki_base`."""

    root: Path
    col_path: Path
    anki_base: Path
    env: dict[str, str]
    ids: dict[str, int]

    @property
    def phone_path(self) -> Path:
        return self.anki_base / "phone" / "collection.anki2"

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(args),
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def ankiops(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "ankiops-git"), *args, check=check, **env)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def deck(self, name: str = "Spanish") -> str:
        return (self.root / f"{name}.md").read_text(encoding="utf-8")


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """A user error: exit 1, one line on stderr, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def desk(tmp_path: Path, anki_collection_path: Path) -> Desk:
    col = Collection(str(anki_collection_path))
    try:
        ids = {
            "ser": add_qa(col, "Spanish", "ser?", "to be"),
            "tener": add_qa(col, "Spanish", "tener?", "to have"),
        }
        col.db.execute("update notes set mod = mod - 3600")  # type: ignore[union-attr]
    finally:
        col.close()
    env = git_env(tmp_path, ANKI_BASE=str(tmp_path / "Anki2"))
    root = tmp_path / "decks"
    init = subprocess.run(
        [str(BIN / "ankiops-git"), "init", str(root), "--anki", str(anki_collection_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    make_profile(tmp_path / "Anki2", "phone")
    return Desk(root, anki_collection_path, tmp_path / "Anki2", env, ids)


def login_both(desk: Desk, server: SyncServer) -> tuple[str, str]:
    user, password = server.account()
    for where in ((), ("--anki", "phone")):
        done = desk.ankiops(
            "login", "--endpoint", server.endpoint, "-u", user, *where, **{PASSWORD_ENV: password}
        )
        assert f"logged in to {server.endpoint} as {user}" in done.stdout
    return user, password


def first_sync(desk: Desk, server: SyncServer) -> str:
    """Login on both sides, the desktop's first full upload, the phone's full download;
    the account's user name."""
    user, _ = login_both(desk, server)
    first = one_error_line(desk.ankiops("sync", check=False))
    assert "a first full upload is needed" in first and "`--upload`" in first
    assert "(2 note(s), 2 card(s))" in first and "nothing to lose" in first
    assert "uploaded to" in desk.ankiops("sync", "--upload").stdout
    phone = one_error_line(desk.ankiops("sync", "--anki", "phone", check=False))
    assert "This collection has no cards" in phone and "`--download`" in phone
    assert "(2 note(s), 2 card(s))" in phone
    assert "downloaded from" in desk.ankiops("sync", "--anki", "phone", "--download").stdout
    return user


def enable_sync(desk: Desk) -> None:
    toml = desk.root / "ankiops.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "sync = true\n", encoding="utf-8")
    desk.git("add", "ankiops.toml")
    committed = desk.git("commit", "-q", "-m", "sync with the server")
    assert "sync: synced" not in committed.stderr  # nothing pushed: no sync


# --- the loop: phone -> files, files -> phone, media both ways --------------------------


def test_phone_edits_reach_the_files_and_markdown_edits_reach_the_phone(
    desk: Desk, server: SyncServer
) -> None:
    user = first_sync(desk, server)
    # The login is where Anki keeps it (the phone's profile) and in the repository's
    # git config (the desktop's bare collection path); the password nowhere.
    settings = profile_settings(desk.anki_base, "phone")
    assert settings["syncKey"] and settings["customSyncUrl"] == server.endpoint
    assert settings["syncUser"] == user
    assert b"pass" not in (desk.anki_base / "prefs21.db").read_bytes()
    config = (desk.root / ".git" / "config").read_text()
    assert "synckey = " in config and f"syncendpoint = {server.endpoint}" in config
    assert "pass" not in config
    enable_sync(desk)

    # On the phone: an edit, a new note with an image; synced as AnkiDroid would.
    phone = Collection(str(desk.phone_path))
    try:
        note = phone.get_note(desk.ids["ser"])  # type: ignore[arg-type]
        note["Answer"] = "to be (edited on the phone)"
        phone.update_note(note)
        phone.media.write_data("phone.png", b"\x89PNG phone")
        new_id = add_qa(phone, "Spanish", 'photo? <img src="phone.png">', "from the phone")
        ankiweb.sync(phone, ankiweb.login_store(desk.phone_path))
    finally:
        phone.close()

    pulled = desk.git("pull", "anki")
    assert "sync: synced " + server.endpoint + " (with media)" in pulled.stderr
    text = desk.deck()
    assert "to be (edited on the phone)" in text
    assert f"<!-- note_id: {new_id} -->" in text and "from the phone" in text
    desk_col = Collection(str(desk.col_path))
    try:
        assert (Path(desk_col.media.dir()) / "phone.png").read_bytes() == b"\x89PNG phone"
    finally:
        desk_col.close()

    # the phone's picture came along into media/ (the fetch brings what notes show)
    assert (desk.root / "media" / "phone.png").read_bytes() == b"\x89PNG phone"

    # In the files: an edit and a new note with an image under media/; the commit
    # pushes (post-commit hook) and syncs.
    (desk.root / "media" / "desk.png").write_bytes(b"\x89PNG desk")
    edited = text.replace("A: to have", "A: to have (edited in Markdown)")
    assert edited != text
    edited += '\n---\n\nQ: a picture? <img src="desk.png">\nA: from the desk\n'
    (desk.root / "Spanish.md").write_text(edited, encoding="utf-8")
    desk.git("add", "Spanish.md", "media/desk.png")
    committed = desk.git("commit", "-q", "-m", "edit in Markdown")
    assert "anki (pushed): " in committed.stderr
    assert "sync: synced " + server.endpoint in committed.stderr

    assert "synced" in desk.ankiops("sync", "--anki", "phone").stdout
    phone = Collection(str(desk.phone_path))
    try:
        answer = phone.get_note(desk.ids["tener"])["Answer"]  # type: ignore[arg-type]
        assert answer == "to have (edited in Markdown)"
        assert phone.find_notes('"Answer:from the desk"')
        assert (Path(phone.media.dir()) / "desk.png").read_bytes() == b"\x89PNG desk"
    finally:
        phone.close()

    # `git push anki` (the remote helper, here without the hook) syncs after it writes.
    (desk.root / "Spanish.md").write_text(
        desk.deck().replace("A: from the desk", "A: pushed by git push"), encoding="utf-8"
    )
    desk.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-am", "by git push")
    pushed = desk.git("push", "anki")
    assert "anki (pushed): " in pushed.stderr and "sync: synced" in pushed.stderr
    assert "synced" in desk.ankiops("sync", "--anki", "phone").stdout
    phone = Collection(str(desk.phone_path))
    try:
        assert phone.find_notes('"Answer:pushed by git push"')
    finally:
        phone.close()


# --- errors: wrong password, server down, full sync refused --------------------------------


def test_wrong_password_is_one_line_and_keeps_no_login(desk: Desk, server: SyncServer) -> None:
    user, _ = server.account()
    done = desk.ankiops(
        "login", "--endpoint", server.endpoint, "-u", user, check=False, **{PASSWORD_ENV: "nope"}
    )
    line = one_error_line(done)
    assert line.startswith(f"ankiops-git: {server.endpoint} refused the user name or password")
    assert "synckey" not in (desk.root / ".git" / "config").read_text()
    assert "Not logged in" in one_error_line(desk.ankiops("sync", check=False))
    phone = desk.ankiops(
        "login",
        *("--anki", "phone", "--endpoint", server.endpoint, "-u", user),
        check=False,
        **{PASSWORD_ENV: "nope"},
    )
    assert f"{server.endpoint} refused the user name or password" in one_error_line(phone)
    assert "customSyncUrl" not in profile_settings(desk.anki_base, "phone")
    assert profile_settings(desk.anki_base, "phone")["syncKey"] is None


def test_server_down(desk: Desk, tmp_path: Path) -> None:
    down = SyncServer(tmp_path / "down" / "base", accounts=1, port=free_port())
    down.start()
    login_both(desk, down)
    assert "uploaded to" in desk.ankiops("sync", "--upload").stdout
    enable_sync(desk)
    down.stop()

    line = one_error_line(desk.ankiops("sync", check=False))
    assert line.startswith(f"ankiops-git: Cannot reach the sync server {down.endpoint}")
    assert "nothing was synced" in line
    # With sync = true, a pull still fetches what the collection has, and says why it
    # did not sync first.
    col = Collection(str(desk.col_path))
    try:
        note = col.get_note(desk.ids["ser"])  # type: ignore[arg-type]
        note["Answer"] = "edited with the server down"
        col.update_note(note)
    finally:
        col.close()
    pulled = desk.git("pull", "anki")
    assert "sync: not synced: Cannot reach the sync server" in pulled.stderr
    assert "edited with the server down" in desk.deck()


def test_a_full_sync_is_refused_without_a_direction(tmp_path: Path, server: SyncServer) -> None:
    user, password = server.account()
    for side in ("desk", "phone"):
        (tmp_path / side).mkdir()
    desk_col = Collection(str(tmp_path / "desk" / "collection.anki2"))
    phone_col = Collection(str(tmp_path / "phone" / "collection.anki2"))
    desk_store, phone_store = MemoryLoginStore(), MemoryLoginStore()
    try:
        for col, store in ((desk_col, desk_store), (phone_col, phone_store)):
            ankiweb.login(col, store, user, password, server.endpoint)
        add_basic(desk_col, "one")
        with pytest.raises(FullSyncRequired) as refused:
            ankiweb.sync(desk_col, desk_store, full="download")
        assert refused.value.choices == ("upload",)
        assert "Downloading is not possible" in str(refused.value)
        assert ankiweb.sync(desk_col, desk_store, full="upload").kind == "upload"
        assert ankiweb.sync(phone_col, phone_store, full="download").kind == "download"
        # The phone adds two notes and a review, and syncs; the desktop changes a note
        # type (a full sync) and adds a note of its own.
        for q in ("two", "three"):
            add_basic(phone_col, q)
        card = phone_col.get_card(phone_col.find_cards("")[0])
        card.start_timer()
        phone_col.sched.answerCard(card, 3)
        assert ankiweb.sync(phone_col, phone_store).kind == "normal"
        model = desk_col.models.by_name("Basic")
        assert model is not None
        desk_col.models.add_field(model, desk_col.models.new_field("Extra"))
        desk_col.models.update_dict(model)
        add_basic(desk_col, "four")
        before = desk_col.note_count()

        with pytest.raises(FullSyncRequired) as refused:
            ankiweb.sync(desk_col, desk_store)
        message = str(refused.value)
        assert refused.value.choices == ("upload", "download")
        assert "Nothing was synced" in message
        # Upload: the server loses the phone's two notes and its review; download:
        # this side loses its new note.
        assert (
            "`--upload`: this collection replaces the server's: the server (and every "
            "device at its next sync) loses 2 note(s) not on the other side, 0 note(s) "
            "edited more recently than there, 1 review(s) not on the other side"
        ) in message
        assert (
            "`--download`: the server's collection replaces this one: this collection "
            "loses 1 note(s) not on the other side"
        ) in message
        assert desk_col.note_count() == before  # nothing changed on either side
        assert ankiweb.sync(phone_col, phone_store).kind == "normal"
        assert phone_col.note_count() == 3

        assert ankiweb.sync(desk_col, desk_store, full="download").kind == "download"
        assert desk_col.note_count() == 3
        assert {desk_col.get_note(n)["Front"] for n in desk_col.find_notes("")} == {
            "one",
            "two",
            "three",
        }
    finally:
        desk_col.close()
        phone_col.close()


def test_cli_full_sync_message_names_both_flags(desk: Desk, server: SyncServer) -> None:
    first_sync(desk, server)
    col = Collection(str(desk.col_path))
    try:
        model = col.models.by_name("Basic")
        assert model is not None
        col.models.add_field(model, col.models.new_field("Extra"))
        col.models.update_dict(model)
    finally:
        col.close()
    line = one_error_line(desk.ankiops("sync", check=False))
    assert "Anki needs a full sync" in line and "`--upload`" in line and "`--download`" in line
    assert "loses 0 note(s) not on the other side" in line
    assert "uploaded to" in desk.ankiops("sync", "--upload").stdout
    assert "synced" in desk.ankiops("sync").stdout  # and then normal syncs again


def test_login_over_ankiconnect_says_to_log_in_within_anki(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "ankiops-git"), "login", "--anki", "http://127.0.0.1:9", "-u", "x"],
        env=git_env(tmp_path, **{PASSWORD_ENV: "y"}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "log in within Anki" in one_error_line(done)


def test_a_bare_collection_outside_a_repository_has_nowhere_to_keep_a_login(
    tmp_path: Path, anki_collection_path: Path, server: SyncServer
) -> None:
    user, password = server.account()
    done = subprocess.run(
        [str(BIN / "ankiops-git"), "login", "--anki", str(anki_collection_path), "-u", user],
        env={**git_env(tmp_path), PASSWORD_ENV: password},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "run this inside the repository of deck files" in one_error_line(done)
    with pytest.raises(SyncFailed, match="Not logged in"):
        col = Collection(str(anki_collection_path))
        try:
            ankiweb.sync(col, MemoryLoginStore())
        finally:
            col.close()


READ_AS_ANKI = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from aqt.profiles import ProfileManager
pm = ProfileManager(Path(sys.argv[1]))
pm.setupMeta()
pm.load("phone")
auth = pm.sync_auth()
print(auth.hkey, auth.endpoint, pm.profile.get("syncUser"), pm.custom_sync_url())
"""


@pytest.mark.real_anki
def test_anki_desktop_reads_the_login_kept_in_its_profile(
    tmp_path: Path, server: SyncServer
) -> None:
    """Anki desktop's own ProfileManager (aqt/profiles.py) finds the key and server a
    login kept, so its Sync button uses them."""
    import realanki

    python = realanki.anki_venv() / "bin" / "python"
    if why := realanki.unavailable():  # the tier's own rule and message
        if realanki.required():
            pytest.fail(why)
        pytest.skip(why)
    path = make_profile(tmp_path / "Anki2", "phone")
    user, password = server.account()
    col = Collection(str(path))
    try:
        kept = ankiweb.login(col, ankiweb.login_store(path), user, password, server.endpoint)
    finally:
        col.close()
    done = subprocess.run(
        [str(python), "-c", READ_AS_ANKI, str(tmp_path / "Anki2")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [kept.key, server.endpoint, user, server.endpoint]
