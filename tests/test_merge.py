"""The merge rules, one by one, on small hand-written deck files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ankiops_git import deckfile
from ankiops_git.errors import DeckFileError
from ankiops_git.merge import Elsewhere, Located, merge_decks, merge_texts
from ankiops_git.model import Deck, Note


def qa(note_id: int | None, q: str, a: str, tags: list[str] | None = None) -> Note:
    return Note("QA", {"Question": q, "Answer": a}, note_id, tags or [])


def text(*notes: Note, deck_id: int | None = 1) -> str:
    return deckfile.write(Deck(list(notes), deck_id))


def merged(base: str, ours: str, theirs: str, **kw: object) -> Deck:
    result = merge_texts(base, ours, theirs, "Deck.md", **kw)  # type: ignore[arg-type]
    assert result.clean, result.text
    assert result.text == deckfile.write(deckfile.parse(result.text))  # canonical
    return deckfile.parse(result.text)


def conflicted(base: str, ours: str, theirs: str, **kw: object) -> str:
    result = merge_texts(base, ours, theirs, "Deck.md", **kw)  # type: ignore[arg-type]
    assert not result.clean
    with pytest.raises(DeckFileError, match="merge conflict"):
        deckfile.parse(result.text, "Deck.md")  # the validator and hook see it
    return result.text


N1, N2, N3 = qa(1, "one", "eins"), qa(2, "two", "zwei"), qa(3, "three", "drei")
BASE = text(N1, N2, N3)


def fields(deck: Deck) -> list[tuple[int | None, str, str]]:
    return [(n.note_id, n.field("Question"), n.field("Answer")) for n in deck.notes]


# --- fields ---------------------------------------------------------------------------


def test_field_changed_on_one_side_takes_that_side() -> None:
    ours = text(qa(1, "one!", "eins"), N2, N3)
    theirs = text(N1, qa(2, "two", "deux"), qa(3, "three", "trois"))
    assert fields(merged(BASE, ours, theirs)) == [
        (1, "one!", "eins"),
        (2, "two", "deux"),
        (3, "three", "trois"),
    ]


def test_different_fields_of_one_note_both_survive() -> None:
    ours = text(qa(1, "ONE", "eins"), N2, N3)
    theirs = text(qa(1, "one", "un"), N2, N3)
    assert fields(merged(BASE, ours, theirs))[0] == (1, "ONE", "un")


def test_same_change_on_both_sides_is_taken_once() -> None:
    both = text(qa(1, "one", "uno"), N2, N3)
    other = text(qa(1, "one", "uno"), qa(2, "two", "dos"), N3)
    deck = merged(BASE, both, other)
    assert fields(deck)[:2] == [(1, "one", "uno"), (2, "two", "dos")]


def test_different_lines_of_one_field_merge_line_by_line() -> None:
    base = text(qa(1, "q", "line 1\nline 2\nline 3\nline 4"))
    ours = text(qa(1, "q", "LINE 1\nline 2\nline 3\nline 4"))
    theirs = text(qa(1, "q", "line 1\nline 2\nline 3\nLINE 4"))
    assert merged(base, ours, theirs).notes[0].field("Answer") == "LINE 1\nline 2\nline 3\nLINE 4"


def test_same_field_changed_differently_is_a_conflict_inside_the_note() -> None:
    ours = text(qa(1, "version A", "eins"), N2, N3)
    theirs = text(qa(1, "version B", "eins"), N2, N3)
    out = conflicted(BASE, ours, theirs)
    assert (
        "<!-- note_id: 1 -->\n<<<<<<< ours\nQ: version A\n=======\nQ: version B\n"
        ">>>>>>> theirs\nA: eins\n" in out
    )
    # the rest of the file is merged normally
    assert "<!-- note_id: 2 -->\nQ: two\nA: zwei\n" in out


def test_overlapping_lines_in_a_field_conflict_but_other_lines_merge() -> None:
    base = text(qa(1, "q", "a\nb\nc\nd\ne"))
    ours = text(qa(1, "q", "a\nB1\nc\nd\nE"))
    theirs = text(qa(1, "q", "a\nB2\nc\nd\ne"))
    out = conflicted(base, ours, theirs)
    assert "<<<<<<< ours\nB1\n=======\nB2\n>>>>>>> theirs\nc\nd\nE" in out


def test_conflict_in_first_field_line_keeps_prefixes_at_line_start() -> None:
    base = text(qa(1, "q", "first\nsecond"))
    ours = text(qa(1, "q", "ours first\nsecond"))
    theirs = text(qa(1, "q", "theirs first\nsecond"))
    out = conflicted(base, ours, theirs)
    assert "<<<<<<< ours\nA: ours first\n=======\nA: theirs first\n>>>>>>> theirs\nsecond" in out


# --- tags and deck id -----------------------------------------------------------------


def test_tags_merge_as_sets() -> None:
    base = text(qa(1, "q", "a", ["keep", "drop_ours", "drop_theirs"]))
    ours = text(qa(1, "q", "a", ["keep", "drop_theirs", "new_ours"]))
    theirs = text(qa(1, "q", "a", ["keep", "drop_ours", "new_theirs"]))
    assert merged(base, ours, theirs).notes[0].tags == ["keep", "new_ours", "new_theirs"]


def test_tags_added_on_both_sides_to_a_note_edited_on_one() -> None:
    ours = text(qa(1, "one", "eins", ["x"]), N2, N3)
    theirs = text(qa(1, "one", "EINS", ["y"]), N2, N3)
    note = merged(BASE, ours, theirs).notes[0]
    assert (note.tags, note.field("Answer")) == (["x", "y"], "EINS")


def test_deck_id_merges_three_way() -> None:
    assert merged(BASE, text(N1, N2, N3, deck_id=9), text(N1, qa(2, "2", "zwei"), N3)).deck_id == 9
    assert merged(BASE, text(N1, qa(2, "2", "zwei"), N3), text(N1, N2, N3, deck_id=7)).deck_id == 7
    out = conflicted(BASE, text(N1, N2, N3, deck_id=8), text(N1, N2, N3, deck_id=7))
    assert out.startswith(
        "<<<<<<< ours\n<!-- deck_id: 8 -->\n=======\n<!-- deck_id: 7 -->\n>>>>>>> theirs\n"
    )


# --- adding and order -----------------------------------------------------------------


def test_added_on_one_side_goes_after_its_predecessor_there() -> None:
    new = qa(10, "new", "neu")
    first = qa(11, "first", "erst")
    ours = text(N3, N1, N2)  # ours reordered
    theirs = text(first, N1, new, N2, N3)
    assert [n.note_id for n in merged(BASE, ours, theirs).notes] == [11, 3, 1, 10, 2]


def test_order_follows_theirs_when_only_theirs_reordered() -> None:
    ours = text(N1, qa(2, "two", "zwei!"), N3, qa(10, "new", "neu"))
    theirs = text(N3, N1, N2)
    assert [n.note_id for n in merged(BASE, ours, theirs).notes] == [3, 10, 1, 2]


def test_new_notes_without_ids_on_both_sides_are_both_kept() -> None:
    ours = text(N1, qa(None, "ours new", "x"), N2, N3)
    theirs = text(N1, N2, N3, qa(None, "theirs new", "y"))
    assert [n.field("Question") for n in merged(BASE, ours, theirs).notes] == [
        "one",
        "ours new",
        "two",
        "three",
        "theirs new",
    ]


def test_same_new_note_added_on_both_sides_is_kept_once() -> None:
    new = qa(None, "same", "new")
    deck = merged(BASE, text(N1, N2, N3, new), text(N1, N2, N3, new))
    assert [n.field("Question") for n in deck.notes].count("same") == 1


# --- deleting -------------------------------------------------------------------------


def test_deleted_on_one_side_and_unchanged_on_the_other_is_deleted() -> None:
    assert [n.note_id for n in merged(BASE, text(N1, N3), text(N1, N2, qa(3, "3", "d"))).notes] == [
        1,
        3,
    ]
    assert [n.note_id for n in merged(BASE, text(N1, N2, qa(3, "3", "d")), text(N1, N3)).notes] == [
        1,
        3,
    ]


def test_deleted_on_both_sides_is_deleted() -> None:
    assert [n.note_id for n in merged(BASE, text(N1, N3), text(N1, N3, qa(4, "4", "v"))).notes] == [
        1,
        3,
        4,
    ]


@pytest.mark.parametrize("deleting", ["ours", "theirs"])
def test_deleted_on_one_side_and_edited_on_the_other_is_a_conflict(deleting: str) -> None:
    edited = text(N1, qa(2, "two", "zwei, edited"), N3)
    deleted = text(N1, N3)
    ours, theirs = (deleted, edited) if deleting == "ours" else (edited, deleted)
    out = conflicted(BASE, ours, theirs)
    assert "zwei, edited" in out and "<!-- note_id: 2 -->" in out
    assert f"{deleting}: deleted this note" in out


def test_tag_change_against_deletion_is_a_conflict_too() -> None:
    out = conflicted(BASE, text(N1, N3), text(N1, qa(2, "two", "zwei", ["t"]), N3))
    assert "<!-- tags: t -->" in out


# --- ids coming back from Anki --------------------------------------------------------


def test_id_assigned_on_one_side_is_taken_when_fields_match() -> None:
    base = text(N1)
    ours = text(N1, qa(None, "new", "neu"))
    theirs = text(N1, qa(77, "new", "neu"))
    assert merged(base, ours, theirs).notes[1] == qa(77, "new", "neu")
    # and the other way round, with the new note already in the base
    assert merged(ours, theirs, ours).notes[1] == qa(77, "new", "neu")


def test_new_note_edited_again_keeps_edit_and_id() -> None:
    # base: the new notes as pushed; ours edits one again; theirs has the ids Anki assigned
    base = text(N1, qa(None, "new one", "neu"), qa(None, "new two", "neu 2"))
    ours = text(N1, qa(None, "new one", "neu, edited"), qa(None, "new two", "neu 2"))
    theirs = text(N1, qa(50, "new one", "neu"), qa(51, "new two", "neu 2"))
    assert fields(merged(base, ours, theirs)) == [
        (1, "one", "eins"),
        (50, "new one", "neu, edited"),
        (51, "new two", "neu 2"),
    ]


def test_new_note_edited_before_its_id_came_back_uses_the_pushed_version() -> None:
    # base without the note; ours has it edited, without id; theirs the original with its id
    base = text(N1)
    ours = text(N1, qa(None, "new", "neu, edited"), qa(None, "other new", "x"))
    theirs = text(N1, qa(60, "new", "neu"), qa(61, "other new", "x"))
    pushed = Elsewhere(earlier={"ours": [qa(None, "new", "neu"), qa(None, "other new", "x")]})
    deck = merged(base, ours, theirs, locate=lambda b, o, t: pushed)
    assert fields(deck) == [(1, "one", "eins"), (60, "new", "neu, edited"), (61, "other new", "x")]


def test_new_note_with_no_known_pushed_version_is_kept_beside_the_other() -> None:
    """Alike, but nothing shows the note in Anki came from this one (no base, no pushed
    version in history): two notes, both kept, and said. A conflict here showed two
    different notes as one, and taking either side lost the other."""
    base = text(N1)
    ours = text(N1, qa(None, "new", "neu, edited"))
    theirs = text(N1, qa(60, "new", "neu"))
    result = merge_texts(base, ours, theirs, "Deck.md")
    assert result.clean and result.deck is not None
    assert fields(result.deck) == [
        (1, "one", "eins"),
        (60, "new", "neu"),
        (None, "new", "neu, edited"),
    ]
    assert result.notices == [
        "Deck.md: note 60, new on one side, is much like a new note without an id on the "
        "other; both are kept (delete one if they are the same note)"
    ]


# --- moves between files (what the git driver learns from the trees) ------------------


def test_note_moved_out_is_dropped_when_its_new_file_is_merged_too() -> None:
    # ours moved note 2 to Other.md; theirs edited it here; Other.md goes through the driver
    ours = text(N1, N3)
    theirs = text(N1, qa(2, "two", "zwei!"), N3)
    world = Elsewhere(ours={2: Located("Other.md", N2)}, merged_by_driver=frozenset({"Other.md"}))
    deck = merged(BASE, ours, theirs, locate=lambda b, o, t: world)
    assert [n.note_id for n in deck.notes] == [1, 3]


def test_note_moved_in_gets_the_other_sides_edits_from_its_old_file() -> None:
    # this file is Deck.md, the destination: ours added note 2 (moved from Old.md),
    # theirs edited note 2 in Old.md and changed note 1 here
    base, ours, theirs = text(N1), text(N1, N2), text(qa(1, "one", "un"))
    world = Elsewhere(
        base={2: Located("Old.md", N2)},
        theirs={2: Located("Old.md", qa(2, "two", "deux", ["t"]))},
        merged_by_driver=frozenset({"Old.md"}),
    )
    deck = merged(base, ours, theirs, locate=lambda b, o, t: world)
    assert deck.notes == [qa(1, "one", "un"), qa(2, "two", "deux", ["t"])]


def test_move_whose_new_file_git_takes_unmerged_leaves_a_conflict_not_a_loss() -> None:
    # theirs moved note 2 to Other.md and git will take theirs' Other.md as it is;
    # ours edited note 2 here: the edit must not vanish
    ours = text(N1, qa(2, "two", "zwei, edited"), N3)
    theirs = text(N1, N3, qa(4, "four", "vier"))
    world = Elsewhere(theirs={2: Located("Other.md", N2)}, taken={"Other.md": "theirs"})
    out = conflicted(BASE, ours, theirs, locate=lambda b, o, t: world)
    assert "zwei, edited" in out and "theirs: moved this note to Other.md" in out
    assert "<!-- note_id: 4 -->" in out


def test_move_of_an_unedited_note_needs_no_merge_in_the_new_file() -> None:
    # theirs moved note 2 away and changed another note; ours did not touch note 2
    ours = text(qa(1, "one", "uno"), N2, N3)
    theirs = text(N1, N3)
    world = Elsewhere(theirs={2: Located("Other.md", N2)}, taken={"Other.md": "theirs"})
    assert [n.note_id for n in merged(BASE, ours, theirs, locate=lambda b, o, t: world).notes] == [
        1,
        3,
    ]


def test_moved_on_one_side_and_deleted_on_the_other_is_kept_where_it_moved() -> None:
    # Other.md's view: ours moved note 2 in; theirs deleted it from Deck.md
    base, ours, theirs = text(N1), text(N1, N2), text(qa(1, "one", "un"))
    world = Elsewhere(base={2: Located("Deck.md", N2)})
    deck = merge_decks(*(deckfile.parse(t) for t in (base, ours, theirs)), "Other.md", world)
    assert deck.deck is not None and [n.note_id for n in deck.deck.notes] == [1, 2]


def test_without_repository_knowledge_a_move_against_an_edit_conflicts() -> None:
    out = conflicted(BASE, text(N1, N3), text(N1, qa(2, "two", "zwei!"), N3))
    assert "zwei!" in out


# --- what cannot be merged note by note -----------------------------------------------


def test_unparseable_side_falls_back_to_a_line_merge_keeping_everything() -> None:
    broken = BASE.replace("Q: two", "X: two, broken")
    theirs = BASE.replace("zwei", "ZWEI").replace("drei", "DREI")
    result = merge_texts(BASE, broken, theirs, "Deck.md")
    assert not result.clean
    assert "X: two, broken" in result.text and "DREI" in result.text and "ZWEI" in result.text
    assert "merged line by line" in result.conflicts[0]


def test_unparseable_side_with_a_clean_line_merge_is_still_reported() -> None:
    broken = BASE.replace("Q: one", "X: one")
    theirs = BASE.replace("drei", "DREI")
    result = merge_texts(BASE, broken, theirs, "Deck.md")
    assert not result.clean and "X: one" in result.text and "DREI" in result.text


def test_line_merge_conflicts_carry_markers() -> None:
    ours = BASE.replace("Q: two", "Q two") + "\n<<<"
    theirs = BASE.replace("Q: two", "Q 2")
    result = merge_texts(BASE, ours, theirs, "Deck.md")
    assert "<<<<<<< ours\nQ two\n=======\nQ 2\n>>>>>>> theirs\n" in result.text


def test_duplicate_ids_fall_back_to_a_line_merge() -> None:
    ours = text(N1, N2, N3, qa(2, "two again", "x"))
    theirs = text(N1, qa(2, "two", "zwei!"), N3)
    result = merge_texts(BASE, ours, theirs, "Deck.md")
    assert "two again" in result.text and "zwei!" in result.text


def test_note_type_changed_differently_on_both_sides_conflicts() -> None:
    cloze = Note("Cloze", {"Text": "{{c1::one}}"}, 1)
    reversed_ = Note("Reversed", {"Front": "one", "Back": "eins"}, 1)
    out = conflicted(BASE, text(cloze, N2, N3), text(reversed_, N2, N3))
    assert "T: {{c1::one}}" in out and "F: one" in out and "B: eins" in out


def test_note_type_change_on_one_side_with_an_edit_on_the_other_conflicts() -> None:
    cloze = Note("Cloze", {"Text": "{{c1::one}} = eins"}, 1)
    out = conflicted(BASE, text(cloze, N2, N3), text(qa(1, "one", "EINS"), N2, N3))
    assert "{{c1::one}} = eins" in out and "EINS" in out


def test_field_emptied_on_both_sides_that_leaves_no_field_conflicts() -> None:
    base = text(Note("QA", {"Question": "q", "Answer": "a", "Extra": "e"}, 1))
    ours = text(Note("QA", {"Question": "q", "Extra": "e"}, 1))
    theirs = text(Note("QA", {"Question": "q", "Answer": "a"}, 1))
    deck = merged(base, ours, theirs)
    assert deck.notes[0].fields == {"Question": "q"}


def test_identical_or_one_sided_texts_are_returned_as_they_are() -> None:
    odd = BASE.replace("Q: one", "Q:   one  ")
    assert merge_texts(BASE, odd, BASE).text == odd
    assert merge_texts(BASE, BASE, odd).text == odd


# --- the driver surface and speed ------------------------------------------------------


def test_driver_writes_the_merge_over_ours_and_says_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from merge_driver.__main__ import run

    files = {"O": BASE, "A": text(qa(1, "ONE", "eins"), N2, N3), "B": text(N1, N2)}
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    code = run([str(tmp_path / n) for n in "OAB"] + ["Deck.md"])
    assert code == 0
    assert deckfile.parse((tmp_path / "A").read_text()).notes == [qa(1, "ONE", "eins"), N2]


def test_driver_exits_1_on_conflict_and_2_on_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from merge_driver.__main__ import run

    files = {
        "O": BASE,
        "A": text(qa(1, "x", "eins"), N2, N3),
        "B": text(qa(1, "y", "eins"), N2, N3),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    assert run([str(tmp_path / n) for n in "OAB"] + ["Deck.md"]) == 1
    assert "<<<<<<< ours\nQ: x\n=======\nQ: y\n>>>>>>> theirs" in (tmp_path / "A").read_text()
    assert "CONFLICT Deck.md: note 1: Question changed" in capsys.readouterr().err
    assert run(["only-one"]) == 2
    assert run([str(tmp_path / "missing"), str(tmp_path / "A"), str(tmp_path / "B")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_merging_1000_notes_with_50_edits_a_side_keeps_every_edit() -> None:
    import importlib.util

    from ankiops_git.merge.notes import same_content

    # bench/ is not a package of the project; load the benchmark's deck builder by path.
    # How fast this merge runs is measured by bench/merge_deck.py, not here.
    where = Path(__file__).parents[1] / "bench" / "merge_deck.py"
    spec = importlib.util.spec_from_file_location("merge_deck_bench", where)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    texts = bench.texts(1000)
    base, ours, theirs = (deckfile.parse(t) for t in texts)
    result = merge_texts(*texts, "Deck.md")
    assert result.clean, result.conflicts
    notes = deckfile.parse(result.text).notes
    by_id = {n.note_id: n for n in notes if n.note_id is not None}
    base_ids = {n.note_id: n for n in base.notes}
    expected_count = len(base.notes)
    for side in (ours, theirs):
        side_ids = {n.note_id for n in side.notes}
        for note in side.notes:
            if note.note_id in base_ids and note == base_ids[note.note_id]:
                continue  # untouched here; the other side's version is checked there
            if note.note_id is None:  # new, no id yet: there once, by content
                assert sum(same_content(note, n) for n in notes) == 1, note
            else:  # edited or new with an id: there, as this side wrote it
                assert by_id.get(note.note_id) == note, note.note_id
            expected_count += note.note_id not in base_ids
        gone = [i for i in base_ids if i not in side_ids]
        assert gone and not any(i in by_id for i in gone)  # deleted on one side: deleted
        expected_count -= len(gone)
    untouched = [n for n in base.notes if all(n in side.notes for side in (ours, theirs))]
    assert len(untouched) >= 850 and all(by_id[n.note_id] == n for n in untouched)
    assert len(notes) == expected_count


def test_similar_new_notes_in_different_places_are_different_notes() -> None:
    # ours wrote a new note at the end; Anki (theirs) created a similar one at the top
    base = text(N1, N2)
    ours = text(N1, N2, qa(None, "What is ser?", "to be"))
    theirs = text(qa(70, "What is estar?", "to be"), N1, N2)
    deck = merged(base, ours, theirs)
    assert fields(deck) == [
        (70, "What is estar?", "to be"),
        (1, "one", "eins"),
        (2, "two", "zwei"),
        (None, "What is ser?", "to be"),
    ]


def test_a_note_whose_id_line_was_dropped_keeps_its_id() -> None:
    # ours lost the id comment of note 2 (fields unchanged); theirs did not touch it
    ours = text(N1, qa(None, "two", "zwei"), N3)
    theirs = text(N1, N2, qa(3, "three", "trois"))
    assert [n.note_id for n in merged(BASE, ours, theirs).notes] == [1, 2, 3]


def test_a_merge_that_is_not_a_valid_note_is_a_conflict_with_both_whole_notes() -> None:
    # each side emptied a different field of a two-field note: nothing would be left
    base = text(qa(1, "q", "a"))
    ours = text(Note("QA", {"Question": "q"}, 1))
    theirs = text(Note("QA", {"Answer": "a"}, 1))
    result = merge_texts(base, ours, theirs, "Deck.md")
    assert "not a valid note" in result.conflicts[0]
    out = conflicted(base, ours, theirs)
    assert "<<<<<<< ours\nQ: q\n=======\nA: a\n>>>>>>> theirs" in out


def test_hand_written_files_merge_note_by_note() -> None:
    base = """<!-- deck_id: 1700000000000 -->

