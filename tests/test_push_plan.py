"""Push planning as pure functions over model objects: adopt, add, move, rename, guard."""

from __future__ import annotations

import pytest

from ankiops_git import deckfile
from ankiops_git.errors import AnkiOpsError
from ankiops_git.export import AnkiView, Snapshot, ViewNote
from ankiops_git.model import Deck, Note
from ankiops_git.push import PushRejected, check_deletions, plan_push, unfetched_changes


def qa(q: str, a: str, note_id: int | None = None, tags: list[str] | None = None) -> Note:
    return Note("QA", {"Question": q, "Answer": a}, note_id, tags or [])


def view_of(decks: dict[str, int], notes: dict[int, tuple[str, Note]]) -> AnkiView:
    """Anki holding these notes (deck name, Markdown note), as if unchanged since the base."""
    return AnkiView(
        decks,
        {i: ViewNote(n, deck, None, None) for i, (deck, n) in notes.items()},
        {i: 1 for i in notes},
    )


def snap(**files: Deck) -> Snapshot:
    decks = {f"{name}.md": deck for name, deck in files.items()}
    return Snapshot({}, decks)


def test_id_less_notes_adopt_unclaimed_identical_notes_counting_multiplicity() -> None:
    view = view_of({"D": 5}, {1: ("D", qa("x", "y", 1)), 2: ("D", qa("x", "y", 2))})
    target = snap(D=Deck([qa("x", "y"), qa("x", "y"), qa("x", "y")], 5))
    plan = plan_push(view, target)
    assert sorted(plan.adopted) == [1, 2]
    assert len(plan.adds) == 1 and plan.adds[0].deck == "D"
    assert plan.deletes == [] and plan.updates == []


def test_adoption_needs_same_deck_and_same_fields() -> None:
    view = view_of({"D": 5, "E": 6}, {1: ("E", qa("x", "y", 1)), 2: ("D", qa("x", "z", 2))})
    target = snap(D=Deck([qa("x", "y")], 5))
    plan = plan_push(view, target)
    assert plan.adopted == {}
    assert [a.note.fields["Answer"] for a in plan.adds] == ["y"]
    assert sorted(i for i, _, _ in plan.deletes) == [1, 2]


def test_markdown_spelled_differently_but_same_html_is_not_an_update() -> None:
    view = view_of({"D": 5}, {1: ("D", qa("**bold**", "y", 1))})
    plan = plan_push(view, snap(D=Deck([qa("__bold__", "y", 1)], 5)))
    assert plan.empty()


def test_field_tag_and_deck_changes() -> None:
    view = view_of({"D": 5, "E": 6}, {1: ("D", qa("x", "y", 1)), 2: ("D", qa("p", "q", 2))})
    target = snap(D=Deck([qa("x", "*new*", 1, ["t1"])], 5), E=Deck([qa("p", "q", 2)], 6))
    plan = plan_push(view, target)
    assert len(plan.updates) == 1
    update = plan.updates[0]
    assert update.note_id == 1 and update.tags == ("t1",)
    assert update.fields == {"Answer": "<i>new</i>"}  # only the changed field, as HTML
    assert plan.moves == {"E": [2]}


def test_renamed_file_renames_the_deck_and_moves_nothing() -> None:
    view = view_of({"Old": 5}, {1: ("Old", qa("x", "y", 1))})
    plan = plan_push(view, snap(New=Deck([qa("x", "y", 1)], 5)))
    assert plan.renames == [(5, "Old", "New")]
    assert plan.moves == {} and plan.deletes == [] and plan.adds == []


def test_new_file_creates_its_deck() -> None:
    view = view_of({"D": 5}, {})
    plan = plan_push(view, snap(D=Deck([], 5), Fresh=Deck([qa("a", "b")])))
    assert plan.creates == ["Fresh"]
    assert [a.deck for a in plan.adds] == ["Fresh"]


def test_duplicate_ids_across_files_are_refused_with_file_and_line() -> None:
    view = view_of({"D": 5}, {1: ("D", qa("x", "y", 1))})
    note = qa("x", "y", 1)
    note.line = 3
    with pytest.raises(AnkiOpsError, match=r"E\.md:3: note_id 1 is also in D\.md"):
        plan_push(view, snap(D=Deck([qa("x", "y", 1)], 5), E=Deck([note])))


def test_deletion_guard_by_share_and_by_count() -> None:
    notes = {i: ("D", qa(f"q{i}", "a", i)) for i in range(1, 6)}
    view = view_of({"D": 5}, notes)
    plan = plan_push(view, snap(D=Deck([notes[1][1], notes[2][1]], 5)))
    assert len(plan.deletes) == 3
    with pytest.raises(PushRejected) as refused:
        check_deletions(plan, view, allow=False)
    assert refused.value.reason == "deletes"
    assert f"{deckfile.filename_for_deck('D')}: Q: q3" in str(refused.value)
    check_deletions(plan, view, allow=True)

    one = plan_push(view, snap(D=Deck([n for _, n in list(notes.values())[1:]], 5)))
    check_deletions(one, view, allow=False)  # deleting one note is ordinary

    big = {i: ("B", qa(f"q{i}", "a", i)) for i in range(1, 1001)}
    big_view = view_of({"B": 7}, big)
    kept = Deck([n for i, (_, n) in big.items() if i > 21], 7)
    with pytest.raises(PushRejected, match="21 notes"):
        check_deletions(plan_push(big_view, snap(B=kept)), big_view, allow=False)


def test_unfetched_anki_changes_block_unless_the_pushed_tree_holds_them() -> None:
    base = snap(D=Deck([qa("x", "y", 1), qa("p", "q", 2)], 5))
    view = view_of({"D": 5}, {1: ("D", qa("x", "EDITED", 1)), 2: ("D", qa("p", "q", 2))})
    ours = snap(D=Deck([qa("x", "y", 1), qa("p", "changed", 2)], 5))
    assert unfetched_changes(view, base, ours, plan_push(view, ours)) == [
        "edited in Anki: D.md: Q: x"
    ]
    same = snap(D=Deck([qa("x", "EDITED", 1), qa("p", "changed", 2)], 5))
    assert unfetched_changes(view, base, same, plan_push(view, same)) == []

    # A note an interrupted push added is adopted, not reported.
    view.notes[3] = ViewNote(qa("new", "n", 3), "D", None, None)
    retry = snap(D=Deck([qa("x", "EDITED", 1), qa("p", "q", 2), qa("new", "n")], 5))
    plan = plan_push(view, retry)
    assert plan.adopted == {3: ("D.md", 2)} and plan.adds == []
    assert unfetched_changes(view, base, retry, plan) == []
