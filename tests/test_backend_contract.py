"""The backend contract: every test runs against both backends (see the `backend` fixture).

Each checks the backend's answer and Anki's own state (`anki_col`), so a backend that
reports success without writing, or writes more than asked, fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from anki.collection import Collection
from conftest import PROFILE, add_basic_note, replace_cloze_type_with_a_standard_one
from realanki import in_anki

from ankiops_git.anki.base import Backend, NewNote, NoteUpdate
from ankiops_git.anki.verify import anki_stored_text
from ankiops_git.errors import AnkiRejected, NotesRefused


def _qa(q: str, a: str, deck: str = "Spanish", tags: tuple[str, ...] = ()) -> NewNote:
    return NewNote("AnkiOpsQA", deck, {"Question": q, "Answer": a}, tags)


def _sample_notes() -> list[NewNote]:
    return [
        _qa("What is <i>ser</i>?", "To be", "Spanish::Verbs", ("spanish", "verbs::irregular")),
        NewNote("AnkiOpsReversed", "Spanish", {"Front": "perro", "Back": "dog"}),
        NewNote("AnkiOpsCloze", "Geo", {"Text": "Capital of France: {{c1::Paris}}"}),
        NewNote("AnkiOpsInput", "Geo", {"Question": "Capital of Spain?", "Input": "Madrid"}),
        NewNote(
            "AnkiOpsChoice",
            "Geo",
            {"Question": "Rivers?", "Choice 1": "Rhine", "Choice 2": "Alps", "Answer": "1"},
            ("quiz",),
        ),
    ]


def _rows(col: Collection, note_id: int) -> tuple[Any, Any]:
    return (
        col.db.all("select * from notes where id = ?", note_id),
        col.db.all("select * from cards where nid = ? order by id", note_id),
    )


def test_profile_is_the_collection_folder(backend: Backend) -> None:
    assert backend.profile() == PROFILE


def test_add_then_read_back(backend: Backend, anki_col: Collection) -> None:
    new = _sample_notes()
    ids = backend.add_notes(new)
    assert len(ids) == len(new) and len(set(ids)) == len(new)
    assert anki_col.note_count() == len(new)
    notes = {n.note_id: n for n in backend.read_notes()}
    assert set(notes) == set(ids)
    for note_id, sent in zip(ids, new, strict=True):
        got = notes[note_id]
        assert got.note_type == sent.note_type
        assert got.deck == sent.deck
        assert set(got.tags) == set(sent.tags)
        assert got.mod > 1_600_000_000
        # every field of the type is present; the ones not sent are empty
        model = anki_col.models.by_name(sent.note_type)
        assert model is not None
        assert list(got.fields) == [f["name"] for f in model["flds"]]
        for name, value in got.fields.items():
            assert value == sent.fields.get(name, "")
    # Reversed made two cards, both in its deck
    rev_cards = anki_col.db.list("select did from cards where nid = ?", ids[1])
    assert len(rev_cards) == 2
    assert {anki_col.decks.name(d) for d in rev_cards} == {"Spanish"}


def test_read_notes_subset_skips_unknown_ids(backend: Backend) -> None:
    ids = backend.add_notes(_sample_notes())
    got = backend.read_notes([ids[0], ids[3], 424242])
    assert sorted(n.note_id for n in got) == sorted([ids[0], ids[3]])
    assert backend.read_notes([]) == []


def test_add_is_all_or_nothing(backend: Backend, anki_col: Collection) -> None:
    bad = NewNote("AnkiOpsQA", "Spanish", {"Question": "q", "Nope": "x"})
    with pytest.raises(AnkiRejected, match="Nope"):
        backend.add_notes([_qa("one", "1"), bad, _qa("two", "2")])
    assert anki_col.note_count() == 0
    with pytest.raises(AnkiRejected, match="Basic"):
        backend.add_notes([_qa("one", "1"), NewNote("Basic", "X", {"Front": "f"})])
    assert anki_col.note_count() == 0


def test_cloze_markers_outside_a_cloze_field_are_kept_as_text(
    backend: Backend, anki_col: Collection
) -> None:
    """Anki's note check (and so AnkiConnect by default) refuses {{c1:: in a field that
    is not the cloze field; in ankiops-git it is text, as in the tutorial's E: line."""
    notes = [
        _qa("Write {{c1::x}}", "The marker {{c1::...}} hides text in Anki"),
        NewNote("AnkiOpsCloze", "Geo", {"Text": "{{c1::Paris}}", "Extra": "Use `{{c1::...}}`"}),
    ]
    ids = backend.add_notes(notes)
    got = {n.note_id: n for n in backend.read_notes(ids)}
    assert got[ids[0]].fields["Question"] == "Write {{c1::x}}"
    assert got[ids[1]].fields["Extra"] == "Use `{{c1::...}}`"
    assert anki_col.db.scalar(f"select count() from cards where nid in ({ids[0]}, {ids[1]})") == 2