<!-- note_id: 1700000000001 -->
<!-- tags: spanish verbs::irregular -->
Q: What is *ser*?
A: To be (permanent).
E: Compare *estar*.

---

<!-- note_id: 1700000000002 -->
T: The capital of France is {{c1::Paris}}.
"""
    ours = """<!-- deck_id: 1700000000000 -->

<!-- note_id: 1700000000001 -->
<!-- tags: spanish verbs::irregular -->
Q: What is *ser*?
A: To be (permanent, essential).
E: Compare *estar*.

---

<!-- note_id: 1700000000002 -->
T: The capital of France is {{c1::Paris}}.

---

Q: What is *estar*?
A: To be (temporary).
"""
    theirs = """<!-- deck_id: 1700000000000 -->

<!-- note_id: 1700000000001 -->
<!-- tags: spanish verbs::irregular verbs::core -->
Q: What is *ser*?
A: To be (permanent).
E: Compare *estar* (see the note on it).

---

<!-- note_id: 1700000000002 -->
T: The capital of {{c2::France}} is {{c1::Paris}}.
"""
    result = merge_texts(base, ours, theirs, "Spanish.md")
    assert result.clean
    assert (
        result.text
        == """<!-- deck_id: 1700000000000 -->

<!-- note_id: 1700000000001 -->
<!-- tags: spanish verbs::irregular verbs::core -->
Q: What is *ser*?
A: To be (permanent, essential).
E: Compare *estar* (see the note on it).

---

<!-- note_id: 1700000000002 -->
T: The capital of {{c2::France}} is {{c1::Paris}}.

---

Q: What is *estar*?
A: To be (temporary).
"""
    )
