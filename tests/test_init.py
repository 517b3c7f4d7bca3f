"""`ankiops-git init`: a folder coming from AnkiOps, the tutorial, a user's own hooks."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
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
    first = run(
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
    assert "not on your PATH" not in first.stdout + first.stderr  # (it is: git_env)
    deck = deckfile.parse(files[0].read_text(encoding="utf-8"), files[0].name)
    assert {n.note_type for n in deck.notes} == {"QA", "Reversed", "Cloze", "Input", "Choice"}
    assert all(n.note_id is not None for n in deck.notes)
    assert len(managed_rows(empty_collection_path)) == len(deck.notes)
    assert "[markdown]" not in (root / "ankiops.toml").read_text()  # not from AnkiOps
    run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--tutorial")
    assert len(managed_rows(empty_collection_path)) == len(deck.notes)
    status = run(root, env, str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "no changes in Anki" in status and "nothing to push" in status


def test_init_on_an_imported_package_commits_media_and_note_type_files(
    tmp_path: Path, empty_collection_path: Path
) -> None:
    """What import-apkg writes (deck files, media/, ankiops.toml declaring the package's
    note types, note-types/...), then init: all of it is committed, so the push stores
    the picture in Anki and a clone has the cards' templates."""
    from ankiops_git import apkg

    root = tmp_path / "decks"
    apkg.import_apkg(Path(__file__).parent / "corpus" / "markdown2anki.apkg", root)
    env = git_env(tmp_path)
    run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(empty_collection_path))
    tracked = run(root, env, "git", "ls-files").stdout.split("\n")
    assert "media/i am a forest fire.jpeg" in tracked
    assert "note-types/Markdown2Anki_-_Basic/Card 1.front.html" in tracked
    assert run(root, env, "git", "status", "--porcelain").stdout == ""
    col = Collection(str(empty_collection_path))
    try:
        assert (Path(col.media.dir()) / "i am a forest fire.jpeg").is_file()
        assert col.models.by_name("Markdown2Anki - Cloze") is not None
        assert col.note_count() == 3
    finally:
        col.close()
    clone = tmp_path / "clone"
    run(tmp_path, env, "git", "clone", "-q", str(root), str(clone))
    assert (clone / "note-types" / "Markdown2Anki_-_Cloze" / "style.css").is_file()


def test_init_says_so_when_git_cannot_find_the_remote_helper(
    tmp_path: Path, empty_collection_path: Path
) -> None:
    """Run from a venv not on PATH (`.venv/bin/ankiops-git init`), init works, but git
    would not find git-remote-anki: init names the folder to add to PATH, and with it
    there `git pull anki` works."""
    root = tmp_path / "decks"
    bare = git_env(tmp_path, PATH=os.pathsep.join(p for p in os.defpath.split(os.pathsep) if p))
    out = run(tmp_path, bare, str(VENV_BIN / "ankiops-git"), "init", str(root), "--anki",
              str(empty_collection_path)).stdout  # fmt: skip
    assert f"add {VENV_BIN} to PATH" in out, out
    pull = subprocess.run(["git", "pull", "anki"], cwd=root, env=bare, capture_output=True)
    assert pull.returncode != 0 and b"remote-anki" in pull.stderr
    run(root, git_env(tmp_path), "git", "pull", "anki")


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


def ankiops_db(root: Path, keys: dict[str, int]) -> None:
    """AnkiOps 0.6's `.ankiops.db` (the part init reads: note_state)."""
    import sqlite3

    with sqlite3.connect(root / ".ankiops.db") as db:
        db.execute(
            "create table note_state (note_key text primary key, note_id integer not null "
            "unique, source_path text not null default '.', import_md_hash text, "
            "import_anki_hash text, export_md_hash text, export_anki_hash text)"
        )
        db.executemany("insert into note_state (note_key, note_id) values (?, ?)", keys.items())


