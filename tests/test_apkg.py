"""export-apkg / import-apkg: packages built from the files alone with Anki's own
exporter, read with Anki's own importer; round trips, updates in place, stock note
types, a real shared deck, and refused archives."""

from __future__ import annotations

import os
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import test_sync_e2e
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from click.testing import CliRunner
from gitrepo import BIN as VENV_BIN
from realanki import in_anki
from test_share import PNG_A, generated_repo, make_repo, tree

from ankiops_git import apkg, archive, deckfile
from ankiops_git.cli import cli
from ankiops_git.config import load as load_config
from ankiops_git.convert import canonical_html
from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Deck, Note

CORPUS = Path(__file__).parent / "corpus"


def import_into(col_dir: Path, package: Path) -> Collection:
    """A collection (new in col_dir, or the one there) with the package imported."""
    col_dir.mkdir(parents=True, exist_ok=True)
    col = Collection(str(col_dir / "collection.anki2"))
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions())
    )
    return col


def content(root: Path) -> dict[str, list[tuple[str, dict[str, str], list[str]]]]:
    """Each deck file's notes as (type, fields, sorted tags): what a round trip keeps
    (ids belong to a profile; Anki keeps tags sorted)."""
    return {
        p.name: [
            (n.note_type, n.fields, sorted(n.tags))
            for n in deckfile.parse(
                p.read_text(encoding="utf-8"), p.name, load_config(root).note_types
            ).notes
        ]
        for p in deckfile.deck_files(root)
    }


def test_guids_are_stable_and_follow_the_note_id() -> None:
    note = Note("QA", {"Question": "q", "Answer": "a"}, 42)
    moved = Note("QA", {"Question": "edited", "Answer": "a"}, 42)
    assert apkg.note_guid("A", note) == apkg.note_guid("B", moved)  # the id alone
    assert apkg.note_guid("A", note) != apkg.note_guid("A", Note("QA", note.fields, 43))
    new = Note("QA", {"Question": "q", "Answer": "a"})
    assert apkg.note_guid("A", new) == apkg.note_guid("A", Note("QA", {"Question": "q"}))
    assert apkg.note_guid("A", new) != apkg.note_guid("A", new, occurrence=1)
    assert apkg.note_guid("A", new) != apkg.note_guid("B", new)