def test_a_note_anki_refuses_does_not_stop_the_others(
    backend: Backend, anki_col: Collection
) -> None:
    with pytest.raises(NotesRefused) as err:
        backend.add_notes([_qa("one", "1"), _qa("", "no question"), _qa("two", "2", deck="B")])
    ids = err.value.ids
    assert ids[1] is None and ids[0] is not None and ids[2] is not None
    assert err.value.reasons == {1: "cannot create note because it is empty"}
    assert {n.note_id: n.deck for n in backend.read_notes()} == {ids[0]: "Spanish", ids[2]: "B"}
    assert anki_col.note_count() == 2


def test_update_fields_only_changes_given_fields(backend: Backend) -> None:
    (nid,) = backend.add_notes([_qa("Q1", "A1", tags=("keep",))])
    backend.update_notes([NoteUpdate(nid, fields={"Answer": "A2 <b>bold</b>", "Extra": "e"})])
    (note,) = backend.read_notes([nid])
    assert note.fields["Question"] == "Q1"
    assert note.fields["Answer"] == "A2 <b>bold</b>"
    assert note.fields["Extra"] == "e"
    assert note.tags == ("keep",)


def test_update_tags(backend: Backend) -> None:
    a, b = backend.add_notes([_qa("Q1", "A1", tags=("old",)), _qa("Q2", "A2", tags=("x",))])
    backend.update_notes([NoteUpdate(a, tags=("new", "lang::es")), NoteUpdate(b, tags=())])
    notes = {n.note_id: n for n in backend.read_notes([a, b])}
    assert set(notes[a].tags) == {"new", "lang::es"}
    assert notes[b].tags == ()
    assert notes[a].fields["Question"] == "Q1"


def test_update_rejects_unknown_and_unmanaged_notes(backend: Backend, anki_col: Collection) -> None:
    (nid,) = backend.add_notes([_qa("Q1", "A1")])
    basic = add_basic_note(anki_col, "Other", "front", "back")
    before = _rows(anki_col, basic)
    with pytest.raises(AnkiRejected, match=str(basic)):
        backend.update_notes([NoteUpdate(nid, fields={"Answer": "x"}), NoteUpdate(basic, tags=())])
    with pytest.raises(AnkiRejected, match="999"):
        backend.update_notes([NoteUpdate(999, fields={"Answer": "x"})])
    assert _rows(anki_col, basic) == before
    assert backend.read_notes([nid])[0].fields["Answer"] == "A1"  # nothing written


def test_move_keeps_cards_and_history(backend: Backend, anki_col: Collection) -> None:
    ids = backend.add_notes(_sample_notes())
    rev = ids[1]
    cards_before = anki_col.db.all("select id, ord from cards where nid = ? order by id", rev)
    # give the cards some scheduling state that a delete + re-add would lose
    anki_col.db.execute(
        "update cards set ivl = 17, reps = 4, type = 2, queue = 2 where nid = ?", rev
    )
    backend.move_notes([rev, ids[0]], "Archive::Old")
    assert "Archive::Old" in backend.decks()
    moved = anki_col.db.all(
        "select id, ord, ivl, reps, did from cards where nid = ? order by id", rev
    )
    assert [(r[0], r[1]) for r in moved] == [tuple(r) for r in cards_before]
    assert all(r[2] == 17 and r[3] == 4 for r in moved)
    assert {anki_col.decks.name(r[4]) for r in moved} == {"Archive::Old"}
    notes = {n.note_id: n for n in backend.read_notes()}
    assert notes[rev].deck == "Archive::Old" and notes[ids[0]].deck == "Archive::Old"
    assert notes[ids[2]].deck == "Geo"


