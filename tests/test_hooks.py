"""Hooks in a real repository: pre-commit refuses broken deck files, the guard, status."""

from __future__ import annotations

import sys

import pytest
from gitrepo import BIN as VENV_BIN
from test_sync_e2e import World, templates, world  # noqa: F401 (fixtures)


def test_pre_commit_refuses_conflict_markers_and_nothing_is_pushed(world: World) -> None:  # noqa: F811
    text = world.read("Spanish.md").replace(
        "A: To have\n", "<<<<<<< HEAD\nA: To have\n=======\nA: To hold\n>>>>>>> anki\n"
    )
    world.write("Spanish.md", text)
    head = world.rev("HEAD")
    commit = world.git("commit", "-am", "broken", check=False)
    assert commit.returncode != 0
    assert "Spanish.md:" in commit.stderr and "conflict" in commit.stderr.lower()
    assert world.rev("HEAD") == head
    assert world.managed_count("To hold") == 0


def test_guard_skips_sync_and_status_shows_what_push_would_send(world: World) -> None:  # noqa: F811
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have", "A: To own"))
    env = dict(world.env, ANKIOPS_GIT_IN_HOOK="1")
    world.env, saved = env, world.env
    world.git("commit", "-qam", "quiet")
    world.env = saved
    assert world.managed_count("To own") == 0  # the guard kept the hook quiet
    world.set_field(world.ids["ser"], "Answer", "To be (Anki)")
    anki_main = world.rev("anki/main")
    status = world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "a pull would bring 0 added, 1 updated" in status
    assert "push: refused: Anki has 1 change(s) not fetched yet" in status
    assert world.rev("anki/main") == anki_main
    assert world.managed_count("To own") == 0
    world.set_field(world.ids["ser"], "Answer", "To be")
    status = world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "a push would send 0 added, 1 updated" in status  # the Anki edit was undone
    world.set_field(world.ids["ser"], "Answer", "To be (Anki)")
    # The explicit push is refused while Anki has the unmerged edit ...
    pushed = world.run(str(VENV_BIN / "ankiops-git"), "push", check=False)
    assert pushed.returncode == 1 and "git pull anki" in pushed.stderr
    # ... and after the pull (whose merge hook pushes), both sides agree.
    world.git("pull", "anki")
    assert world.managed_count("To own") == 1
    assert "A: To be (Anki)" in world.read("Spanish.md")
    status = world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "no changes in Anki" in status and "nothing to push" in status


def test_control_characters_and_bad_utf8_are_reported_readably(world: World) -> None:  # noqa: F811
    """A NUL or form feed was echoed raw; bad UTF-8 was a byte offset, not line:col."""
    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nX\x00\x0c: nope\n")
    commit = world.git("commit", "-am", "control", check=False)
    assert commit.returncode != 0
    assert "X\\x00\\x0c" in commit.stderr and "\x00" not in commit.stderr
    assert "\x0c" not in commit.stderr
    world.git("checkout", "--", "Spanish.md")
    data = world.read("Spanish.md").encode() + b"\n---\n\nQ: caf\xe9\nA: x\n"
    (world.root / "Spanish.md").write_bytes(data)
    line = data.count(b"\n", 0, data.index(b"\xe9")) + 1
    commit = world.git("commit", "-am", "latin-1", check=False)
    assert commit.returncode != 0
    assert f"Spanish.md:{line}:7: error: not UTF-8 text; save the file as UTF-8" in (
        commit.stderr
    ), commit.stderr


def test_ctrl_c_in_a_hook_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import hooks.__main__ as hook

    def interrupted(name: str) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(hook, "run", interrupted)
    for name, code in (("post-merge", 0), ("pre-commit", 130)):
        monkeypatch.setattr(sys, "argv", ["ankiops-hook", name])
        with pytest.raises(SystemExit) as done:
            hook.main()
        assert done.value.code == code
        assert capsys.readouterr().err == (
            "ankiops: interrupted; your commit stands. Push later: git push anki\n"
        )


