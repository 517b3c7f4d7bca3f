"""`ankiops-git init`: a folder coming from AnkiOps, the tutorial, a user's own hooks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from anki.collection import Collection
from conftest import PROFILE
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from test_sync_e2e import add_managed

from ankiops_git import deckfile


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def managed_rows(col_path: Path) -> list[tuple[object, ...]]:
    col = Collection(str(col_path))
    try:
        assert col.db is not None
        rows = col.db.all(
            "select n.id, n.flds from notes n join notetypes m on m.id = n.mid "
            "where m.name like 'AnkiOps%' order by n.id"
        )
        return [tuple(r) for r in rows]
    finally:
        col.close()


def test_init_in_ankiops_folder_matches_by_id_and_keeps_local_notes(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    col = Collection(str(anki_collection_path))
    try:
        ser = add_managed(col, "Spanish", "AnkiOpsQA", Question="ser?", Answer="To be")
        estar = add_managed(col, "Spanish", "AnkiOpsQA", Question="estar?", Answer="To be too")
        deck_id = col.decks.id("Spanish")
    finally:
        col.close()
    root = tmp_path / "decks"
    root.mkdir()
    # The folder as AnkiOps left it: ids for known notes, one note not yet in Anki, a
    # user's own post-commit hook in an existing repository.
    text = (
        f"<!-- deck_id: {deck_id} -->\n\n"
        f"<!-- note_id: {ser} -->\nQ: ser?\nA: To be\n\n---\n\n"
        f"<!-- note_id: {estar} -->\nQ: estar?\nA: To be too\n\n---\n\n"
        "Q: comer?\nA: To eat\n"
    )
    (root / "Spanish.md").write_text(text, encoding="utf-8")
    env = git_env(tmp_path)
    run(root, env, "git", "init", "-q", "-b", "main")
    hook = root / ".git" / "hooks" / "post-commit"
    hook.write_text('#!/bin/sh\necho mine >> "$(git rev-parse --git-dir)/user-hook-ran"\n')
    hook.chmod(0o755)

    out = run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path))
    assert "kept your post-commit hook as post-commit.local" in out.stdout

    rows = managed_rows(anki_collection_path)
    assert len(rows) == 3  # matched by id: nothing duplicated; the local note added once
    after = (root / "Spanish.md").read_text(encoding="utf-8")
    assert after.startswith(text[: text.index("Q: comer?")])  # known notes: same bytes
    assert re.search(r"<!-- note_id: \d+ -->\nQ: comer\?\nA: To eat\n$", after)
    assert run(root, env, "git", "status", "--porcelain").stdout == ""
    assert 'profile = "User 1"' in (root / "ankiops.toml").read_text()
    assert PROFILE == "User 1"

    # The user's hook still runs, chained before ours; ours still pushes.
    (root / "Spanish.md").write_text(after + "\n---\n\nQ: vivir?\nA: To live\n")
    run(root, env, "git", "commit", "-qam", "vivir")
    assert (root / ".git" / "user-hook-ran").read_text() == "mine\n"
    assert len(managed_rows(anki_collection_path)) == 4

    # init again: harmless.
    head = run(root, env, "git", "rev-parse", "HEAD").stdout
    again = run(root, env, str(VENV_BIN / "ankiops-git"), "init")
    log = run(root, env, "git", "log", "--stat", "-3").stdout
    assert run(root, env, "git", "rev-parse", "HEAD").stdout == head, again.stdout + log
    assert len(managed_rows(anki_collection_path)) == 4


def test_init_tutorial_on_empty_collection_once(
    tmp_path: Path, empty_collection_path: Path
) -> None:
    root = tmp_path / "decks"
    env = git_env(tmp_path)
    spec = str(empty_collection_path)
    run(
        tmp_path,
        env,
        str(VENV_BIN / "ankiops-git"),
        "init",
        str(root),
        "--anki",
        spec,
        "--tutorial",
    )
    files = deckfile.deck_files(root)
    assert [p.name for p in files] == ["ankiops-git Tutorial.md"]
    deck = deckfile.parse(files[0].read_text(encoding="utf-8"), files[0].name)
    assert {n.note_type for n in deck.notes} == {"QA", "Reversed", "Cloze", "Input", "Choice"}
    assert all(n.note_id is not None for n in deck.notes)
    assert len(managed_rows(empty_collection_path)) == len(deck.notes)
    run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--tutorial")
    assert len(managed_rows(empty_collection_path)) == len(deck.notes)
    status = run(root, env, str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "no changes in Anki" in status and "nothing to push" in status


def test_init_with_the_wrong_profile_writes_nothing(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    root = tmp_path / "decks"
    before = anki_collection_path.read_bytes()
    result = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", str(root), "--anki", str(anki_collection_path)]
        + ["--profile", "Someone Else"],
        env=git_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "'User 1'" in result.stderr and "'Someone Else'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not root.exists()
    assert anki_collection_path.read_bytes() == before


def test_after_init_the_state_knows_the_decks_so_the_next_sync_is_scoped(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """init ends with a push of its own commit (ankiops.toml: nothing for Anki); the
    state that push leaves does not know the decks, so init fetches once more."""
    import pygit2

    from ankiops_git import gitstore, syncstate

    col = Collection(str(anki_collection_path))
    try:
        add_managed(col, "Spanish", "AnkiOpsQA", Question="ser?", Answer="To be")
    finally:
        col.close()
    root = tmp_path / "decks"
    env = git_env(tmp_path)
    cli = str(VENV_BIN / "ankiops-git")
    run(tmp_path, env, cli, "init", str(root), "--anki", str(anki_collection_path))
    repo = pygit2.Repository(str(root))
    state = syncstate.load(repo)
    assert state is not None and state.knows_decks
    assert state.commit == str(gitstore.ref_target(repo, gitstore.ANKI_REF))
    assert state.decks_of(state.mods) and not state.dirty