def filter_into_a_filtered_deck(anki_col: Collection, search: str) -> int:
    """A filtered deck that borrows the cards `search` finds; its id."""
    filtered = anki_col.decks.new_filtered("Filtered Deck 1")
    deck = anki_col.decks.get(filtered)
    assert deck is not None
    deck["terms"][0][0] = search
    anki_col.decks.save(deck)
    anki_col.sched.rebuild_filtered_deck(filtered)
    return int(filtered)


def test_note_in_a_filtered_deck_reads_in_its_home_deck(
    backend: Backend, anki_col: Collection
) -> None:
    ids = backend.add_notes([_qa("q1", "a", deck="Home"), _qa("q2", "a", deck="Other")])
    filtered = filter_into_a_filtered_deck(anki_col, "deck:Home")
    assert anki_col.db.scalar("select did from cards where nid = ?", ids[0]) == filtered
    notes = {n.note_id: n.deck for n in backend.read_notes()}
    assert notes == {ids[0]: "Home", ids[1]: "Other"}
    assert backend.note_decks() == notes


def test_note_decks_agree_with_read_notes_after_moves(
    backend: Backend, anki_col: Collection
) -> None:
    ids = backend.add_notes(_sample_notes())  # decks Spanish::Verbs (a subdeck), Spanish, Geo
    assert backend.note_decks() == {n.note_id: n.deck for n in backend.read_notes()}
    assert backend.note_decks()[ids[0]] == "Spanish::Verbs"  # not its parent deck
    rev = ids[1]
    second = anki_col.db.scalar("select id from cards where nid = ? and ord = 1", rev)
    # a Reversed note's second card moved alone: its deck is still the first card's
    anki_col.set_deck([second], anki_col.decks.id("Geo"))
    backend.move_notes([ids[2]], "Spanish")
    decks = backend.note_decks()
    assert decks == {n.note_id: n.deck for n in backend.read_notes()}
    assert decks[rev] == "Spanish" and decks[ids[2]] == "Spanish"


def test_delete(backend: Backend, anki_col: Collection) -> None:
    ids = backend.add_notes(_sample_notes())
    backend.delete_notes([ids[0], ids[1]])
    assert sorted(n.note_id for n in backend.read_notes()) == sorted(ids[2:])
    assert anki_col.db.scalar(f"select count() from cards where nid in ({ids[0]}, {ids[1]})") == 0


def test_media_store_and_read(backend: Backend) -> None:
    data = bytes(range(256)) * 10
    name = backend.store_media("diagram one.png", data)
    assert name == "diagram one.png"
    assert backend.read_media(name) == data
    assert backend.read_media("missing.png") is None
    # the same name with new content replaces the file, under the same name
    assert backend.store_media("diagram one.png", b"new") == "diagram one.png"
    assert backend.read_media("diagram one.png") == b"new"
    with pytest.raises(AnkiRejected, match="plain file name"):
        backend.store_media("../escape.png", b"x")


def test_decks_create_and_rename_keep_cards_and_subdecks(
    backend: Backend, anki_col: Collection
) -> None:
    deck_id = backend.create_deck("Lang::Spanish")
    assert backend.create_deck("Lang::Spanish") == deck_id  # idempotent
    child = backend.create_deck("Lang::Spanish::Verbs")
    decks = backend.decks()
    assert decks["Lang::Spanish"] == deck_id and decks["Lang"] > 0
    own, sub = backend.add_notes(
        [_qa("Q", "A", deck="Lang::Spanish"), _qa("Q2", "A2", deck="Lang::Spanish::Verbs")]
    )
    conf_before = anki_col.decks.get(deck_id)["conf"]  # type: ignore[index]
    card_ids = anki_col.db.list("select id from cards where nid = ?", own)
    new_id = backend.rename_deck(deck_id, "Lang::Español")
    decks = backend.decks()
    assert decks["Lang::Español"] == new_id
    # the subdeck has a file of its own: it keeps its name (and id)
    assert decks["Lang::Spanish::Verbs"] == child and "Lang::Español::Verbs" not in decks
    if backend.renames_in_place:
        assert new_id == deck_id
    else:
        assert "Lang::Spanish" in decks  # kept: the parent of the subdeck
    assert anki_col.decks.get(new_id)["conf"] == conf_before  # type: ignore[index]
    assert {n.note_id: n.deck for n in backend.read_notes()} == {
        own: "Lang::Español",
        sub: "Lang::Spanish::Verbs",
    }
    # the same cards (review history is per card id)
    assert anki_col.db.list("select id from cards where nid = ?", own) == card_ids
    assert backend.rename_deck(new_id, "Lang::Español") == new_id  # again: nothing to do


