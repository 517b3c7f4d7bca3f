"""The fast paths of everyday sync lose nothing: each test makes a change in Anki after a
fetch that found nothing new (the no-op fast path armed), and checks the next fetch
brings it. Behaviour only; the timings are in the benchmarks (bench/)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from anki.collection import Collection
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sync_e2e import add_managed

from ankiops_git import export, gitstore, sync, syncstate
from ankiops_git.anki.base import NoteUpdate
from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.config import Config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Deck
from ankiops_git.push import PushRejected


@pytest.fixture
def world(tmp_path: Path, anki_collection_path: Path) -> Iterator[tuple]:
    col = Collection(str(anki_collection_path))
    try:
        ids = [
            add_managed(col, "Lang::Spanish", "AnkiOpsQA", Question=f"q{i}", Answer=f"a{i}")
            for i in range(6)
        ]
        ids += [add_managed(col, "Lang::French", "AnkiOpsQA", Question="fq", Answer="fa")]
        assert col.db is not None
        col.db.execute("update notes set mod = mod - 7200")  # edited two hours ago
    finally:
        col.close()
    repo = pygit2.init_repository(str(tmp_path / "repo"), initial_head="main")
    backend = CollectionBackend(anki_collection_path)
    try:
        first = sync.fetch(repo, backend, Config())
        assert first.created and first.read == 7
        yield repo, backend, ids
    finally:
        backend.close()


def noop(repo: pygit2.Repository, backend: CollectionBackend) -> sync.FetchResult:
    """A fetch with nothing new in Anki: anki/main itself, nothing read.

    Notes edited in the second of the last read are read again (an edit in that second
    could keep its mod time), so first let that second pass."""
    time.sleep(1.02 - time.time() % 1)
    assert not sync.fetch(repo, backend, Config()).created  # may re-read that second
    before = gitstore.ref_target(repo, gitstore.ANKI_REF)
    result = sync.fetch(repo, backend, Config())
    assert not result.created and result.read == 0
    assert result.commit == before == gitstore.ref_target(repo, gitstore.ANKI_REF)
    return result


def anki_tree_text(repo: pygit2.Repository, path: str) -> str | None:
    commit = gitstore.commit_of(repo, gitstore.ref_target(repo, gitstore.ANKI_REF))  # type: ignore[arg-type]
    files = gitstore.tree_files(repo, commit.tree)
    return gitstore.blob_text(repo, files[path][0]) if path in files else None


def test_many_notes_sharing_the_newest_mod_time_are_not_read_again(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """After a bulk add (every note in the same second), the next export reads nothing."""
    col = Collection(str(anki_collection_path))
    try:
        for i in range(40):
            add_managed(col, "Bulk", "AnkiOpsQA", Question=f"q{i}", Answer=f"a{i}")
        assert col.db is not None
        col.db.execute("update notes set mod = ?", int(time.time()) - 600)
    finally:
        col.close()
    repo = pygit2.init_repository(str(tmp_path / "repo"), initial_head="main")
    backend = CollectionBackend(anki_collection_path)
    try:
        view = export.anki_view(backend, export.EMPTY, None)
        assert view.read == 40
        tree = export.export_tree(repo, view, export.EMPTY)
        commit = gitstore.create_commit(repo, tree, [], "x", gitstore.anki_signature())
        export.save_state(repo, commit, view.mods, view.taken)
        state = syncstate.load(repo)
        reference = export.snapshot_of_commit(repo, commit, Config())
        again = export.anki_view(backend, reference, state)
        assert again.read == 0
        assert export.export_tree(repo, again, reference) == tree
    finally:
        backend.close()


def test_second_fetch_is_anki_main_itself(world: tuple) -> None:
    repo, backend, _ = world
    noop(repo, backend)
    noop(repo, backend)


def test_deck_move_in_anki_after_a_noop_fetch_is_fetched(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    backend.move_notes([ids[2]], "Lang::French")  # cards move; the note's mod time stays
    result = sync.fetch(repo, backend, Config())
    assert result.created and result.summary.moved == 1
    assert f"note_id: {ids[2]}" in (anki_tree_text(repo, "Lang__French.md") or "")
    assert f"note_id: {ids[2]}" not in (anki_tree_text(repo, "Lang__Spanish.md") or "")
    noop(repo, backend)


def test_tag_only_edit_in_anki_after_a_noop_fetch_is_fetched(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    backend.update_notes([NoteUpdate(ids[1], None, ("verbs",))])
    result = sync.fetch(repo, backend, Config())
    assert result.created and result.summary.updated == 1
    assert "<!-- tags: verbs -->" in (anki_tree_text(repo, "Lang__Spanish.md") or "")
    noop(repo, backend)


def test_deck_rename_in_anki_after_a_noop_fetch_is_fetched(world: tuple) -> None:
    repo, backend, _ = world
    noop(repo, backend)
    backend.rename_deck(backend.decks()["Lang::French"], "Lang::Francais")
    result = sync.fetch(repo, backend, Config())
    assert result.created
    assert anki_tree_text(repo, "Lang__French.md") is None
    assert "Q: fq" in (anki_tree_text(repo, "Lang__Francais.md") or "")
    noop(repo, backend)


def test_note_deleted_and_added_in_anki_after_a_noop_fetch_are_fetched(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    backend.delete_notes([ids[4]])
    result = sync.fetch(repo, backend, Config())
    assert result.created and result.summary.deleted == 1
    assert f"note_id: {ids[4]}" not in (anki_tree_text(repo, "Lang__Spanish.md") or "")
    noop(repo, backend)


def test_edit_hidden_behind_an_unchanged_mod_time_in_the_fetch_second_is_fetched(
    world: tuple,
) -> None:
    """An edit in the very second the mod times were read can keep the note's mod time:
    notes at or after that second are read again, never trusted."""
    repo, backend, ids = world
    noop(repo, backend)
    state = syncstate.load(repo)
    assert state is not None
    mod = state.mods[ids[0]]
    state.high = mod  # as if the fetch had read the mod times in the note's second
    syncstate.save(repo, state)
    note = backend.col.get_note(ids[0])  # type: ignore[arg-type]
    note["Question"] = "edited in the same second"
    backend.col.update_note(note)
    assert backend.col.db is not None
    backend.col.db.execute("update notes set mod = ? where id = ?", mod, ids[0])
    result = sync.fetch(repo, backend, Config())
    assert result.created and result.summary.updated == 1
    assert "Q: edited in the same second" in (anki_tree_text(repo, "Lang__Spanish.md") or "")


def test_push_after_a_noop_fetch_then_fetch_brings_new_ids(tmp_path: Path, world: tuple) -> None:
    """A push leaves a state that is not an export (new notes have no id in the tree):
    the fetch after it must read Anki, not take the fast path."""
    repo, backend, _ = world
    noop(repo, backend)
    config = Config()
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    assert base is not None
    files = gitstore.tree_files(repo, gitstore.commit_of(repo, base).tree)
    text = gitstore.blob_text(repo, files["Lang__French.md"][0]) + "\n---\n\nQ: brand new\nA: yes\n"
    files["Lang__French.md"] = (gitstore.write_blob(repo, text), gitstore.FILE_MODE)
    tree = gitstore.build_tree(repo, files)
    target = gitstore.create_commit(repo, tree, [base], "add", gitstore.anki_signature())
    pushed = sync.push_commit(repo, backend, config, target)
    assert len(pushed.added_ids) == 1
    fetched = sync.fetch(repo, backend, config)
    assert fetched.created and fetched.summary.ids == 1
    assert f"note_id: {pushed.added_ids[0]}" in (anki_tree_text(repo, "Lang__French.md") or "")
    noop(repo, backend)


# --- pre-commit: files not in the commit are scanned for ids, not parsed ------------------

BODY_LINES = [
    "plain text",
    "```",
    "```python",
    "````",
    "~~~",
    "~~~~ tilde",
    "   ```",
    "``` a`b",
    "<!-- note_id: 4242 -->",
    "<!-- note_id: 7 -->",
    "Q: ```",
    "E: ~~~",
    "E: more",
    "",
    "  indented",
]


def scanned_and_parsed(text: str, path: str = "Deck.md") -> tuple[object, object] | None:
    from ankiops_git import validate

    full = validate._check(text, path)
    if validate.has_errors(full.diagnostics):
        return None  # files with errors are always checked in full when committed

    def ids(deck: Deck) -> tuple[int | None, list[tuple[int, int]]]:
        first: dict[int, int] = {}
        for n in deck.notes:
            if n.note_id is not None:
                first.setdefault(n.note_id, n.line)
        return deck.deck_id, sorted(first.items())

    return ids(validate._identities(text, path).deck), ids(full.deck)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 99),
            st.lists(st.sampled_from(BODY_LINES), max_size=6),
        ),
        min_size=1,
        max_size=5,
    ),
    st.booleans(),
    st.sampled_from(["", "\n", " \n\n"]),
)
def test_id_scan_finds_what_the_parser_finds(
    notes: list[tuple[int, list[str]]], with_deck_id: bool, lead: str
) -> None:
    parts = []
    for note_id, body in notes:
        parts.append("\n".join([f"<!-- note_id: {note_id} -->", "Q: question", *body, "A: x"]))
    text = lead + ("<!-- deck_id: 55 -->\n\n" if with_deck_id else "") + "\n\n---\n\n".join(parts)
    pair = scanned_and_parsed(text + "\n")
    if pair is not None:
        assert pair[0] == pair[1]


def test_id_scan_ignores_note_ids_inside_code_fences() -> None:
    text = (
        "<!-- deck_id: 9 -->\n\n<!-- note_id: 1 -->\nQ: ```\n<!-- note_id: 2 -->\n```\nA: x\n\n"
        "---\n\n<!-- note_id: 3 -->\nQ: q\nA: ~~~~\n<!-- note_id: 4 -->\n~~~\n~~~~\n"
    )
    pair = scanned_and_parsed(text)
    assert pair is not None and pair[0] == pair[1] == (9, [(1, 3), (3, 11)])


def test_duplicate_note_id_in_a_file_outside_the_commit_is_reported() -> None:
    from ankiops_git import validate

    files = {
        "A.md": "<!-- deck_id: 1 -->\n\n<!-- note_id: 5 -->\nQ: a\nA: b\n",
        "B.md": "<!-- deck_id: 2 -->\n\n<!-- note_id: 6 -->\nQ: ```\n<!-- note_id: 5 -->\n```\n"
        "A: b\n\n---\n\n<!-- note_id: 5 -->\nQ: c\nA: d\n",
        "C.md": "<!-- deck_id: 1 -->\n\n<!-- note_id: 8 -->\nQ: e\nA: f\n",
    }
    found = validate.check_texts(files, report={"A.md"})
    assert {(d.path, d.line) for d in found} == {("A.md", 3), ("A.md", 1)}
    note_clash = next(d for d in found if d.line == 3)
    assert "B.md:11" in note_clash.message  # the real note, not the line in the code block
    assert "C.md" in next(d for d in found if d.line == 1).message


# --- a push touches only the files it changes, and still sees the others -------------------


def commit_edit(repo: pygit2.Repository, edits: dict[str, str | None]) -> pygit2.Oid:
    """A commit on anki/main with these files replaced (None: removed)."""
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    assert base is not None
    files = gitstore.tree_files(repo, gitstore.commit_of(repo, base).tree)
    for path, text in edits.items():
        if text is None:
            files.pop(path)
        else:
            files[path] = (gitstore.write_blob(repo, text), gitstore.FILE_MODE)
    tree = gitstore.build_tree(repo, files)
    return gitstore.create_commit(repo, tree, [base], "edit", gitstore.anki_signature())


def test_scoped_push_refuses_a_note_id_also_in_an_unchanged_file(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    french = anki_tree_text(repo, "Lang__French.md") or ""
    copy = f"<!-- note_id: {ids[0]} -->\nQ: copied\nA: a0\n"
    target = commit_edit(repo, {"Lang__French.md": french + "\n---\n\n" + copy})
    clash = f"Lang__Spanish.md:3: note_id {ids[0]} is also in Lang__French.md"
    with pytest.raises(AnkiOpsError, match=clash):
        sync.push_commit(repo, backend, Config(), target)
    assert backend.read_notes([ids[0]])[0].fields["Question"] == "q0"  # nothing written


def test_scoped_push_refuses_a_deck_id_also_in_an_unchanged_file(world: tuple) -> None:
    repo, backend, _ = world
    noop(repo, backend)
    spanish_id = backend.decks()["Lang::Spanish"]
    text = f"<!-- deck_id: {spanish_id} -->\n\nQ: new\nA: note\n"
    target = commit_edit(repo, {"Other.md": text})
    with pytest.raises(AnkiOpsError, match=f"deck_id {spanish_id} is also in Lang__Spanish.md"):
        sync.push_commit(repo, backend, Config(), target)
    assert "Other" not in backend.decks()


def test_scoped_push_moves_a_note_between_files_as_a_deck_change(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    spanish = anki_tree_text(repo, "Lang__Spanish.md") or ""
    french = anki_tree_text(repo, "Lang__French.md") or ""
    block = f"<!-- note_id: {ids[5]} -->\nQ: q5\nA: a5\n"
    assert block in spanish
    target = commit_edit(
        repo,
        {
            "Lang__Spanish.md": spanish.replace("\n---\n\n" + block, "\n"),
            "Lang__French.md": french + "\n---\n\n" + block,
        },
    )
    pushed = sync.push_commit(repo, backend, Config(), target)
    assert pushed.plan.moves == {"Lang::French": [ids[5]]} and not pushed.plan.deletes
    assert backend.note_decks()[ids[5]] == "Lang::French"
    assert not sync.fetch(repo, backend, Config()).summary.line().startswith("1 added")
    noop(repo, backend)


def test_a_push_leaves_anki_changes_to_other_decks_for_the_next_fetch(world: tuple) -> None:
    """A push reads only the decks it changes; what Anki changed elsewhere meanwhile is
    neither overwritten nor forgotten: the fetch after the push (the hook's) leaves it,
    and the next full fetch brings it."""
    repo, backend, ids = world
    noop(repo, backend)
    backend.delete_notes([ids[3]])  # Spanish, in Anki
    backend.update_notes([NoteUpdate(ids[4], {"Answer": "a4 edited in Anki"})])
    french = anki_tree_text(repo, "Lang__French.md") or ""
    target = commit_edit(repo, {"Lang__French.md": french.replace("Q: fq", "Q: fq2")})
    pushed = sync.push_commit(repo, backend, Config(), target)
    assert pushed.plan.line().startswith("0 added, 1 updated, 0 moved, 0 deleted")
    assert backend.read_notes([ids[6]])[0].fields["Question"] == "fq2"
    assert backend.read_notes([ids[4]])[0].fields["Answer"] == "a4 edited in Anki"
    after_hook = sync.fetch(repo, backend, Config(), first=pushed.after, dirty_only=True)
    assert not after_hook.created  # the French file is what Anki has; Spanish not read
    spanish = anki_tree_text(repo, "Lang__Spanish.md") or ""
    assert f"note_id: {ids[3]}" in spanish and "a4 edited" not in spanish
    fetched = sync.fetch(repo, backend, Config())
    assert fetched.created and (fetched.summary.updated, fetched.summary.deleted) == (1, 1)
    spanish = anki_tree_text(repo, "Lang__Spanish.md") or ""
    assert f"note_id: {ids[3]}" not in spanish and "A: a4 edited in Anki" in spanish
    assert "Q: fq2" in (anki_tree_text(repo, "Lang__French.md") or "")
    noop(repo, backend)


def test_a_push_refuses_a_note_moved_in_anki_out_of_the_file_it_changes(world: tuple) -> None:
    """The scope follows the note to the deck Anki moved it to: pushing the old file's
    version would move it back, losing the move; so the push says fetch first."""
    repo, backend, ids = world
    noop(repo, backend)
    backend.move_notes([ids[2]], "Lang::French")
    spanish = anki_tree_text(repo, "Lang__Spanish.md") or ""
    target = commit_edit(repo, {"Lang__Spanish.md": spanish.replace("A: a2", "A: a2 edited")})
    with pytest.raises(PushRejected, match="moved in Anki"):
        sync.push_commit(repo, backend, Config(), target)
    assert backend.note_decks([ids[2]]) == {ids[2]: "Lang::French"}
    assert backend.read_notes([ids[2]])[0].fields["Answer"] == "a2"


def test_scoped_push_counts_the_whole_deck_for_the_deletion_guard(world: tuple) -> None:
    repo, backend, ids = world
    noop(repo, backend)
    spanish = anki_tree_text(repo, "Lang__Spanish.md") or ""
    kept = "\n\n---\n\n".join(
        part for part in spanish.split("\n\n---\n\n") if str(ids[0]) in part or str(ids[1]) in part
    )
    target = commit_edit(repo, {"Lang__Spanish.md": kept})
    with pytest.raises(PushRejected, match="delete more than 10% of deck 'Lang::Spanish'"):
        sync.push_commit(repo, backend, Config(), target)
    assert len(backend.mod_times()) == 7


def test_note_id_written_with_leading_zeros_in_a_file_outside_the_commit_is_a_clash() -> None:
    from ankiops_git import validate

    files = {
        "A.md": "<!-- note_id: 5 -->\nQ: a\nA: b\n",
        "B.md": "<!-- note_id: 0005 -->\nQ: c\nA: d\n",
        "C.md": "<!-- note_id: 6 -->\nQ: c\nA: d\n",
    }
    found = validate.check_texts(files, report={"A.md"})
    assert [(d.path, d.line) for d in found] == [("A.md", 1)]
    assert "B.md:1" in found[0].message and "C.md" not in found[0].message


def test_state_written_by_the_earlier_formats_still_reads(world: tuple) -> None:
    """The JSON state of earlier versions (mods as two lists, or as an object) reads as
    the same state, and the next save replaces it with the current format."""
    repo, backend, _ = world
    state = syncstate.load(repo)
    assert state is not None and state.note_decks is not None
    assert syncstate.state_path(repo).read_bytes().split(b"\n")[0].startswith(b"{")
    by_deck: dict[str, list[int]] = {}
    for note_id, deck in state.note_decks.items():
        by_deck.setdefault(deck, []).append(note_id)
    lists = {
        "commit": state.commit,
        "high": state.high,
        "note_ids": list(state.mods),
        "mods": list(state.mods.values()),
        "decks": state.decks,
        "note_decks": by_deck,
        "dirty": state.dirty,
    }
    syncstate.state_path(repo).unlink()
    earlier = syncstate.state_path(repo).with_name(syncstate.EARLIER_NAME)
    as_object = dict(lists, mods={str(k): v for k, v in state.mods.items()})
    del as_object["note_ids"]
    for data in (lists, as_object):
        earlier.write_text(json.dumps(data), encoding="utf-8")
        assert syncstate.load(repo) == state
    syncstate.save(repo, state)
    assert not earlier.exists() and syncstate.load(repo) == state


def test_a_damaged_state_file_means_reading_everything_not_an_error(world: tuple) -> None:
    repo, backend, ids = world
    path = syncstate.state_path(repo)
    whole = path.read_bytes()
    for damaged in (
        whole[: len(whole) - 5],
        b"not json\n",
        whole.replace(b'"format": 2', b'"format": 9'),
    ):
        path.write_bytes(damaged)
        assert syncstate.load(repo) is None
        backend.update_notes([NoteUpdate(ids[0], {"Answer": f"a0 {len(damaged)}"})])
        result = sync.fetch(repo, backend, Config())
        assert result.created and result.read == 7  # every note read again
        assert syncstate.load(repo) is not None


# --- the pre-commit hook: other staged files by their ids, kept by blob id ----------------


def test_pre_commit_hook_checks_ids_against_unchanged_files_with_and_without_its_cache(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from gitrepo import git_env

    root = tmp_path / "decks"
    root.mkdir()
    env = git_env(tmp_path)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hooks", "pre-commit"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    files = {
        "A.md": "<!-- deck_id: 1 -->\n\n<!-- note_id: 11 -->\nQ: a\nA: b\n",
        "B.md": "<!-- deck_id: 10 -->\n\n<!-- note_id: 3 -->\nQ: c\nA: d\n",
        "C.md": "<!-- note_id: 4 -->\nQ: ```\n<!-- note_id: 9 -->\n```\nA: e\n",
    }
    git("init", "-q", "-b", "main")
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    git("add", ".")
    git("commit", "-q", "--no-verify", "-m", "decks")

    def stage_a(text: str) -> subprocess.CompletedProcess[str]:
        (root / "A.md").write_text(text, encoding="utf-8")
        git("add", "A.md")
        return hook()

    clash = files["A.md"] + "\n---\n\n<!-- note_id: 3 -->\nQ: copy\nA: d\n"
    for _ in range(2):  # the second time from the ids kept by blob id
        done = stage_a(clash)
        assert done.returncode == 1 and "note_id 3 is also in B.md:3" in done.stderr
        assert (root / ".git" / "ankiops" / "ids.json").exists()
    fenced = files["A.md"] + "\n---\n\n<!-- note_id: 9 -->\nQ: new\nA: n\n"
    assert stage_a(fenced).returncode == 0  # 9 is only inside a code block in C.md
    done = stage_a(files["A.md"].replace("deck_id: 1 ", "deck_id: 10 "))
    assert done.returncode == 1 and "deck_id 10 is also in B.md" in done.stderr
    (root / ".git" / "ankiops" / "ids.json").write_text("{not json", encoding="utf-8")
    assert "note_id 3 is also in B.md" in stage_a(clash).stderr  # unreadable cache: rescanned


def test_a_push_and_the_fetch_after_it_parse_only_the_changed_file(world: tuple) -> None:
    """What makes a one-note commit cost the same at any collection size."""
    repo, backend, ids = world
    col = backend.col
    for i in range(3):
        note = col.new_note(col.models.by_name("AnkiOpsQA"))  # type: ignore[arg-type]
        note["Question"], note["Answer"] = f"g{i}", "x"
        col.add_note(note, col.decks.id("German", create=True))  # type: ignore[arg-type]
    assert col.db is not None
    col.db.execute("update notes set mod = mod - 7200 where mod > ?", int(time.time()) - 60)
    sync.fetch(repo, backend, Config())
    noop(repo, backend)
    german = anki_tree_text(repo, "German.md") or ""
    target = commit_edit(repo, {"German.md": german.replace("Q: g1", "Q: g1 edited")})
    export._PARSED.clear()
    pushed = sync.push_commit(repo, backend, Config(), target)
    assert pushed.plan.line().startswith("0 added, 1 updated")
    sync.fetch(repo, backend, Config(), first=pushed.after)
    assert {path for _, path, _ in export._PARSED} == {"German.md"}
    assert gitstore.ref_target(repo, gitstore.ANKI_REF) == target
    noop(repo, backend)


class CountingBackend:
    """The real collection backend, recording which notes each read asks for."""

    def __init__(self, real: CollectionBackend) -> None:
        self.real = real
        self.asked: list[tuple[str, set[int] | None]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def mod_times(self, note_ids: object = None) -> dict[int, int]:
        self.asked.append(("mod_times", None if note_ids is None else set(note_ids)))  # type: ignore[call-overload]
        return self.real.mod_times(note_ids)  # type: ignore[arg-type]

    def note_decks(self, note_ids: object = None) -> dict[int, str]:
        self.asked.append(("note_decks", None if note_ids is None else set(note_ids)))  # type: ignore[call-overload]
        return self.real.note_decks(note_ids)  # type: ignore[arg-type]

    def read_notes(self, note_ids: object = None) -> list:
        self.asked.append(("read_notes", None if note_ids is None else set(note_ids)))  # type: ignore[call-overload]
        return self.real.read_notes(note_ids)  # type: ignore[arg-type]


def test_a_one_note_push_and_its_fetch_read_only_that_decks_notes(world: tuple) -> None:
    """The hook's push_head reads no note outside the deck it changes: its cost does not
    grow with the collection. (The full reads are what a `git pull anki` does.)"""
    repo, backend, ids = world
    noop(repo, backend)
    french = anki_tree_text(repo, "Lang__French.md") or ""
    target = commit_edit(repo, {"Lang__French.md": french.replace("Q: fq", "Q: fq edited")})
    counting = CountingBackend(backend)
    pushed = sync.push_commit(repo, counting, Config(), target)  # type: ignore[arg-type]
    assert pushed.plan.line().startswith("0 added, 1 updated")
    sync.fetch(
        repo,
        counting,
        Config(),
        first=pushed.after,
        dirty_only=True,
        state=pushed.state,  # type: ignore[arg-type]
    )
    assert counting.asked, "the push read nothing"
    for what, asked in counting.asked:
        assert asked is not None, f"{what} read every note"
        assert asked <= {ids[6]}, (what, asked)  # the French note only
    assert backend.read_notes([ids[6]])[0].fields["Question"] == "fq edited"
    noop(repo, backend)
