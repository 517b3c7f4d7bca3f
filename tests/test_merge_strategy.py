"""Moves against edits under real git: a note moved on one side into a file the other
side did not touch, and edited on the other side, merges clean, with no duplicate.

Repositories are configured as `ankiops-git init` configures them (driver, attributes,
and the pre-merge-commit / pre-commit hooks that carry such edits, merge/pending.py);
a plain `git merge` then stops with the carried edit staged and `git commit` finishes
it (DeckRepo.merge does). The `git-merge-ankiops` strategy (`-s ankiops`) does it all
in one step and also resolves a file emptied by moves on one side.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import DeckRepo, deck_text, qa
from test_sync_e2e import World, note_block, templates, world  # noqa: F401 (fixtures)

from ankiops_git import deckfile
from ankiops_git.model import Note


@pytest.fixture
def repo(tmp_path: Path) -> DeckRepo:
    return DeckRepo(tmp_path / "decks")


N1, N2, N3, N4 = qa(1, "one", "eins"), qa(2, "two", "zwei"), qa(3, "three", "drei"), qa(4, "4", "v")
EDITED2 = qa(2, "two", "zwei, edited in Anki")


def moved_on_main_edited_on_anki(repo: DeckRepo, *others: dict[str, str]) -> None:
    """The issue's case: main moves note 2 Spanish -> French; Anki edits note 2 (and only
    Spanish.md changes there), so git never passes French.md to the driver. `others`:
    other files (name -> text) written with the base, the anki and the main commit."""

    def commit(message: str, step: int, **decks: str) -> None:
        for name, text in (others[step] if others else {}).items():
            (repo.root / name).write_text(text)
        repo.commit(message, **decks)

    commit("base", 0, Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    commit("anki", 1, Spanish=deck_text(N1, EDITED2))
    repo.git("checkout", "-q", "main")
    commit("move", 2, Spanish=deck_text(qa(1, "one", "uno")), French=deck_text(N3, N2, deck_id=2))


def test_move_here_against_edit_there_merges_clean(repo: DeckRepo) -> None:
    moved_on_main_edited_on_anki(repo)
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "French.md: note 2, moved here from Spanish.md by ours, with the edit"
        in done.stdout + done.stderr
    )
    assert repo.notes("Spanish") == [qa(1, "one", "uno")]
    assert repo.notes("French") == [N3, EDITED2]
    assert repo.status() == ""  # committed: the index held the carried edit
    assert repo.git("show", "HEAD:French.md").stdout == repo.text("French")
    assert len(repo.git("log", "-1", "--format=%P").stdout.split()) == 2


def test_explicit_strategy_option_merges_clean(tmp_path: Path) -> None:
    repo = DeckRepo(tmp_path / "decks", hooks=False)
    moved_on_main_edited_on_anki(repo)
    done = repo.merge("anki", "-s", "ankiops")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("French") == [N3, EDITED2]
    assert repo.notes("Spanish") == [qa(1, "one", "uno")]


def test_without_the_strategy_the_driver_keeps_the_edit_as_a_conflict(tmp_path: Path) -> None:
    repo = DeckRepo(tmp_path / "decks", hooks=False)
    moved_on_main_edited_on_anki(repo)
    done = repo.merge("anki")
    assert done.returncode != 0
    spanish = repo.text("Spanish")
    assert "zwei, edited in Anki" in spanish and "moved this note to French.md" in spanish
    assert repo.notes("French") == [N3, N2]


def test_git_pull_from_another_repository_merges_clean(tmp_path: Path) -> None:
    # "anki" is a second repository here, pulled like any remote (`git pull origin`),
    # from a GUI's bare PATH, with the driver wired by absolute path as init does
    from ankiops_git.init import driver_command
    from ankiops_git.programs import program

    anki = DeckRepo(tmp_path / "anki")
    anki.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo = DeckRepo(tmp_path / "decks")
    repo.git("config", "merge.ankiops.driver", driver_command(program("ankiops-merge")))
    repo.env["PATH"] = os.pathsep.join(("/usr/bin", "/bin"))
    (repo.root / ".gitattributes").unlink()  # it comes with the first pull
    repo.git("remote", "add", "anki", str(anki.root))
    repo.git("pull", "-q", "anki", "main")
    anki.commit("edit in Anki", Spanish=deck_text(N1, EDITED2))
    repo.commit("move", Spanish=deck_text(N1), French=deck_text(N3, N2, deck_id=2))
    done = repo.finished(repo.git("pull", "--no-rebase", "--no-edit", "anki", "main", check=False))
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("Spanish") == [N1]
    assert repo.notes("French") == [N3, EDITED2]
    assert repo.status() == ""


def test_moved_in_anki_edited_here_merges_clean(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki moves", Spanish=deck_text(N1), French=deck_text(N2, N3, deck_id=2))
    repo.git("checkout", "-q", "main")
    edited = qa(2, "two", "zwei, edited here", ["verbs"])
    repo.commit("edit", Spanish=deck_text(N1, edited))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("Spanish") == [N1]
    assert repo.notes("French") == [edited, N3]
    assert repo.status() == ""


def test_several_notes_moved_to_several_files(repo: DeckRepo) -> None:
    repo.commit(
        "base",
        Spanish=deck_text(N1, N2, N3, N4),
        French=deck_text(qa(5, "five", "cinq"), deck_id=2),
        German=deck_text(qa(6, "six", "sechs"), deck_id=3),
    )
    repo.git("checkout", "-q", "-b", "anki")
    e1, e2, e4 = qa(1, "one", "eins!"), qa(2, "two", "zwei!"), qa(4, "4", "v", ["tagged"])
    repo.commit("anki edits", Spanish=deck_text(e1, e2, N3, e4))
    repo.git("checkout", "-q", "main")
    repo.commit(
        "moves",
        Spanish=deck_text(N3),
        French=deck_text(qa(5, "five", "cinq"), N1, N2, deck_id=2),
        German=deck_text(N4, qa(6, "six", "sechs"), deck_id=3),
    )
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("Spanish") == [N3]
    assert repo.notes("French") == [qa(5, "five", "cinq"), e1, e2]
    assert repo.notes("German") == [e4, qa(6, "six", "sechs")]
    assert repo.status() == ""


def test_move_into_a_new_deck_file(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2, N3))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, EDITED2, qa(3, "three", "tres")))
    repo.git("checkout", "-q", "main")
    repo.commit("new deck", Spanish=deck_text(N1, N3), Verbs=deck_text(N2, deck_id=7))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("Spanish") == [N1, qa(3, "three", "tres")]
    assert repo.notes("Verbs") == [EDITED2]
    assert repo.status() == ""


def test_new_deck_file_made_in_anki_against_an_edit_here(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1), Verbs=deck_text(N2, deck_id=7))
    repo.git("checkout", "-q", "main")
    edited = qa(2, "two", "zwei", ["verbs"])
    repo.commit("edit", Spanish=deck_text(N1, edited))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("Spanish") == [N1]
    assert repo.notes("Verbs") == [edited]


def test_edit_clashing_with_the_movers_own_edit_conflicts_in_the_new_file(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux")))
    repo.git("checkout", "-q", "main")
    repo.commit("move", Spanish=deck_text(N1), French=deck_text(N3, qa(2, "TWO", "dos"), deck_id=2))
    done = repo.merge("anki")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "French.md: note 2" in done.stdout + done.stderr
    french = repo.text("French")
    assert "Q: TWO" in french  # ours' edit to the other field is merged in
    assert "<<<<<<< ours (moved it here from Spanish.md)\nA: dos\n=======\nA: deux\n" in french
    assert repo.notes("Spanish") == [N1]  # left cleanly, no second copy
    assert repo.status().splitlines() == ["UU French.md"]
    unmerged = repo.git("ls-files", "-u", "--", "French.md").stdout.splitlines()
    assert [line.split()[2] for line in unmerged] == ["1", "2", "3"]
    theirs = repo.git("show", ":3:French.md").stdout
    assert deckfile.parse(theirs).notes == [N3, qa(2, "two", "deux")]
    # resolving it is the usual: edit the note, add, commit
    (repo.root / "French.md").write_text(deck_text(N3, qa(2, "TWO", "dos, deux"), deck_id=2))
    repo.git("add", "French.md")
    repo.git("commit", "-q", "--no-edit")
    assert len(repo.git("log", "-1", "--format=%P").stdout.split()) == 2


def test_other_files_merge_as_git_merges_them(repo: DeckRepo) -> None:
    moved_on_main_edited_on_anki(
        repo,
        {"README.txt": "line 1\nline 2\nline 3\n"},
        {"README.txt": "line 1\nline 2\nline 3, theirs\n"},
        {
            "README.txt": "line 1, ours\nline 2\nline 3\n",
            ".gitattributes": "*.md merge=ankiops\n*.txt text\n",
        },
    )
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo.root / "README.txt").read_text() == "line 1, ours\nline 2\nline 3, theirs\n"
    assert (repo.root / ".gitattributes").read_text().endswith("*.txt text\n")
    assert repo.notes("French") == [N3, EDITED2]


def test_a_text_conflict_elsewhere_still_stops_the_merge(repo: DeckRepo) -> None:
    moved_on_main_edited_on_anki(
        repo,
        {"README.txt": "hello\n"},
        {"README.txt": "hello, theirs\n"},
        {"README.txt": "hello, ours\n"},
    )
    done = repo.merge("anki")
    assert done.returncode == 1
    assert repo.status().splitlines() == ["UU README.txt"]
    (repo.root / "README.txt").write_text("hello, both\n")
    repo.git("add", "README.txt")
    finished = repo.git("commit", "--no-edit", check=False)  # the pre-commit hook carries
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert repo.notes("French") == [N3, EDITED2]
    assert repo.notes("Spanish") == [qa(1, "one", "uno")]
    assert repo.status() == ""
    assert repo.git("show", "HEAD:French.md").stdout == repo.text("French")


def test_local_changes_in_the_way_abort_cleanly(repo: DeckRepo) -> None:
    moved_on_main_edited_on_anki(repo)
    (repo.root / "Spanish.md").write_text(deck_text(N1, qa(2, "two", "uncommitted")))
    done = repo.merge("anki")
    # git leaves a file the merge does not change as it is, uncommitted edits and all
    assert done.returncode == 0, done.stdout + done.stderr
    assert "uncommitted" in repo.text("Spanish")  # nothing of the user's is touched
    assert repo.status() == " M Spanish.md\n"
    assert repo.notes("French") == [N3, EDITED2]
    with_strategy = DeckRepo(repo.root.parent / "other", hooks=False)
    moved_on_main_edited_on_anki(with_strategy)
    (with_strategy.root / "Spanish.md").write_text(deck_text(N1, qa(2, "two", "uncommitted")))
    refused = with_strategy.merge("anki", "-s", "ankiops")  # the strategy refuses instead
    assert refused.returncode != 0
    assert "uncommitted" in with_strategy.text("Spanish")
    assert with_strategy.notes("French") == [N3, N2]
    git_dir = with_strategy.git("rev-parse", "--git-dir").stdout.strip()
    assert not (with_strategy.root / git_dir / "MERGE_HEAD").exists()


def test_the_configuration_init_writes_merges_clean(tmp_path: Path) -> None:
    import pygit2

    from ankiops_git import init

    repo = DeckRepo(tmp_path / "decks", hooks=False)
    repo.git("config", "--unset", "merge.ankiops.driver")
    repo.git("config", "pull.twohead", "ankiops")  # as earlier versions set it
    git_repo = pygit2.Repository(str(repo.root))
    init.configure_git(git_repo, "/nowhere/collection.anki2")
    init.install_hooks(git_repo)
    # no strategy by default: git GUIs, with a bare PATH, could not find it for any merge
    assert repo.git("config", "pull.twohead", check=False).stdout == ""
    assert repo.git("config", "merge.ankiops.name").stdout.strip()
    moved_on_main_edited_on_anki(repo)
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("French") == [N3, EDITED2]


@pytest.mark.parametrize("mover", ["main", "anki"])
def test_file_emptied_by_moves_and_deleted_against_an_edit(repo: DeckRepo, mover: str) -> None:
    # one side moves every note of Spanish.md into French.md and deletes Spanish.md;
    # git sees modify/delete on Spanish.md and never runs the driver on it
    french = [qa(5, "five", "cinq"), qa(6, "six", "six"), qa(7, "seven", "sept")]
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(*french, deck_id=2))
    stayer = "anki" if mover == "main" else "main"
    repo.git("checkout", "-q", "-b", "anki")
    repo.git("checkout", "-q", mover)
    repo.commit("moves", Spanish=None, French=deck_text(*french, N1, N2, deck_id=2))
    repo.git("checkout", "-q", stayer)
    repo.commit("edit", Spanish=deck_text(N1, EDITED2))
    repo.git("checkout", "-q", "main")
    plain = repo.merge("anki")  # git's modify/delete: a conflict the user sees, no loss
    assert plain.returncode == 1 and "CONFLICT (modify/delete): Spanish.md" in plain.stdout
    assert "zwei, edited in Anki" in repo.text("Spanish")
    repo.git("merge", "--abort")
    done = repo.merge("anki", "-s", "ankiops")  # the strategy resolves it
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (repo.root / "Spanish.md").exists()
    assert "Spanish.md: removed" in done.stdout + done.stderr
    assert repo.notes("French") == [*french, N1, EDITED2]
    assert repo.status() == ""


def test_file_deleted_against_an_edit_of_a_note_it_did_not_move_stays_a_conflict(
    repo: DeckRepo,
) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, EDITED2))
    repo.git("checkout", "-q", "main")
    repo.commit("move one, delete the rest", Spanish=None, French=deck_text(N3, N1, deck_id=2))
    done = repo.merge("anki")
    assert done.returncode == 1
    assert "zwei, edited in Anki" in repo.text("Spanish")  # git's modify/delete keeps it
    assert repo.status().splitlines() == ["DU Spanish.md"]


def test_a_carried_edit_keeps_the_rest_of_the_destination_file_byte_for_byte(
    tmp_path: Path,
) -> None:
    from ankiops_git.merge import Carried
    from ankiops_git.merge.carry import apply, read, record

    # a hand-formatted destination: CRLF line ends, extra blank lines, the moved note last
    destination = (
        "<!-- deck_id: 2 -->\r\n\r\n<!-- note_id: 3 -->\r\nQ: three\r\nA: drei\r\n\r\n\r\n"
        "---\r\n\r\n<!-- note_id: 2 -->\r\nQ: two\r\nA: zwei\r\n"
    )
    carried = [Carried("Spanish.md", "French.md", 2, "ours", N2, EDITED2)]
    record(tmp_path / "carry", carried)
    assert read(tmp_path / "carry") == carried  # what the driver hands the strategy
    applied = apply(destination, "French.md", read(tmp_path / "carry"))
    assert applied.result.clean and applied.stages is None
    assert applied.result.text == destination.replace("A: zwei", "A: zwei, edited in Anki")


def test_a_carried_edit_whose_note_is_gone_is_kept_as_a_conflict() -> None:
    from ankiops_git.merge import Carried
    from ankiops_git.merge.carry import apply

    carried = [Carried("Spanish.md", "French.md", 2, "theirs", N2, EDITED2)]
    applied = apply(deck_text(N3, deck_id=2), "French.md", carried)
    assert not applied.result.clean
    text = applied.result.text
    assert "<<<<<<< ours: edited it in Spanish.md" in text and "zwei, edited in Anki" in text
    assert deckfile.parse(text.split("<<<<<<<")[0].rstrip("-\n") + "\n").notes == [N3]


# --- end to end: `ankiops-git init`, the hooks, a real collection -------------------------


@pytest.mark.parametrize("world", ["collection"], indirect=True)
def test_pull_anki_merges_a_move_against_an_anki_edit_and_pushes_it(world: World) -> None:  # noqa: F811
    tener = world.ids["tener"]
    with world.anki() as col:
        note = col.get_note(tener)  # type: ignore[arg-type]
        note["Answer"] = "To have (edited in Anki)"
        col.update_note(note)
    spanish = world.read("Spanish.md").split("\n---\n\n")
    block = next(b for b in spanish if f"note_id: {tener} " in b)
    world.write("Spanish.md", "\n---\n\n".join(b for b in spanish if b is not block))
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\n" + block.rstrip("\n") + "\n")
    world.git("commit", "-am", "move tener to Numbers")

    pulled = world.git("pull", "anki", check=False)
    # the pre-merge-commit hook carried the Anki edit into Numbers.md and staged it
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "Numbers.md: note" in pulled.stderr and "`git commit` finishes" in pulled.stderr
    committed = world.git("commit", "--no-edit")  # the post-commit hook pushes
    assert "anki (pushed)" in committed.stderr, committed.stderr
    assert f"note_id: {tener} " not in world.read("Spanish.md")
    assert "A: To have (edited in Anki)" in note_block(world.read("Numbers.md"), tener)
    assert world.git("status", "--porcelain").stdout == ""
    assert world.rev("HEAD") == world.rev("anki/main")  # the merge was pushed: in sync
    assert world.note_deck(tener) == "Numbers"  # moved in Anki, the same note
    assert world.managed_count("tener?") == 1
    with world.anki() as col:
        assert col.get_note(tener)["Answer"] == "To have (edited in Anki)"  # type: ignore[arg-type]


def test_merge_abort_after_a_carried_conflict_restores_everything(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux")))
    repo.git("checkout", "-q", "main")
    repo.commit("move", Spanish=deck_text(N1), French=deck_text(N3, qa(2, "two", "dos"), deck_id=2))
    before = {name: repo.text(name) for name in ("Spanish", "French")}
    assert repo.merge("anki").returncode == 1
    repo.git("merge", "--abort")
    assert {name: repo.text(name) for name in ("Spanish", "French")} == before
    assert repo.status() == ""


@pytest.mark.parametrize("seed", range(6))
def test_random_moves_against_random_edits_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    files = ["Spanish", "French", "German"]
    notes = {i: qa(i, f"q{i}", f"a{i}", [f"t{i}"]) for i in range(1, 16)}
    home = {i: files[i % 3] for i in notes}
    repo = DeckRepo(tmp_path / "decks")

    def layout(where: dict[int, str], content: dict[int, Note]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for k, name in enumerate([*files, "Verbs"]):
            held = [content[i] for i in sorted(where) if where[i] == name]
            out[name] = deck_text(*held, deck_id=k + 1) if held else None
        return out

    def commit(message: str, where: dict[int, str], content: dict[int, Note]) -> None:
        wanted = layout(where, content)
        repo.commit(
            message,
            **{
                n: t for n, t in wanted.items() if (repo.root / f"{n}.md").exists() or t is not None
            },
        )

    commit("base", home, notes)
    mover = "main" if seed % 2 == 0 else "anki"
    repo.git("checkout", "-q", "-b", "anki")
    moved = dict(home)
    movers = rng.sample(sorted(notes), 5)
    for i in movers:
        moved[i] = rng.choice([f for f in [*files, "Verbs"] if f != home[i]])
    edited = dict(notes)
    others = [i for i in notes if i not in movers]
    for i in movers[:3] + rng.sample(others, 3):  # some moved notes are edited, some not
        n = notes[i]
        if rng.random() < 0.5:
            edited[i] = qa(i, n.fields["Question"], n.fields["Answer"] + " (edited)", n.tags)
        else:
            edited[i] = qa(i, n.fields["Question"], n.fields["Answer"], [*n.tags, "new"])
    for branch in ("anki", "main"):
        repo.git("checkout", "-q", branch)
        if branch == mover:
            commit("moves", moved, notes)
        else:
            commit("edits", home, edited)
    repo.git("checkout", "-q", "main")
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    found: dict[int, tuple[str, Note]] = {}
    for name in [*files, "Verbs"]:
        if (repo.root / f"{name}.md").exists():
            for note in repo.notes(name):
                assert note.note_id not in found, f"note {note.note_id} twice"
                found[note.note_id or 0] = (name, note)
    assert found == {i: (moved[i], edited[i]) for i in notes}
    assert repo.status() == ""


def test_the_mover_and_the_other_side_edit_different_fields(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux", ["anki"])))
    repo.git("checkout", "-q", "main")
    repo.commit(
        "move", Spanish=deck_text(N1), French=deck_text(N3, qa(2, "TWO", "zwei"), deck_id=2)
    )
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.notes("French") == [N3, qa(2, "TWO", "deux", ["anki"])]
    assert repo.notes("Spanish") == [N1]


@pytest.mark.parametrize("clash", [False, True])
def test_deck_file_names_with_spaces_and_accents(repo: DeckRepo, clash: bool) -> None:
    source, destination = "Español básico", "Français avancé"
    repo.commit("base", **{source: deck_text(N1, N2), destination: deck_text(N3, deck_id=2)})
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", **{source: deck_text(N1, EDITED2)})
    repo.git("checkout", "-q", "main")
    mine = qa(2, "two", "zwei, mine") if clash else N2
    repo.commit("move", **{source: deck_text(N1), destination: deck_text(N3, mine, deck_id=2)})
    done = repo.merge("anki")
    assert done.returncode == (1 if clash else 0), done.stdout + done.stderr
    if clash:
        assert "zwei, edited in Anki" in repo.text(destination)
        assert "zwei, mine" in repo.text(destination)
        assert repo.git("diff", "--name-only", "--diff-filter=U").stdout.strip()
    else:
        assert repo.notes(destination) == [N3, EDITED2]
    assert repo.notes(source) == [N1]


def test_more_than_two_heads_are_refused_and_nothing_changes(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2))
    for branch, note in (("a", qa(1, "one", "A")), ("b", qa(2, "two", "B"))):
        repo.git("checkout", "-q", "-b", branch, "main")
        repo.commit(branch, Spanish=deck_text(note, N2) if branch == "a" else deck_text(N1, note))
    repo.git("checkout", "-q", "main")
    repo.commit("main", French=deck_text(N3, deck_id=2))
    head = repo.git("rev-parse", "HEAD").stdout
    done = repo.git("merge", "--no-edit", "-s", "ankiops", "a", "b", check=False)
    assert done.returncode != 0 and "two heads only" in done.stderr
    assert repo.git("rev-parse", "HEAD").stdout == head and repo.status() == ""


@pytest.mark.parametrize("world", ["collection"], indirect=True)
def test_a_gui_with_a_bare_path_merges_deck_aware(world: World) -> None:  # noqa: F811
    """GUIs run git with a bare PATH: `pull.twohead ankiops` made every merge fail there
    ("Could not find merge strategy"). A move here against an edit on a branch merges
    with no duplicate, through the driver and hooks init wired by absolute path."""
    bare = dict(world.env, PATH=os.pathsep.join(("/usr/bin", "/bin")))

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=world.root, env=bare, capture_output=True, text=True
        )

    tener = world.ids["tener"]
    git("checkout", "-q", "-b", "side")
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have\n", "A: To own\n"))
    assert git("commit", "-qam", "edit on side").returncode == 0
    git("checkout", "-q", "main")
    spanish = world.read("Spanish.md").split("\n---\n\n")
    block = next(b for b in spanish if f"note_id: {tener} " in b)
    world.write("Spanish.md", "\n---\n\n".join(b for b in spanish if b is not block))
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\n" + block.rstrip("\n") + "\n")
    assert git("commit", "-qam", "move tener").returncode == 0
    merged = git("merge", "--no-edit", "side")
    assert "Could not find merge strategy" not in merged.stderr
    assert merged.returncode == 1 and "`git commit` finishes the merge" in merged.stderr
    finished = git("commit", "--no-edit")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"note_id: {tener} " not in world.read("Spanish.md")
    assert "A: To own" in note_block(world.read("Numbers.md"), tener)
    assert world.git("status", "--porcelain").stdout == ""
    assert world.field(tener, "Answer") == "To own"  # and the hook pushed it