def test_rename_keeps_non_default_options(backend: Backend, anki_col: Collection) -> None:
    deck_id = backend.create_deck("Exam")
    conf = anki_col.decks.add_config_returning_id("Cram")
    deck = anki_col.decks.get(deck_id)
    assert deck is not None
    deck["conf"] = conf
    anki_col.decks.save(deck)
    backend.add_notes([_qa("Q", "A", deck="Exam")])
    new_id = backend.rename_deck(deck_id, "Exam 2026")
    assert anki_col.decks.get(new_id)["conf"] == conf  # type: ignore[index]
    assert "Exam" not in backend.decks()  # emptied, no subdecks: gone


@in_anki
def _set_description(col: Collection, deck_id: int, text: str) -> None:
    deck = col.decks.get(deck_id)
    deck["desc"] = text  # type: ignore[index]
    col.decks.save(deck)  # type: ignore[arg-type]


def test_rename_keeps_the_description_where_anki_can_rename(
    backend: Backend, anki_col: Collection
) -> None:
    deck_id = backend.create_deck("Exam")
    _set_description(anki_col, deck_id, "Read chapter 3 first")
    backend.add_notes([_qa("Q", "A", deck="Exam")])
    new_id = backend.rename_deck(deck_id, "Exam 2026")
    kept = anki_col.decks.get(new_id)["desc"]  # type: ignore[index]
    # AnkiConnect cannot rename (nor read a description): push asks first, see
    # push.recreate_warning
    assert kept == ("Read chapter 3 first" if backend.renames_in_place else "")


def test_rename_into_own_subtree_keeps_every_card(backend: Backend) -> None:
    deck_id = backend.create_deck("A")
    ids = backend.add_notes([_qa("top", "1", deck="A"), _qa("sub", "2", deck="A::X")])
    new_id = backend.rename_deck(deck_id, "A::Old")
    decks = backend.decks()
    assert decks["A::Old"] == new_id and "A::X" in decks
    notes = {n.note_id: n.deck for n in backend.read_notes()}
    assert notes == {ids[0]: "A::Old", ids[1]: "A::X"}


def test_an_interrupted_rename_is_finished_by_running_it_again(
    backend: Backend, anki_col: Collection
) -> None:
    deck_id = backend.create_deck("Old")
    ids = backend.add_notes([_qa("one", "1", deck="Old"), _qa("two", "2", deck="Old")])
    # Interrupted: the new deck made, one note's cards moved to it, the old deck left.
    backend.create_deck("New")
    backend.move_notes([ids[0]], "New")
    assert backend.deck_holds_only(backend.decks()["New"], ids)
    new_id = backend.rename_deck(deck_id, "New")
    decks = backend.decks()
    assert decks["New"] == new_id and "Old" not in decks
    assert {n.note_id: n.deck for n in backend.read_notes()} == {ids[0]: "New", ids[1]: "New"}
    assert backend.rename_deck(new_id, "New") == new_id


def test_deck_holds_only(backend: Backend, anki_col: Collection) -> None:
    a, b = backend.add_notes([_qa("one", "1", deck="D"), _qa("two", "2", deck="D")])
    d = backend.decks()["D"]
    assert backend.deck_holds_only(d, [a, b, 99])
    assert not backend.deck_holds_only(d, [a])
    assert backend.deck_holds_only(backend.create_deck("Empty"), [])
    add_basic_note(anki_col, "D", "f", "b")
    assert not backend.deck_holds_only(d, [a, b])  # unmanaged notes count too


def test_mod_times_match_read_notes(backend: Backend, anki_col: Collection) -> None:
    ids = backend.add_notes(_sample_notes())
    add_basic_note(anki_col, "Other", "f", "b")
    anki_col.db.execute(f"update notes set mod = 1700000000 where id = {ids[2]}")
    times = backend.mod_times()
    assert times == {n.note_id: n.mod for n in backend.read_notes()}
    assert set(times) == set(ids)
    assert times[ids[2]] == 1700000000