def test_init_converts_ankiops_note_keys_to_note_ids_in_a_commit_on_top(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    col = Collection(str(anki_collection_path))
    try:
        ser = add_managed(col, "Spanish", "AnkiOpsQA", Question="ser?", Answer="To be")
        cloze = add_managed(col, "Spanish", "AnkiOpsCloze", Text="{{c1::ser}} es")
        lost = add_managed(col, "Spanish", "AnkiOpsQA", Question="ir?", Answer="To go")
    finally:
        col.close()
    root = tmp_path / "decks"
    root.mkdir()
    # As AnkiOps 0.6.6 writes it; the third key is missing from its map.
    text = (
        "<!-- note_key: a1b2c3 -->\n<!-- note_type: AnkiOpsQA -->\n<!-- tags: verbs -->\n"
        "Q: ser?\nA: To be\n\n---\n\n"
        "<!-- note_key: d4e5f6 -->\n<!-- note_type: AnkiOpsCloze -->\nT: {{c1::ser}} es\n\n---\n\n"
        "<!-- note_key: 0f0f0f -->\n<!-- note_type: AnkiOpsQA -->\nQ: ir?\nA: To go\n\n---\n\n"
        "Q: comer?\nA: To eat\n"
    )
    (root / "Spanish.md").write_text(text, encoding="utf-8")
    ankiops_db(root, {"a1b2c3": ser, "d4e5f6": cloze})
    (root / ".gitignore").write_text(".ankiops.db\n")  # as AnkiOps writes it
    env = git_env(tmp_path)
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "git", "add", "Spanish.md", ".gitignore")
    run(root, env, "git", "commit", "-qm", "AnkiOps: snapshot")
    old_head = run(root, env, "git", "rev-parse", "HEAD").stdout.strip()

    out = run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path))
    assert "converted 1 AnkiOps deck file(s): 2 note_key comment(s) to note_id" in out.stdout
    assert "1 key(s) not in .ankiops.db were dropped" in out.stdout

    rows = managed_rows(anki_collection_path)
    assert len(rows) == 4  # the three by id (two by key, one by content), comer? added
    after = (root / "Spanish.md").read_text(encoding="utf-8")
    assert after.startswith("<!-- deck_id: ")  # deck files get their deck's id
    assert (
        f"\n\n<!-- note_id: {ser} -->\n<!-- tags: verbs -->\nQ: ser?\nA: To be\n\n---\n\n"
        f"<!-- note_id: {cloze} -->\nT: {{{{c1::ser}}}} es\n\n---\n\n"
        f"<!-- note_id: {lost} -->\nQ: ir?\nA: To go\n"
    ) in after
    assert "note_key" not in after and "note_type" not in after
    # AnkiOps' Markdown is read as AnkiOps renders it (docs/format.md)
    assert "[markdown]\nankiops = true\n" in (root / "ankiops.toml").read_text()
    # AnkiOps' history stays: init's commits are on top of it.
    log = run(root, env, "git", "log", "--format=%H %s").stdout.splitlines()
    assert log[-1] == f"{old_head} AnkiOps: snapshot"
    assert run(root, env, "git", "status", "--porcelain").stdout == ""


def test_a_failed_init_leaves_the_folder_as_it_was(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    root = tmp_path / "decks"
    root.mkdir()
    good = "<!-- note_key: a1 -->\n<!-- note_type: AnkiOpsQA -->\nQ: ser?\nA: To be\n"
    bad = "<!-- note_key: b2 -->\n<!-- note_type: AnkiOpsQA -->\nQ: x\nT: {{c1::y}}\n"
    (root / "A.md").write_text(good, encoding="utf-8")
    (root / "B.md").write_text(bad, encoding="utf-8")
    ankiops_db(root, {"a1": 1, "b2": 2})
    env = git_env(tmp_path)
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "git", "add", "A.md", "B.md")
    run(root, env, "git", "commit", "-qm", "AnkiOps: snapshot")

    def state() -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "objects" not in p.parts and "logs" not in p.parts
        }

    before = state()
    result = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "B.md:4:1" in result.stderr and "T:" in result.stderr  # the line the user sees
    assert "Traceback" not in result.stderr
    assert state() == before


def test_init_rolls_back_what_it_wrote_when_a_later_step_fails(
    tmp_path: Path, anki_collection_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ankiops_git import init as init_mod
    from ankiops_git import sync
    from ankiops_git.errors import AnkiOpsError

    root = tmp_path / "decks"
    root.mkdir()
    (root / "A.md").write_text("<!-- note_key: a1 -->\nQ: ser?\nA: To be\n", encoding="utf-8")
    ankiops_db(root, {"a1": 1})
    env = git_env(tmp_path)
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "git", "add", "A.md")
    run(root, env, "git", "commit", "-qm", "AnkiOps: snapshot")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "objects" not in p.parts}

    def broken(*args: object, **kwargs: object) -> None:
        raise AnkiOpsError("Anki went away")

    monkeypatch.setattr(sync, "fetch_root", broken)
    with pytest.raises(AnkiOpsError, match="Anki went away"):
        init_mod.init(root, anki=str(anki_collection_path))
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "objects" not in p.parts}
    assert {p: b for p, b in after.items() if "logs" not in p.parts} == {
        p: b for p, b in files.items() if "logs" not in p.parts
    }


# An AnkiOps 0.6 note type of a user's own, as `note_types/<Name>/note_type.yaml` has it.
VOCAB_YAML = """\
styling:
  - ../AnkiOpsStyling.css
templates:
- name: Card 1
  front: Front.template.anki
  back: Back.template.anki
fields:
- name: Word
  label: 'W:'
  identifying: true
- name: Meaning
  label: "MN:"
  identifying: true
- name: AI Notes
  label: AI:
  identifying: false
"""