def test_a_user_error_in_a_hook_before_the_commit_stops_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pre-commit and pre-merge-commit validate: one that cannot (an AnkiOpsError, such
    as a staged ankiops.toml it cannot read) stops the commit or the merge, in one line,
    rather than letting it through unchecked; the hooks after a commit never fail it."""
    import hooks.__main__ as hook
    from ankiops_git.errors import AnkiOpsError

    def unreadable(merging: bool = False) -> int:
        raise AnkiOpsError("ankiops.toml:2: cannot be read")

    monkeypatch.setattr(hook, "carry_pending", lambda finishing: 0)
    monkeypatch.setattr(hook, "pre_commit", unreadable)
    for name, code in (("pre-commit", 1), ("pre-merge-commit", 1)):
        assert hook.run(name) == code
        assert capsys.readouterr().err == "ankiops: ankiops.toml:2: cannot be read\n"
    monkeypatch.setattr(hook, "post_commit", lambda after_rebase=False: unreadable())
    assert hook.run("post-merge") == 0


def test_a_deck_file_in_a_subfolder_is_pointed_out_on_commit(world: World) -> None:  # noqa: F811
    """It was ignored by commit and push without a word."""
    (world.root / "lang").mkdir()
    (world.root / "lang" / "Italian.md").write_text("Q: ciao?\nA: hello\n")
    (world.root / "lang" / "notes.md").write_text("# My notes\n\nNothing to sync.\n")
    world.git("add", "-A")
    commit = world.git("commit", "-m", "nested")
    assert "lang/Italian.md:1:1: warning: this looks like a deck file, but deck files live" in (
        commit.stderr
    ), commit.stderr
    assert "notes.md" not in commit.stderr
    assert world.managed_count("ciao?") == 0


def test_ctrl_c_while_the_hook_waits_for_anki_is_one_line(world: World) -> None:  # noqa: F811
    """Ctrl-C during the post-commit push (Anki not answering) printed a traceback."""
    import os
    import signal
    import subprocess
    import time

    from test_backend_connect import _RawServer

    silent = _RawServer(None)  # accepts, never answers: the hook waits
    try:
        world.git("config", "remote.anki.url", "anki::" + silent.url)
        world.write("Spanish.md", world.read("Spanish.md").replace("tener?", "tener (verb)?"))
        commit = subprocess.Popen(
            ["git", "commit", "-qam", "edit"],
            cwd=world.root,
            env=world.env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not silent.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert silent.clients, "the hook never asked Anki"
        os.killpg(commit.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        _, err = commit.communicate(timeout=30)
    finally:
        silent.close()
    assert "Traceback" not in err, err
    assert "ankiops: interrupted; your commit stands. Push later: git push anki" in err
    assert world.git("log", "-1", "--format=%s").stdout.strip() == "edit"  # the commit stands


def test_pre_commit_reads_the_staged_ankiops_toml_not_the_working_trees(
    world: World,  # noqa: F811
) -> None:
    """A note of a type declared only in the working tree's ankiops.toml (not staged)
    is refused: the commit would hold a file its own settings cannot read. Staged, the
    same commit goes."""
    declared = world.read("ankiops.toml") + (
        '\n[note_types.Basic]\nfields = [["Fr", "Front"], ["Bk", "Back"]]\n'
    )
    world.write("ankiops.toml", declared)
    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nFr: hola\nBk: hello\n")
    head = world.rev("HEAD")
    commit = world.git("commit", "-m", "Basic, toml not staged", "Spanish.md", check=False)
    assert commit.returncode != 0 and "Traceback" not in commit.stderr
    assert "Spanish.md:21:1: error: unknown field prefix `Fr:`" in commit.stderr, commit.stderr
    assert world.rev("HEAD") == head
    world.git("commit", "-qm", "Basic, with its declaration", "Spanish.md", "ankiops.toml")
    assert world.rev("HEAD") != head