def test_reads_of_some_notes_match_the_reads_of_all(backend: Backend, anki_col: Collection) -> None:
    """mod_times/note_decks for given ids: the same answers, for those ids only; ids that
    are missing or other note types' are left out of mod_times."""
    ids = backend.add_notes(_sample_notes())
    basic = add_basic_note(anki_col, "Geo", "f", "b")
    backend.delete_notes([ids[4]])
    anki_col.db.execute(f"update notes set mod = 1700000000 where id = {ids[2]}")
    every_mod, every_deck = backend.mod_times(), backend.note_decks()
    some = [ids[0], ids[2], ids[4], basic, 12345]
    assert backend.mod_times(some) == {i: every_mod[i] for i in (ids[0], ids[2])}
    assert backend.mod_times([]) == {} and backend.note_decks([]) == {}
    managed = [ids[0], ids[2], ids[3]]
    assert backend.note_decks(managed) == {i: every_deck[i] for i in managed}
    assert backend.note_decks(every_mod) == every_deck


def test_deck_note_ids_are_the_notes_of_exactly_those_decks(
    backend: Backend, anki_col: Collection
) -> None:
    ids = backend.add_notes(_sample_notes())  # Spanish::Verbs, Spanish, Geo x3
    add_basic_note(anki_col, "Geo", "f", "b")
    decks = backend.decks()
    assert backend.deck_note_ids([decks["Geo"]]) == set(ids[2:])
    assert backend.deck_note_ids([decks["Spanish"]]) == {ids[1]}  # not its subdeck's
    assert backend.deck_note_ids([decks["Spanish"], decks["Spanish::Verbs"]]) == set(ids[:2])
    assert backend.deck_note_ids([]) == set()
    # a card in a filtered deck counts in its home deck too
    filter_into_a_filtered_deck(anki_col, "deck:Geo")
    assert backend.deck_note_ids([decks["Geo"]]) == set(ids[2:])
    every = backend.note_decks()
    for name, deck_id in decks.items():
        homed = {i for i, d in every.items() if d == name}
        assert homed <= backend.deck_note_ids([deck_id])


def test_ensure_note_types_is_idempotent(backend: Backend, anki_col: Collection) -> None:
    before = {m.name: m.id for m in anki_col.models.all_names_and_ids()}
    backend.ensure_note_types()
    backend.ensure_note_types()
    assert {m.name: m.id for m in anki_col.models.all_names_and_ids()} == before
    for name in ("AnkiOpsQA", "AnkiOpsReversed", "AnkiOpsCloze", "AnkiOpsInput", "AnkiOpsChoice"):
        assert name in before


@in_anki
def _rename_last_qa_field(col: Collection, name: str) -> None:
    model = col.models.by_name("AnkiOpsQA")
    assert model is not None
    col.models.rename_field(model, model["flds"][3], name)
    col.models.update_dict(model)


def test_ensure_note_types_reports_field_mismatch(backend: Backend, anki_col: Collection) -> None:
    _rename_last_qa_field(anki_col, "Notes")
    with pytest.raises(AnkiRejected) as err:
        backend.ensure_note_types()
    message = str(err.value)
    assert "AnkiOpsQA" in message and "'More'" in message and "'Notes'" in message
    fields = [f["name"] for f in anki_col.models.by_name("AnkiOpsQA")["flds"]]  # type: ignore[index]
    assert fields == ["Question", "Answer", "Extra", "Notes"]  # nothing added or removed


@in_anki
def _add_fields(col: Collection, note_type: str, names: list[str]) -> None:
    model = col.models.by_name(note_type)
    assert model is not None
    for name in names:
        col.models.add_field(model, col.models.new_field(name))
    col.models.update_dict(model)