def test_package_imports_into_a_fresh_collection_and_cards_render(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    out = tmp_path / "deck.apkg"
    done = apkg.export_apkg(src, out)
    assert (done.decks, done.notes, done.media, done.missing) == (3, 11, 1, [])
    col = import_into(tmp_path / "fresh", out)
    try:
        assert col.note_count() == 11
        assert {"AnkiOpsQA", "AnkiOpsCloze", "AnkiOpsChoice"} <= {
            m.name for m in col.models.all_names_and_ids()
        }
        assert (Path(col.media.dir()) / "ser.png").read_bytes() == PNG_A
        card = col.get_card(col.find_cards('"deck:Spanish" -"deck:Spanish::*" ser')[0])
        assert '<img src="ser.png">' in card.question() and "to be" in card.answer()
        assert ".ankiops-extra" in card.question()  # our CSS came along
        cloze = col.get_card(col.find_cards("deck:Spanish::Verbs")[0])
        assert '<span class="cloze"' in cloze.question() and "yo" in cloze.answer()
        guids = {col.get_note(n).guid for n in col.find_notes("")}
        assert apkg.note_guid("Spanish", Note("QA", {}, 1001)) in guids
    finally:
        col.close()
    # The same repository gives the same GUIDs again.
    apkg.export_apkg(src, tmp_path / "again.apkg")
    col2 = import_into(tmp_path / "fresh2", tmp_path / "again.apkg")
    try:
        assert {col2.get_note(n).guid for n in col2.find_notes("")} == guids
    finally:
        col2.close()


def test_repository_to_package_to_repository_is_lossless(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    out = tmp_path / "deck.apkg"
    apkg.export_apkg(src, out)
    done = apkg.import_apkg(out, tmp_path / "b")
    assert done.skipped == {} and done.refused == [] and done.notes == 11
    assert content(tmp_path / "b") == content(src)
    assert (tmp_path / "b" / "media" / "ser.png").read_bytes() == PNG_A
    text = (tmp_path / "b" / "Spanish.md").read_text(encoding="utf-8")
    assert "note_id" not in text and "deck_id" not in text  # the package maker's ids


def test_a_package_media_file_clashing_with_another_file_is_renamed_and_so_are_references(
    tmp_path: Path,
) -> None:
    """media/ser.png is already a different picture where the package is imported: the
    package's file is written under a new name and the notes show that name; the
    picture that was there is untouched. The same bytes under the same name are one."""
    src = make_repo(tmp_path / "a")
    out = tmp_path / "deck.apkg"
    apkg.export_apkg(src, out)
    mine = b"my own picture"
    (tmp_path / "b" / "media").mkdir(parents=True)
    (tmp_path / "b" / "media" / "ser.png").write_bytes(mine)
    result = CliRunner().invoke(cli, ["import-apkg", str(out), "--directory", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    (new,) = [p.name for p in (tmp_path / "b" / "media").iterdir() if p.name != "ser.png"]
    assert new.startswith("ser-") and new.endswith(".png")
    assert f"import-apkg: media/ser.png is another file here: written as media/{new}" in (
        result.output
    )
    assert (tmp_path / "b" / "media" / "ser.png").read_bytes() == mine
    assert (tmp_path / "b" / "media" / new).read_bytes() == PNG_A
    text = (tmp_path / "b" / "Spanish.md").read_text(encoding="utf-8")
    assert f"media/{new}" in text and "media/ser.png" not in text
    # importing the same package again elsewhere with the picture as the package has it
    (tmp_path / "c" / "media").mkdir(parents=True)
    (tmp_path / "c" / "media" / "ser.png").write_bytes(PNG_A)
    done = apkg.import_apkg(out, tmp_path / "c")
    assert (done.media, done.media_same, done.renamed) == (0, 1, {})
    assert "media/ser.png" in (tmp_path / "c" / "Spanish.md").read_text(encoding="utf-8")


def test_an_updated_package_updates_notes_in_place(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    apkg.export_apkg(src, tmp_path / "v1.apkg")
    col = import_into(tmp_path / "fresh", tmp_path / "v1.apkg")
    try:
        before = col.note_count()
        deck = src / "Spanish.md"
        deck.write_text(deck.read_text(encoding="utf-8").replace("to be", "to exist"), "utf-8")
        time.sleep(1.05)  # Anki updates a note only from a newer one (seconds)
        apkg.export_apkg(src, tmp_path / "v2.apkg")
        log = col.import_anki_package(
            ImportAnkiPackageRequest(
                package_path=str(tmp_path / "v2.apkg"), options=ImportAnkiPackageOptions()
            )
        ).log
        assert (len(log.new), len(log.conflicting)) == (0, 0)
        assert col.note_count() == before
        assert len(col.find_notes("exist")) == 1 and not col.find_notes('"to be"')
        assert len(col.models.all_names_and_ids()) == 11  # no AnkiOpsQA+ copies
    finally:
        col.close()


def test_generated_thousand_notes_round_trip_through_a_fresh_collection(tmp_path: Path) -> None:
    src = generated_repo(tmp_path / "a")
    out = tmp_path / "gen.apkg"
    told: list[tuple[int, int]] = []
    done = apkg.export_apkg(src, out, progress=lambda n, total: told.append((n, total)))
    assert (done.notes, done.media) == (1000, 100)
    # the progress bar is told as notes go in, up to all of them
    assert len(told) >= 5 and told[-1] == (1000, 1000)
    assert [n for n, _ in told] == sorted(n for n, _ in told)
    col = import_into(tmp_path / "fresh", out)
    try:
        assert col.note_count() == 1000 and col.card_count() == 1000 + 200  # Reversed: 2
        assert len(list((Path(col.media.dir())).iterdir())) == 100
    finally:
        col.close()
    read: list[tuple[int, int]] = []
    apkg.import_apkg(out, tmp_path / "b", progress=lambda n, total: read.append((n, total)))
    assert read and read[-1][0] == read[-1][1] > 0
    assert content(tmp_path / "b") == content(src)
    assert {k: v for k, v in tree(tmp_path / "b").items() if k.startswith("media/")} == {
        k: v for k, v in tree(src).items() if k.startswith("media/")
    }


def stock_package(tmp_path: Path) -> Path:
    """A package Anki makes of notes of its stock types and of one custom type."""
    from anki.collection import ExportAnkiPackageOptions

    (tmp_path / "stock").mkdir()
    col = Collection(str(tmp_path / "stock" / "collection.anki2"))
    try:
        deck = col.decks.id("Shared::Deck")
        assert deck is not None
        for name, fields in [
            ("Basic", ["What is <b>2+2</b>?", "4"]),
            ("Basic (and reversed card)", ["perro", "dog"]),
            ("Basic (type in the answer)", ["Capital of France?", "Paris"]),
            ("Cloze", ["{{c1::Madrid}} is in Spain", "capital"]),
        ]:
            model = col.models.by_name(name)
            assert model is not None
            note = col.new_note(model)
            for i, value in enumerate(fields):
                note.fields[i] = value
            note.tags = ["shared"]
            col.add_note(note, deck)
        custom = col.models.copy(col.models.by_name("Basic"))  # type: ignore[arg-type]
        custom["name"] = "Vocab"
        col.models.update_dict(custom)
        vocab = col.new_note(col.models.by_name("Vocab"))  # type: ignore[arg-type]
        vocab.fields[0] = "gato"
        col.add_note(vocab, deck)
        out = tmp_path / "stock.apkg"
        col.export_anki_package(
            out_path=str(out),
            options=ExportAnkiPackageOptions(with_media=True),
            limit=None,
        )
    finally:
        col.close()
    return out


def test_stock_note_types_map_to_ours_and_others_are_declared(tmp_path: Path) -> None:
    """Basic, Basic (and reversed card), Basic (type in the answer) and Cloze become QA,
    Reversed, Input and Cloze; "Vocab" (a type of the package's own) is declared in
    ankiops.toml with its cards and CSS as files, and its note is a deck file note."""
    package = stock_package(tmp_path)
    result = CliRunner().invoke(
        cli, ["import-apkg", str(package), "--directory", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    assert "note type 'Vocab' declared in ankiops.toml" in result.output
    types = load_config(tmp_path / "b").note_types
    vocab = types.by_anki_name["Vocab"]
    assert vocab.origin == "declared" and vocab.field_names == ("Front", "Back")
    assert (tmp_path / "b" / vocab.templates_dir / "Card 1.front.html").read_text() == "{{Front}}"
    text = (tmp_path / "b" / "Shared__Deck.md").read_text(encoding="utf-8")
    notes = deckfile.parse(text, types=types).notes
    assert [(n.note_type, n.fields, n.tags) for n in notes] == [
        ("QA", {"Question": "What is **2+2**?", "Answer": "4"}, ["shared"]),
        ("Reversed", {"Front": "perro", "Back": "dog"}, ["shared"]),
        ("Input", {"Question": "Capital of France?", "Input": "Paris"}, ["shared"]),
        ("Cloze", {"Text": "{{c1::Madrid}} is in Spain", "Extra": "capital"}, ["shared"]),
        (vocab.key, {"Front": "gato"}, []),
    ]
    # ... and through a fresh collection and back, no field changes, the declaration
    # comes along (the package has the type as the files declare it).
    apkg.export_apkg(tmp_path / "b", tmp_path / "again.apkg")
    col = import_into(tmp_path / "fresh", tmp_path / "again.apkg")
    try:
        model = col.models.by_name("Vocab")
        assert model is not None and model["tmpls"][0]["qfmt"] == "{{Front}}"
        assert col.note_count() == 5
    finally:
        col.close()
    apkg.import_apkg(tmp_path / "again.apkg", tmp_path / "c")
    assert content(tmp_path / "c") == content(tmp_path / "b")


def test_a_stock_name_with_other_fields_is_skipped_with_why(tmp_path: Path) -> None:
    from anki.collection import ExportAnkiPackageOptions

    col = Collection(str(tmp_path / "odd" / "collection.anki2").replace("/odd/", "/odd-"))
    try:
        model = col.models.by_name("Basic")
        assert model is not None
        col.models.add_field(model, col.models.new_field("Notes"))
        col.models.update_dict(model)
        note = col.new_note(col.models.by_name("Basic"))  # type: ignore[arg-type]
        note.fields[0] = "odd"
        col.add_note(note, col.decks.id("Odd", create=True))  # type: ignore[arg-type]
        col.export_anki_package(
            out_path=str(tmp_path / "odd.apkg"), options=ExportAnkiPackageOptions(), limit=None
        )
    finally:
        col.close()
    done = apkg.import_apkg(tmp_path / "odd.apkg", tmp_path / "b")
    assert done.skipped == {
        "Basic": (
            1,
            "Anki's stock type with other fields (Front, Back, Notes): mapping it would not "
            "fit your Anki's 'Basic'",
        )
    }
    assert done.notes == 0 and not (tmp_path / "b" / "ankiops.toml").exists()


def real_fields(package: Path, tmp: Path) -> Counter[tuple[str, tuple[str, ...]]]:
    """(note type, fields in canonical form) of each note of `package`, imported by
    Anki alone: a field compares equal when html_equal says so."""
    col = import_into(tmp, package)
    try:
        notes = [col.get_note(n) for n in col.find_notes("")]
        return Counter(
            (n.note_type()["name"], tuple(canonical_html(f) for f in n.fields))  # type: ignore[index]
            for n in notes
        )
    finally:
        col.close()


# Real shared decks (tests/corpus/README.md): package, notes, their own note types
REAL_DECKS = {
    "markdown2anki.apkg": (3, {"Markdown2Anki - Basic", "Markdown2Anki - Cloze"}),
    "french-words.apkg": (1639, {"My Cloze"}),
}


@pytest.mark.parametrize("package", list(REAL_DECKS))
def test_a_real_shared_deck_with_its_own_note_types_imports_and_round_trips(
    tmp_path: Path, package: str
) -> None:
    """A real deck as its author exported it, with note types of its own: it becomes
    deck files with the types declared, and a package of those files, imported into
    a fresh collection, has every note with the same fields as Anki shows for the
    original (html_equal), none lost, none added."""
    notes, own_types = REAL_DECKS[package]
    result = CliRunner().invoke(
        cli, ["import-apkg", str(CORPUS / package), "--directory", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    assert f"{notes} note(s)" in result.output and "skipped" not in result.output
    types = load_config(tmp_path / "b").note_types
    assert {t.anki_name for t in types.declared} == own_types
    apkg.export_apkg(tmp_path / "b", tmp_path / "again.apkg")
    before = real_fields(CORPUS / package, tmp_path / "original")
    after = real_fields(tmp_path / "again.apkg", tmp_path / "again")
    assert sum(before.values()) == notes
    assert after == before


def test_unsafe_and_malformed_packages_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    slip = tmp_path / "slip.apkg"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("collection.anki2", b"x")
        zf.writestr("../../evil", b"x")
    with pytest.raises(archive.ArchiveError, match="`..` step"):
        apkg.import_apkg(slip, target)
    (tmp_path / "junk.apkg").write_bytes(b"not a zip at all")
    with pytest.raises(archive.ArchiveError, match="not a readable Anki package"):
        apkg.import_apkg(tmp_path / "junk.apkg", target)
    other = tmp_path / "other.apkg"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", b"x")
    with pytest.raises(apkg.PackageError, match="not an Anki package"):
        apkg.import_apkg(other, target)
    fake = tmp_path / "fake.apkg"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("collection.anki2", b"not sqlite")
        zf.writestr("media", b"{}")
    with pytest.raises(apkg.PackageError, match="not a package Anki can import"):
        apkg.import_apkg(fake, target)
    with pytest.raises(archive.ArchiveError, match="limit"):
        apkg.import_apkg(CORPUS / "markdown2anki.apkg", target, max_bytes=10_000)
    assert not target.exists() or tree(target) == {}
    assert not (tmp_path.parent / "evil").exists()


def test_existing_deck_files_are_not_overwritten(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    apkg.export_apkg(src, tmp_path / "d.apkg")
    target = tmp_path / "b"
    target.mkdir()
    (target / "Spanish.md").write_text("Q: mine\nA: keep\n", encoding="utf-8")
    with pytest.raises(AnkiOpsError, match="--overwrite"):
        apkg.import_apkg(tmp_path / "d.apkg", target)
    assert tree(target) == {"Spanish.md": b"Q: mine\nA: keep\n"}
    apkg.import_apkg(tmp_path / "d.apkg", target, overwrite=True)
    assert content(target)["Spanish.md"] == content(src)["Spanish.md"]


def test_cli_export_and_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_repo(tmp_path / "a")
    monkeypatch.chdir(src)
    runner = CliRunner()
    out = tmp_path / "s.apkg"
    done = runner.invoke(cli, ["export-apkg", "Spanish", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "2 deck(s), 3 note(s), 1 media file(s)" in done.output
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # (Anki's exporter writes 0600)
    assert not out.with_name("s.apkg.partial").exists()
    back = runner.invoke(cli, ["import-apkg", str(stock_package(tmp_path)), "--directory", "x"])
    assert back.exit_code == 0, back.output
    assert "1 deck file(s), 5 note(s)" in back.output
    assert (src / "x" / "Shared__Deck.md").is_file()
    # into a folder whose note-types/Vocab is something else: refused, nothing written
    again = runner.invoke(cli, ["import-apkg", str(tmp_path / "stock.apkg"), "--directory", "y"])
    assert again.exit_code == 0
    (src / "z" / "note-types" / "Vocab").mkdir(parents=True)
    (src / "z" / "note-types" / "Vocab" / "style.css").write_text(".mine {}", encoding="utf-8")
    clash = runner.invoke(cli, ["import-apkg", str(tmp_path / "stock.apkg"), "--directory", "z"])
    assert clash.exit_code == 1 and "Traceback" not in clash.output, clash.output
    assert "nothing was written" in clash.output
    assert sorted(p.name for p in (src / "z").iterdir()) == ["note-types"]
    bad = runner.invoke(cli, ["export-apkg", "Nope", "-o", str(out)])
    assert bad.exit_code == 1 and "no deck 'Nope'" in bad.output and "Traceback" not in bad.output


# --- --include-scheduling, on every backend (the world of test_sync_e2e.py) ---------------

world = test_sync_e2e.world
templates = test_sync_e2e.templates


@in_anki
def study(col, note_ids):  # type: ignore[no-untyped-def]
    """In Anki, as a user studies: cards answered into review, one pushed 17 days out,
    one lapsed (relearning), one suspended, one pulled into a filtered deck, one in
    learning; the rest new. Returns the cards' ids in that order.

    Anki's day ends at its rollover hour (4 AM by default), and a learning step that
    ends after it turns the card into a day-counted one (queue 3): run near 4 AM, the
    card left in learning would not be in queue 1. So the answers are given with the
    rollover twelve hours away, and the user's rollover is put back after."""
    import datetime

    cards = [c.id for nid in note_ids for c in col.get_note(nid).cards()]
    prefs = col.get_preferences()
    rollover = prefs.scheduling.rollover
    prefs.scheduling.rollover = (datetime.datetime.now().hour + 12) % 24
    col.set_preferences(prefs)

    def answer(cid, ease):  # type: ignore[no-untyped-def]
        card = col.get_card(cid)
        card.start_timer()
        col.sched.answerCard(card, ease)

    for cid in cards[:5]:
        answer(cid, 3)
        answer(cid, 3)  # Good twice: out of learning, a review card
    col.sched.set_due_date([cards[0]], "17")
    answer(cards[1], 1)  # Again: relearning
    col.sched.suspend_cards([cards[2]])
    did = col.decks.new_filtered("Cram")
    deck = col.decks.get(did)
    deck["terms"] = [[f"cid:{cards[3]}", 100, 0]]
    col.decks.save(deck)
    col.sched.rebuild_filtered_deck(did)
    answer(cards[5], 3)  # learning
    prefs.scheduling.rollover = rollover
    col.set_preferences(prefs)
    return cards


@in_anki
def give_preset(col, note_id):  # type: ignore[no-untyped-def]
    """In Anki, as a user sets deck options: the deck of this note gets its own preset,
    "Languages" (7 new cards a day, learning steps 2 and 30 minutes, desired retention
    0.85); returns the deck's name."""
    did = col.get_note(note_id).cards()[0].did
    conf = col.decks.add_config("Languages")
    conf["new"]["perDay"] = 7
    conf["new"]["delays"] = [2.0, 30.0]
    conf["desiredRetention"] = 0.85
    col.decks.update_config(conf)
    deck = col.decks.get(did)
    deck["conf"] = conf["id"]
    col.decks.save(deck)
    return deck["name"]


@in_anki
def preset_of(col, deck_name):  # type: ignore[no-untyped-def]
    conf = col.decks.config_dict_for_deck_id(col.decks.id_for_name(deck_name))
    return [conf["name"], conf["new"]["perDay"], conf["new"]["delays"], conf["desiredRetention"]]


@in_anki
def schedule_of(col, guids):  # type: ignore[no-untyped-def]
    """The cards of these notes (by GUID), keyed "note's place/card ord", as an export
    with scheduling must carry them: the state Anki gives back when a filtered deck is
    emptied, a day number counted from today, and the review history."""
    out = {}
    for place, guid in enumerate(guids):
        nid = col.db.scalar("select id from notes where guid = ?", guid)
        for card in col.get_note(nid).cards():
            due, queue = (card.odue, card.type) if card.odid else (card.due, card.queue)
            in_days = queue in (2, 3) or (queue < 0 and card.type == 2)
            rows = col.db.all(
                "select ease, ivl, lastIvl, factor, type from revlog where cid = ? order by id",
                card.id,
            )
            out[f"{place}/{card.ord}"] = [
                card.type,
                queue,
                due - col.sched.today if in_days else (None if card.type == 0 else due),
                card.ivl,
                card.factor,
                card.reps,
                card.lapses,
                card.left,
                [list(r) for r in rows],
            ]
    return out


def test_export_with_scheduling_carries_progress_and_history(
    world: test_sync_e2e.World, tmp_path: Path
) -> None:
    """export-apkg --include-scheduling reads the cards' scheduling and review history
    from the repository's Anki; imported with learning progress into a fresh
    collection, every card is where it was: same state, interval, ease, steps, days
    until due (a new card: its place in the queue is the importer's), and the same
    reviews; and the decks their options presets. Over AnkiConnect, a card in a
    filtered deck comes due today, and says so."""
    notes = [world.ids[k] for k in ("ser", "estar", "tener", "paris", "rome", "num0")]
    with world.anki() as col:
        study(col, notes)
        deck = give_preset(col, notes[0])
        before = schedule_of(
            col, [col.db.scalar("select guid from notes where id = ?", n) for n in notes]
        )
    assert [v[:2] for v in before.values()] == [
        [2, 2],
        [3, 1],
        [2, -1],
        [2, 2],
        [2, 2],
        [1, 1],
        [0, 0],
    ]  # review, relearning, suspended, filtered (home: review), review, learning, new
    assert before["0/0"][2] == 17
    out = tmp_path / "progress.apkg"
    done = world.run(
        str(VENV_BIN / "ankiops-git"), "export-apkg", "-o", str(out), "--include-scheduling"
    )
    # every card of the world's 10 notes (one Reversed: 2 cards); 5 x 2 answers, Again,
    # one in learning, and the due date set by hand (a "manual" row)
    assert "scheduling of 11 card(s), 13 review(s), 2 deck options preset(s)" in done.stdout, (
        done.stdout
    )
    undated = world.kind != "collection"  # AnkiConnect does not tell a filtered card's due
    assert ("1 card(s) are in a filtered deck" in done.stdout) == undated, done.stdout
    if undated:
        before["3/0"][2] = 0

    col = Collection(str(tmp_path / "fresh.anki2"))
    try:
        col.import_anki_package(
            ImportAnkiPackageRequest(
                package_path=str(out),
                options=ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True),
            )
        )
        after = schedule_of(col, [apkg.note_guid("", Note("QA", {}, n)) for n in notes])
        assert preset_of(col, deck) == ["Languages", 7, [2.0, 30.0], 0.85]
    finally:
        col.close()
    assert after == before
    assert sum(len(v[8]) for v in after.values()) == 13


def test_ankiops_optional_fields_travel_in_packages(tmp_path: Path) -> None:
    """Notes that fill AnkiOps' optional fields (AI:, D:, C8:) get them in the package's
    note types, in AnkiOps' field order, and back from it; a type no note needs them
    for is made with its core fields only, as a push makes it."""
    root = tmp_path / "a"
    root.mkdir()
    deck = Deck(
        [
            Note("QA", {"Question": "q", "Answer": "a", "AI Notes": "*checked*"}),
            Note("Reversed", {"Front": "f", "Back": "b", "Divider": "or"}),
            Note(
                "Choice",
                {
                    "Question": "Pick",
                    **{f"Choice {i}": str(i) for i in range(1, 9)},
                    "Answer": "8",
                },
            ),
            Note("Cloze", {"Text": "{{c1::x}}"}),
        ]
    )
    (root / "Deck.md").write_text(deckfile.write(deck), encoding="utf-8")
    apkg.export_apkg(root, tmp_path / "opt.apkg")
    col = import_into(tmp_path / "fresh", tmp_path / "opt.apkg")
    try:
        fields = {
            name: col.models.field_names(col.models.by_name(name))  # type: ignore[arg-type]
            for name in ("AnkiOpsQA", "AnkiOpsReversed", "AnkiOpsChoice", "AnkiOpsCloze")
        }
        qa = col.get_note(col.find_notes("note:AnkiOpsQA")[0])
        assert qa["AI Notes"] == "<i>checked</i>"
        assert col.get_note(col.find_notes("note:AnkiOpsReversed")[0])["Divider"] == "or"
        assert col.get_note(col.find_notes("note:AnkiOpsChoice")[0])["Choice 8"] == "8"
    finally:
        col.close()
    assert fields["AnkiOpsQA"] == ["Question", "Answer", "Extra", "More", "AI Notes"]
    assert fields["AnkiOpsReversed"] == ["Front", "Back", "Divider", "Extra", "More"]
    assert fields["AnkiOpsChoice"][8:10] == ["Choice 8", "Answer"]
    assert fields["AnkiOpsCloze"] == ["Text", "Extra", "More"]
    result = CliRunner().invoke(
        cli, ["import-apkg", str(tmp_path / "opt.apkg"), "--directory", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    assert content(tmp_path / "b") == content(root)