def test_init_declares_an_ankiops_type_of_the_users_own_with_its_labels(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """A note of a type the user declared in AnkiOps 0.6 (its note_type.yaml, made in
    Anki by AnkiOps with its `AnkiOps Key` field): init declares it, mapped, with the
    YAML's labels as prefixes and without the key field; the note keeps its id,
    nothing in Anki changes, and AnkiOps' templates are never touched."""
    col = Collection(str(anki_collection_path))
    try:
        mm = col.models
        model = mm.new("MyVocab")
        for name in ("Word", "Meaning", "AI Notes", "AnkiOps Key"):
            mm.add_field(model, mm.new_field(name))
        template = mm.new_template("Card 1")
        template["qfmt"], template["afmt"] = "{{Word}}", "{{Meaning}}<br>{{AI Notes}}"
        mm.add_template(model, template)
        mm.add(model)
        note = col.new_note(mm.by_name("MyVocab"))  # type: ignore[arg-type]
        note["Word"], note["Meaning"], note["AnkiOps Key"] = "perro", "dog", "k1"
        note["AI Notes"] = "a <b>mammal</b>"
        col.add_note(note, col.decks.id("Spanish"))  # type: ignore[arg-type]
        vocab = int(note.id)
        before = col.db.all("select id, mod, flds from notes")  # type: ignore[union-attr]
        model_before = col.db.all("select mtime_secs, config from notetypes")  # type: ignore[union-attr]
    finally:
        col.close()
    root = tmp_path / "decks"
    (root / "note_types" / "MyVocab").mkdir(parents=True)
    (root / "note_types" / "MyVocab" / "note_type.yaml").write_text(VOCAB_YAML)
    text = (
        "<!-- note_key: k1 -->\n<!-- note_type: MyVocab -->\nW: perro\nMN: dog\nAI: a **mammal**\n"
    )
    (root / "Spanish.md").write_text(text, encoding="utf-8")
    ankiops_db(root, {"k1": vocab})
    env = git_env(tmp_path)

    out = run(root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path))
    assert "declared AnkiOps' note type(s) MyVocab in ankiops.toml" in out.stdout, out.stdout
    toml = (root / "ankiops.toml").read_text(encoding="utf-8")
    assert (
        '[note_types.MyVocab]\nfields = [["W", "Word"], ["MN", "Meaning"], ["AI", "AI Notes"]]\n'
        'identifying = ["W", "MN"]\nrequired = ["W", "MN"]\n'
    ) in toml, toml
    assert "templates" not in toml and "AnkiOps Key" not in toml
    after = (root / "Spanish.md").read_text(encoding="utf-8")
    assert f"<!-- note_id: {vocab} -->\nW: perro\nMN: dog\nAI: a **mammal**\n" in after
    col = Collection(str(anki_collection_path))
    try:
        assert col.db.all("select id, mod, flds from notes") == before  # type: ignore[union-attr]
        assert col.db.all("select mtime_secs, config from notetypes") == model_before  # type: ignore[union-attr]
    finally:
        col.close()
    assert run(root, env, "git", "status", "--porcelain", "-uno").stdout == ""


def test_the_ankiops_types_a_folder_uses_and_their_labels(tmp_path: Path) -> None:
    """Which AnkiOps types beyond the five a folder's files use (a note_type line, or a
    line starting with an identifying label of AnkiOps' own; not inside code), and
    their labels: the folder's note_type.yaml, else AnkiOps' defaults."""
    from ankiops_git import adopt_types
    from ankiops_git import config as config_mod

    (tmp_path / "Deck.md").write_text(
        "Q: x\nA: ```\nTHA: in code\nIO_ID: in code\n```\n\n---\n\n"
        "<!-- note_type: MyVocab -->\nW: perro\n\n---\n\nTHA: {{c1::y}}\n",
        encoding="utf-8",
    )
    used = adopt_types.used_types(tmp_path, config_mod.load(tmp_path))
    assert used == {"MyVocab": ("Deck.md", 9), "AnkiOpsClozeHideAll": ("Deck.md", 14)}
    assert adopt_types.labels(tmp_path, "MyVocab") is None  # neither YAML nor default
    (tmp_path / "note_types" / "MyVocab").mkdir(parents=True)
    (tmp_path / "note_types" / "MyVocab" / "note_type.yaml").write_text(VOCAB_YAML)
    assert adopt_types.labels(tmp_path, "MyVocab") == {
        "Word": ("W", True),
        "Meaning": ("MN", True),
        "AI Notes": ("AI", False),
    }
    assert adopt_types.labels(tmp_path, "AnkiOpsClozeHideAll") == {
        "Text": ("THA", True),
        "Extra": ("E", False),
        "More": ("M", False),
        "AI Notes": ("AI", False),
    }