def test_extra_fields_as_ankiops_has_them_are_kept_untouched(
    backend: Backend, anki_col: Collection
) -> None:
    """AnkiOps' note types carry `AnkiOps Key` and `AI Notes`: used as they are, the
    extra fields never read, written or removed."""
    _add_fields(anki_col, "AnkiOpsQA", ["AnkiOps Key", "AI Notes"])
    backend.ensure_note_types()
    [note_id] = backend.add_notes([NewNote("AnkiOpsQA", "Geo", {"Question": "q", "Answer": "a"})])
    _set_fields(anki_col, note_id, {"AnkiOps Key": "k1", "AI Notes": "kept"})
    backend.update_notes([NoteUpdate(note_id, fields={"Answer": "changed"})])
    [read] = backend.read_notes([note_id])
    assert read.fields["Answer"] == "changed"
    assert _field_values(anki_col, note_id) == ["q", "changed", "", "", "k1", "kept"]
    fields = [f["name"] for f in anki_col.models.by_name("AnkiOpsQA")["flds"]]  # type: ignore[index]
    assert fields == ["Question", "Answer", "Extra", "More", "AnkiOps Key", "AI Notes"]


@in_anki
def _set_fields(col: Collection, note_id: int, values: dict[str, str]) -> None:
    note = col.get_note(note_id)  # type: ignore[arg-type]
    for name, value in values.items():
        note[name] = value
    col.update_note(note)


@in_anki
def _field_values(col: Collection, note_id: int) -> list[str]:
    return list(col.get_note(note_id).fields)  # type: ignore[arg-type]


def test_ensure_note_types_reports_wrong_kind_and_creates_nothing(
    backend: Backend, anki_col: Collection
) -> None:
    replace_cloze_type_with_a_standard_one(anki_col)
    with pytest.raises(AnkiRejected) as err:
        backend.ensure_note_types()
    assert "'AnkiOpsCloze' in Anki is not a cloze note type" in str(err.value)
    assert anki_col.models.by_name("AnkiOpsChoice") is None  # checked before creating any


def test_unmanaged_notes_and_decks_stay_byte_identical(
    backend: Backend, anki_col: Collection
) -> None:
    basic = add_basic_note(anki_col, "Other", "front <b>x</b>", "back")
    other_deck = anki_col.db.all("select * from decks where name = 'Other'")
    before = _rows(anki_col, basic)

    ids = backend.add_notes(_sample_notes())
    backend.update_notes([NoteUpdate(ids[0], fields={"Answer": "changed"}, tags=("t",))])
    backend.move_notes([ids[1]], "Moved")
    backend.rename_deck(backend.decks()["Geo"], "Geography")
    backend.delete_notes([ids[2]])
    backend.ensure_note_types()
    for call in (
        lambda: backend.move_notes([basic], "Moved"),
        lambda: backend.delete_notes([basic]),
        lambda: backend.update_notes([NoteUpdate(basic, fields={"Front": "x"})]),
    ):
        with pytest.raises(AnkiRejected, match="not notes of a managed note type"):
            call()

    assert basic not in {n.note_id for n in backend.read_notes()}
    assert basic not in backend.mod_times()
    assert _rows(anki_col, basic) == before
    assert anki_col.db.all("select * from decks where name = 'Other'") == other_deck


def test_update_verification_allows_for_how_anki_stores_text(backend: Backend) -> None:
    (nid,) = backend.add_notes([_qa("Q", "A")])
    value = "line one\r\nline two\x00 and cafe\u0301"  # CRLF, NUL, decomposed é
    backend.update_notes([NoteUpdate(nid, fields={"Answer": value})])  # no AnkiRejected
    assert backend.read_notes([nid])[0].fields["Answer"] == anki_stored_text(value)
    assert anki_stored_text(value) == "line one\nline two and café"


def test_a_rename_that_changes_only_the_case(backend: Backend) -> None:
    """Anki counts "Empty" and "empty" as one deck: AnkiConnect cannot rename between
    them (it used to delete the deck); the collection file can."""
    deck_id = backend.create_deck("Empty")
    (nid,) = backend.add_notes([_qa("Q", "A", deck="Full")])
    full = backend.decks()["Full"]
    for old_id, new_name in ((deck_id, "empty"), (full, "full")):
        if backend.renames_in_place:
            assert backend.rename_deck(old_id, new_name) == old_id
        else:
            with pytest.raises(AnkiRejected, match="differ only in case"):
                backend.rename_deck(old_id, new_name)
    decks = backend.decks()
    assert {decks.get("Empty"), decks.get("empty")} - {None} == {deck_id}  # still there
    assert backend.read_notes([nid])[0].deck in ("Full", "full")
