"""The merge driver under real `git merge`, configured as a user would configure it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import DeckRepo, deck_text, qa


@pytest.fixture
def repo(tmp_path: Path) -> DeckRepo:
    return DeckRepo(tmp_path / "decks", hooks=False)  # the driver alone, as git runs it


N1, N2, N3 = qa(1, "one", "eins"), qa(2, "two", "zwei"), qa(3, "three", "drei")


def test_edits_to_one_note_on_both_branches_merge_field_by_field(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2, N3))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux"), N3, qa(4, "four", "vier")))
    repo.git("checkout", "-q", "main")
    repo.commit("main", Spanish=deck_text(N1, qa(2, "TWO", "zwei"), N3))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.deck("Spanish").notes == [N1, qa(2, "TWO", "deux"), N3, qa(4, "four", "vier")]
    assert repo.git("status", "--porcelain").stdout == ""  # committed, nothing left over


def test_same_field_edited_differently_stops_the_merge_with_markers(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux")))
    repo.git("checkout", "-q", "main")
    repo.commit("main", Spanish=deck_text(qa(1, "one", "uno"), qa(2, "two", "dos")))
    done = repo.merge("anki")
    assert done.returncode != 0
    assert "CONFLICT" in done.stdout + done.stderr
    text = (repo.root / "Spanish.md").read_text()
    assert "<<<<<<< ours\nA: dos\n=======\nA: deux\n>>>>>>> theirs\n" in text
    assert "A: uno" in text  # the clean part of the merge is there too
    assert repo.git("status", "--porcelain").stdout.startswith("UU Spanish.md")


def moved_here_edited_and_touched_there(repo: DeckRepo) -> None:
    """main moves note 2 Spanish -> French; branch `anki` edits note 2 and also changes
    French.md, so git passes both files to the driver."""
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit(
        "anki",
        Spanish=deck_text(N1, qa(2, "two", "zwei, edited")),
        French=deck_text(qa(3, "three", "trois"), deck_id=2),
    )
    repo.git("checkout", "-q", "main")
    repo.commit("move note 2", Spanish=deck_text(N1), French=deck_text(N3, N2, deck_id=2))


def test_move_on_one_branch_and_edit_on_the_other_when_both_files_change(repo: DeckRepo) -> None:
    moved_here_edited_and_touched_there(repo)
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.deck("Spanish").notes == [N1]
    assert repo.deck("French").notes == [qa(3, "three", "trois"), qa(2, "two", "zwei, edited")]


def test_git_pull_carries_an_edit_to_a_note_that_moved(repo: DeckRepo) -> None:
    # the same as a merge, through `git pull` (which merges FETCH_HEAD)
    moved_here_edited_and_touched_there(repo)
    done = repo.git("pull", "-q", "--no-rebase", "--no-edit", ".", "anki", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.deck("Spanish").notes == [N1]
    assert repo.deck("French").notes == [qa(3, "three", "trois"), qa(2, "two", "zwei, edited")]


def test_move_edited_elsewhere_with_the_new_file_untouched_there_conflicts(repo: DeckRepo) -> None:
    # git takes French.md from main without asking the driver, so the edit made on the
    # other branch cannot reach it: the driver must keep it visible, not drop it.
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "zwei, edited")))
    repo.git("checkout", "-q", "main")
    repo.commit(
        "move note 2", Spanish=deck_text(qa(1, "one", "uno")), French=deck_text(N3, N2, deck_id=2)
    )
    done = repo.merge("anki")
    assert done.returncode != 0
    spanish = (repo.root / "Spanish.md").read_text()
    assert "zwei, edited" in spanish and "moved this note to French.md" in spanish
    assert "A: uno" in spanish
    assert repo.deck("French").notes == [N3, N2]


def test_move_on_the_other_branch_and_edit_here_when_both_files_change(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2), French=deck_text(N3, deck_id=2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit(
        "anki moved", Spanish=deck_text(N1), French=deck_text(qa(2, "two", "zwei"), N3, deck_id=2)
    )
    repo.git("checkout", "-q", "main")
    repo.commit(
        "main",
        Spanish=deck_text(N1, qa(2, "two", "zwei, edited")),
        French=deck_text(qa(3, "three", "trois"), deck_id=2),
    )
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.deck("Spanish").notes == [N1]
    assert repo.deck("French").notes == [qa(2, "two", "zwei, edited"), qa(3, "three", "trois")]


def test_deck_file_renamed_on_one_branch_and_edited_on_the_other(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2, N3))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux"), N3))
    repo.git("checkout", "-q", "main")
    repo.git("mv", "Spanish.md", "Languages__Spanish.md")
    repo.commit("rename deck", Languages__Spanish=deck_text(qa(1, "one", "uno"), N2, N3))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (repo.root / "Spanish.md").exists()
    assert repo.deck("Languages__Spanish").notes == [qa(1, "one", "uno"), qa(2, "two", "deux"), N3]


def test_delete_against_edit_conflicts_under_git(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2, N3))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "zwei, edited"), N3))
    repo.git("checkout", "-q", "main")
    repo.commit("main", Spanish=deck_text(qa(1, "one", "uno"), N3))
    done = repo.merge("anki")
    assert done.returncode != 0
    text = (repo.root / "Spanish.md").read_text()
    assert "<<<<<<< ours: deleted this note\n=======\n<!-- note_id: 2 -->" in text
    assert "zwei, edited" in text


def test_new_note_edited_before_its_id_came_back(repo: DeckRepo) -> None:
    # main adds a note and pushes it; Anki assigns id 9 and its branch (from the old
    # base) gets the note with the id; meanwhile main edits the note again.
    repo.commit("base", Spanish=deck_text(N1))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(9, "new", "neu")))
    repo.git("checkout", "-q", "main")
    repo.commit("add", Spanish=deck_text(N1, qa(None, "new", "neu")))
    repo.commit("edit", Spanish=deck_text(qa(1, "one", "uno"), qa(None, "new", "neu, edited")))
    done = repo.merge("anki")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.deck("Spanish").notes == [qa(1, "one", "uno"), qa(9, "new", "neu, edited")]


def test_unparseable_file_gets_a_line_merge_and_no_traceback(repo: DeckRepo) -> None:
    repo.commit("base", Spanish=deck_text(N1, N2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "deux")))
    repo.git("checkout", "-q", "main")
    repo.commit("main", Spanish=deck_text(N1, N2).replace("Q: one", "Z: one"))
    done = repo.merge("anki")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    text = (repo.root / "Spanish.md").read_text()
    assert "Z: one" in text and "A: deux" in text


def test_a_stale_driver_path_says_how_to_repair_and_keeps_both_sides(tmp_path: Path) -> None:
    from ankiops_git.init import driver_command

    repo = DeckRepo(tmp_path / "decks", hooks=False)
    repo.git("config", "merge.ankiops.driver", driver_command("/nowhere/bin/ankiops-merge"))
    repo.env["PATH"] = os.pathsep.join(("/usr/bin", "/bin"))  # and none on PATH
    repo.commit("base", Spanish=deck_text(N1, N2))
    repo.git("checkout", "-q", "-b", "anki")
    repo.commit("anki", Spanish=deck_text(N1, qa(2, "two", "zwei, Anki")))
    repo.git("checkout", "-q", "main")
    repo.commit("main", Spanish=deck_text(qa(1, "one", "uno"), N2))
    done = repo.merge("anki")
    assert done.returncode == 1
    assert "ankiops-git was moved or reinstalled. Run `ankiops-git init` here to repair" in (
        done.stderr
    ), done.stderr
    assert repo.status().splitlines() == ["UU Spanish.md"]  # git keeps both sides
