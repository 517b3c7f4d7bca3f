"""Note types declared in ankiops.toml: a repository's own (templates and CSS from files),
Anki's standard ones mapped to prefixes, and `note-type import`.

The reading of declarations and of deck files with them runs on its own; the rest end
to end on every backend (collection file, AnkiConnect stand-in, real Anki with the real
add-on), from `ankiops-git init` on the seeded collection of test_sync_e2e, through git
and its hooks as a user would.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from conftest import backend_params
from gitrepo import BIN as VENV_BIN
from realanki import in_anki
from test_sync_e2e import World, make_world, templates  # noqa: F401 (fixture)

from ankiops_git import config as config_mod
from ankiops_git import deckfile, export, validate
from ankiops_git.anki.base import Backend, NewNote
from ankiops_git.anki.templates import CardTemplate
from ankiops_git.errors import AnkiOpsError, AnkiRejected
from ankiops_git.merge import merge_texts
from ankiops_git.notetypes import NoteType, NoteTypes

VOCAB = """
[note_types.Vocab]
fields = [["W", "Word"], ["D", "Definition"]]
required = ["W", "D"]
templates = "note-types/Vocab"
"""
FRONT = '<div class="word">{{Word}}</div>'
BACK = '{{FrontSide}}\n<hr id="answer">\n{{Definition}}'
CSS = ".card { color: navy; }\n"

MAPPED = """
[note_types.Basic]
fields = [["Fr", "Front"], ["Bk", "Back"]]

[note_types.AnkiCloze]
anki_name = "Cloze"
fields = [["X", "Text"], ["BE", "Back Extra"]]
cloze = true
"""


def write_vocab(root: Path, toml: str = VOCAB, front: str = FRONT) -> None:
    folder = root / "note-types" / "Vocab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Card 1.front.html").write_text(front, encoding="utf-8")
    (folder / "Card 1.back.html").write_text(BACK, encoding="utf-8")
    (folder / "style.css").write_text(CSS, encoding="utf-8")
    config = root / "ankiops.toml"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    config.write_text(text + toml, encoding="utf-8")


# --- declarations, read ------------------------------------------------------------------


def test_a_declared_type_reads_and_writes_deck_files(tmp_path: Path) -> None:
    write_vocab(tmp_path)
    types = config_mod.load(tmp_path).note_types
    vocab = types.by_key["Vocab"]
    assert (vocab.anki_name, vocab.identifying, vocab.required) == ("Vocab", ("W", "D"), ("W", "D"))
    assert vocab.card_templates == (("Card 1", FRONT, BACK),)
    assert vocab.css == CSS and vocab.templates_dir == "note-types/Vocab"

    text = "<!-- note_id: 5 -->\nW: perro\nD: dog\n\n---\n\nQ: q\nA: a\n"
    deck = deckfile.parse(text, "Spanish.md", types)
    assert [n.note_type for n in deck.notes] == ["Vocab", "QA"]
    assert deck.notes[0].fields == {"Word": "perro", "Definition": "dog"}
    assert deckfile.write(deck, types) == text
    # Without the declaration the same file is an error at the W: line.
    with pytest.raises(AnkiOpsError, match=r"Spanish.md:2:1: error: .*`W:`"):
        deckfile.parse(text, "Spanish.md")
    # A field line starting with a declared prefix must be escaped, as Q: is.
    problems = validate.check_text("W: a\nD: b\nD: c\n", "x.md", types)
    assert [d.line for d in problems if d.severity == "error"] == [3]
    missing = validate.check_text("W: only the word\n", "x.md", types)
    assert "Vocab note has no D: (Definition)" in missing[0].message


@pytest.mark.parametrize(
    ("toml", "line", "words"),
    [
        ("[note_types.Cloze]\nfields = [['X', 'Text']]\n", 1, "name of a built-in note type"),
        (
            "[note_types.V]\nfields = [['Q', 'Question'], ['A', 'Answer']]\n",
            2,
            "no prefix of it is its own",
        ),
        (
            "[note_types.V]\nfields = [['W', 'Word']]\nidentifying = ['W']\n"
            "[note_types.U]\nfields = [['W', 'Wort']]\n",
            3,
            "also a field of U",
        ),
        ("[note_types.V]\nfields = [['w', 'Word']]\n", 2, "must be a capital letter"),
        ("[note_types.V]\nfields = [['W', 'Word']]\ntemplate = 'x'\n", 3, "unknown setting"),
        (
            "[note_types.V]\nfields = [['W', 'Word']]\ntemplates = 'nowhere'\n",
            3,
            "'templates' folder 'nowhere' does not exist",
        ),
        (
            "[note_types.V]\nfields = [['W', 'Word']]\ntemplates = '../..'\n",
            3,
            "outside the repository",
        ),
        (
            "[note_types.V]\nanki_name = 'AnkiOpsQA'\nfields = [['W', 'Word']]\n",
            2,
            "already the note type 'QA'",
        ),
    ],
)
def test_a_bad_declaration_is_one_message_with_file_and_line(
    tmp_path: Path, toml: str, line: int, words: str
) -> None:
    (tmp_path / "ankiops.toml").write_text("exclude = []\n" + toml, encoding="utf-8")
    with pytest.raises(AnkiOpsError) as caught:
        config_mod.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'ankiops.toml'}:{line + 1}: "), message
    assert words in message and "nothing was done" in message


def test_settings_written_again_keep_the_declarations(tmp_path: Path) -> None:
    write_vocab(tmp_path, "\n[media]\nwarn_mb = 9\n" + VOCAB.replace("]]\n", "]]  # two\n"))
    config = config_mod.load(tmp_path)
    config.profile = "User 1"
    config_mod.save(tmp_path, config)
    again = config_mod.load(tmp_path)
    assert again.note_types == config.note_types and again.media_warn_bytes == 9_000_000
    assert again.profile == "User 1"
    assert '["D", "Definition"]]  # two\n' in (tmp_path / "ankiops.toml").read_text()


def test_a_card_without_its_back_is_named(tmp_path: Path) -> None:
    write_vocab(tmp_path)
    (tmp_path / "note-types" / "Vocab" / "Card 1.back.html").unlink()
    with pytest.raises(AnkiOpsError, match="card 'Card 1' has no note-types/Vocab/Card 1.back"):
        config_mod.load(tmp_path)


# --- end to end, every backend ------------------------------------------------------------


@in_anki
def model_of(col: Collection, name: str) -> dict[str, Any] | None:
    model = col.models.by_name(name)
    if model is None:
        return None
    return {
        "fields": [f["name"] for f in model["flds"]],
        "templates": [[t["name"], t["qfmt"], t["afmt"]] for t in model["tmpls"]],
        "css": model["css"],
        "cloze": model["type"] == 1,
    }


@in_anki
def notes_of(col: Collection, model_name: str) -> list[list[Any]]:
    model = col.models.by_name(model_name)
    assert model is not None
    out = []
    for note_id in col.find_notes(f'"note:{model_name}"'):
        note = col.get_note(note_id)
        out.append([int(note_id), dict(note.items())])
    return sorted(out)


@in_anki
def set_field(col: Collection, note_id: int, name: str, value: str) -> None:
    note = col.get_note(note_id)  # type: ignore[arg-type]
    note[name] = value
    col.update_note(note)


@pytest.fixture(params=backend_params())
def nt_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """test_sync_e2e's world (a repository after init on a seeded collection), without its
    check that notes of other types stay untouched: here Basic and Cloze become ours."""
    world, server = make_world(request, tmp_path)
    try:
        yield world
    finally:
        if server is not None:
            server.stop()


def model(world: World, name: str) -> dict[str, Any] | None:
    with world.anki() as col:
        return model_of(col, name)  # type: ignore[no-any-return]


def notes(world: World, name: str) -> list[tuple[int, dict[str, str]]]:
    with world.anki() as col:
        return [(int(i), dict(f)) for i, f in notes_of(col, name)]


def test_declared_type_created_template_change_updates_field_change_refused(
    nt_world: World,
) -> None:
    world = nt_world
    write_vocab(world.root)
    world.write("Vocab.md", "W: perro\nD: *dog*\n")
    world.git("add", "ankiops.toml", "note-types", "Vocab.md")
    commit = world.git("commit", "-m", "Vocab")
    output = commit.stdout + commit.stderr
    assert "note type 'Vocab' created" in output and "1 added" in output, output
    assert model(world, "Vocab") == {
        "fields": ["Word", "Definition"],
        "templates": [["Card 1", FRONT, BACK]],
        "css": CSS,
        "cloze": False,
    }
    ((note_id, fields),) = notes(world, "Vocab")
    assert fields == {"Word": "perro", "Definition": "<i>dog</i>"}
    assert world.read("Vocab.md").endswith(f"\n<!-- note_id: {note_id} -->\nW: perro\nD: *dog*\n")

    # init again (it repairs the wiring, rewriting ankiops.toml) keeps the declaration.
    toml = world.read("ankiops.toml")
    world.run(str(VENV_BIN / "ankiops-git"), "init", ".")
    assert world.read("ankiops.toml") == toml

    # A template or CSS change updates Anki; the notes stay as they are.
    new_front = '<div class="word">{{Word}}</div>\n<p>What does it mean?</p>'
    (world.root / "note-types/Vocab/Card 1.front.html").write_text(new_front, encoding="utf-8")
    (world.root / "note-types/Vocab/style.css").write_text(".card { color: red; }\n")
    commit = world.git("commit", "-am", "new front")
    output = commit.stdout + commit.stderr
    assert "note type 'Vocab': templates and CSS updated" in output, output
    after = model(world, "Vocab")
    assert after is not None
    assert after["templates"] == [["Card 1", new_front, BACK]]
    assert after["css"] == ".card { color: red; }\n"
    assert notes(world, "Vocab") == [(note_id, fields)]
    assert world.rev("anki/main") == world.rev("HEAD")

    # Edited in Anki: a push (of a new note) keeps Anki's; --update brings it to the files.
    with world.anki() as col:
        set_front(col, "Vocab", "<h1>{{Word}}</h1>")
    world.write("Vocab.md", world.read("Vocab.md") + "\n---\n\nW: gato\nD: cat\n")
    commit = world.git("commit", "-am", "gato")
    output = commit.stdout + commit.stderr
    assert "its templates were changed in Anki since the last push" in output, output
    assert model(world, "Vocab")["templates"][0][1] == "<h1>{{Word}}</h1>"  # type: ignore[index]
    updated = world.run(str(VENV_BIN / "ankiops-git"), "note-type", "import", "Vocab", "--update")
    assert "Card 1.front.html: written from Anki" in updated.stdout, updated.stdout
    front = world.root / "note-types/Vocab/Card 1.front.html"
    assert front.read_text(encoding="utf-8") == "<h1>{{Word}}</h1>"
    commit = world.git("commit", "-am", "Anki's front")
    assert "Vocab" not in commit.stdout + commit.stderr  # nothing to do: files and Anki agree
    front.write_text(new_front, encoding="utf-8")
    world.git("commit", "-am", "front back")
    assert model(world, "Vocab")["templates"][0][1] == new_front  # type: ignore[index]

    # A field added is refused, saying it forces a full sync and how to allow it.
    pushed = world.rev("anki/main")
    text = world.read("ankiops.toml").replace(
        '["D", "Definition"]]', '["D", "Definition"], ["X", "Example"]]'
    )
    world.write("ankiops.toml", text)
    commit = world.git("commit", "-am", "example field")
    output = commit.stdout + commit.stderr
    assert "forces a full sync on every device" in output, output
    assert "allow_field_changes = true under [note_types.Vocab]" in output
    assert "Nothing was pushed" in output
    assert model(world, "Vocab")["fields"] == ["Word", "Definition"]  # type: ignore[index]
    assert world.rev("anki/main") == pushed
    refused = world.git("push", "anki", check=False)
    assert refused.returncode != 0 and "forces a full sync" in refused.stderr

    # A dry run says what allowing it would do, and does nothing.
    tool = str(VENV_BIN / "ankiops-git")
    said = world.run(tool, "push", "--dry-run", "--allow-field-changes").stdout
    assert "a push would make: note type 'Vocab': field(s) Example added" in said, said
    assert model(world, "Vocab")["fields"] == ["Word", "Definition"]  # type: ignore[index]

    # Allowed once (the environment variable): the field is added.
    world.env = {**world.env, "ANKIOPS_ALLOW_FIELD_CHANGES": "1"}
    done = world.git("push", "anki")
    assert "field(s) Example added" in done.stderr, done.stderr
    assert model(world, "Vocab")["fields"] == ["Word", "Definition", "Example"]  # type: ignore[index]
    assert dict(notes(world, "Vocab"))[note_id] == {**fields, "Example": ""}


@pytest.mark.parametrize("nt_world", ["collection"], indirect=True)
def test_settings_not_committed_stop_pull_and_push_and_nothing_moves(nt_world: World) -> None:
    """A fetch or push works by the committed ankiops.toml and templates: with the
    field mapping swapped in the working tree (not committed), the hook's push said
    falsely that Anki had edits, and a pull read Anki's notes as swapped edits. Now
    every surface stops with one message naming the file, and nothing moves."""
    world = nt_world
    write_vocab(world.root)
    world.write("Vocab.md", "W: perro\nD: dog\n")
    world.git("add", "ankiops.toml", "note-types", "Vocab.md")
    world.git("commit", "-m", "Vocab")
    ((note_id, fields),) = notes(world, "Vocab")
    assert fields == {"Word": "perro", "Definition": "dog"}
    toml = world.read("ankiops.toml")
    world.write(
        "ankiops.toml", toml.replace('"Word"], ["D", "Definition"', '"Definition"], ["D", "Word"')
    )
    world.write("Vocab.md", world.read("Vocab.md").replace("D: dog", "D: dog, a pet"))
    heads = (world.rev("HEAD"), world.rev("anki/main"))
    said = "ankiops.toml: changed and not committed"
    commit = world.git("commit", "-m", "edit", "--", "Vocab.md")  # the hook's push stops
    assert said in commit.stdout + commit.stderr and "not pushed to Anki" in commit.stderr
    tool = str(VENV_BIN / "ankiops-git")
    for command in (
        ["git", "pull", "anki"],
        ["git", "push", "anki"],
        [tool, "pull"],
        [tool, "push"],
    ):
        done = world.run(*command, check=False)
        assert done.returncode != 0, command
        assert said in done.stdout + done.stderr and "Traceback" not in done.stderr, command
    assert (
        world.rev("anki/main") == heads[1]
        and world.git("log", "-1", "--format=%s").stdout.strip() == "edit"
    )
    assert notes(world, "Vocab") == [(note_id, fields)]
    # A template edited and not committed stops them the same way, naming it.
    world.write("ankiops.toml", toml)
    front = world.root / "note-types/Vocab/Card 1.front.html"
    front.write_text(FRONT + "<p>new</p>", encoding="utf-8")
    done = world.git("pull", "anki", check=False)
    assert "note-types/Vocab/Card 1.front.html: changed and not committed" in done.stderr
    front.write_text(FRONT, encoding="utf-8")
    (world.root / "note-types/Vocab/.DS_Store").write_bytes(b"\0")  # (not read: no matter)
    assert world.git("push", "anki", check=False).returncode == 0
    assert notes(world, "Vocab") == [(note_id, {"Word": "perro", "Definition": "dog, a pet"})]
    # Changed is what git says: CRLF line endings that core.autocrlf writes are no change.
    world.git("config", "core.autocrlf", "true")
    config = world.root / "ankiops.toml"
    config.unlink()
    world.git("checkout", "--", "ankiops.toml")  # (written again by git, with CRLF)
    assert b"\r\n" in config.read_bytes()
    assert world.git("status", "--porcelain", "--", "ankiops.toml").stdout == ""
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode == 0 and "not committed" not in pulled.stderr, pulled.stderr


@in_anki
def rename_note_type(col: Collection, old: str, new: str) -> None:
    model = col.models.by_name(old)
    assert model is not None
    model["name"] = new
    col.models.update_dict(model)


def test_anki_name_changed_alone_is_refused_until_anki_has_the_new_name(
    nt_world: World,
) -> None:
    """anki_name changed in ankiops.toml while Anki's type keeps the old name: the push
    would make a new, empty type and the notes would leave the files at the next pull.
    Refused, saying to rename in Anki first; once Anki has the new name, it goes."""
    world = nt_world
    write_vocab(world.root)
    world.write("Vocab.md", "W: perro\nD: dog\n")
    world.git("add", "ankiops.toml", "note-types", "Vocab.md")
    world.git("commit", "-m", "Vocab")
    pushed = world.rev("anki/main")
    text = world.read("ankiops.toml").replace(
        "[note_types.Vocab]\n", '[note_types.Vocab]\nanki_name = "Vocabulary"\n'
    )
    world.write("ankiops.toml", text)
    commit = world.git("commit", "-am", "rename the type")
    output = commit.stdout + commit.stderr
    assert (
        "ankiops.toml: [note_types.Vocab] anki_name changed from 'Vocab' to 'Vocabulary', "
        "but Anki's type is still named 'Vocab'"
    ) in output, output
    assert "Nothing was pushed" in output and "Traceback" not in output
    assert world.rev("anki/main") == pushed
    assert model(world, "Vocabulary") is None and len(notes(world, "Vocab")) == 1
    # A pull then (the notes of 'Vocab' no longer look managed) is refused the same way,
    # rather than take the note out of its file.
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0 and "anki_name changed from 'Vocab'" in pulled.stderr
    assert "W: perro\nD: dog\n" in world.read("Vocab.md")
    # Renamed in Anki as told: the push goes, and the note stays in its file.
    with world.anki() as col:
        rename_note_type(col, "Vocab", "Vocabulary")
    world.git("push", "anki")
    assert len(notes(world, "Vocabulary")) == 1
    world.git("pull", "anki")
    assert "W: perro\nD: dog\n" in world.read("Vocab.md")


def test_basic_and_cloze_mapped_sync_both_ways(nt_world: World) -> None:
    world = nt_world
    basic_id = world.ids["basic_spanish"]
    cloze_before = {i for i, _ in notes(world, "Cloze")}
    basic_model = model(world, "Basic")
    world.write("ankiops.toml", world.read("ankiops.toml") + MAPPED)
    commit = world.git("commit", "-am", "map Basic and Cloze")
    # Anki holds Basic notes the files lack: the push asks for a pull first, deletes none.
    assert "git pull anki" in commit.stdout + commit.stderr
    assert basic_id in {i for i, _ in notes(world, "Basic")}

    pulled = world.git("pull", "anki")
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    spanish = world.read("Spanish.md")
    assert f"<!-- note_id: {basic_id} -->\nFr: unmanaged front\nBk: unmanaged back" in spanish
    assert "Fr: other front\nBk: other back" in world.read("Other.md")
    assert world.rev("anki/main") == world.rev("HEAD")

    # Edited in the file: Anki's Basic note changes; a Cloze note added from a file.
    world.write("Spanish.md", spanish.replace("Bk: unmanaged back", "Bk: **edited** back"))
    geo = world.read("Geo__Europe.md")
    world.write("Geo__Europe.md", geo + "\n---\n\nX: {{c1::Lima}} is in Peru.\nBE: and Cusco\n")
    commit = world.git("commit", "-am", "edit Basic, add a Cloze")
    assert "1 added, 1 updated" in commit.stdout + commit.stderr, commit.stderr
    by_id = dict(notes(world, "Basic"))
    assert by_id[basic_id] == {"Front": "unmanaged front", "Back": "<b>edited</b> back"}
    (added,) = [n for n in notes(world, "Cloze") if n[0] not in cloze_before]
    assert added[1] == {"Text": "{{c1::Lima}} is in Peru.", "Back Extra": "and Cusco"}
    assert f"<!-- note_id: {added[0]} -->\nX: {{{{c1::Lima}}}} is in Peru." in world.read(
        "Geo__Europe.md"
    )

    # Edited in Anki: the pull brings it into the file.
    with world.anki() as col:
        set_field(col, basic_id, "Front", "front from Anki")
    world.git("pull", "anki")
    assert "Fr: front from Anki\nBk: **edited** back" in world.read("Spanish.md")
    assert world.git("status", "--porcelain").stdout == ""
    assert model(world, "Basic") == basic_model  # a mapped type is never changed

    # Edited on both sides: the merge driver reads the declared prefixes, note by note.
    with world.anki() as col:
        set_field(col, basic_id, "Back", "back from Anki")
    spanish = world.read("Spanish.md")
    world.write("Spanish.md", spanish.replace("Bk: **edited** back", "Bk: back from the file"))
    world.git("commit", "-am", "edit the back here too")
    pulled = world.git("pull", "anki", check=False)
    assert "CONFLICT" in pulled.stdout + pulled.stderr
    text = world.read("Spanish.md")
    assert "<<<<<<< ours\nBk: back from the file\n=======\nBk: back from Anki\n>>>>>>>" in text
    assert "Fr: front from Anki" in text  # outside the conflict, merged as it is


def test_note_type_import_writes_a_declaration_that_round_trips(nt_world: World) -> None:
    world = nt_world
    tool = str(VENV_BIN / "ankiops-git")
    wrong = world.run(
        tool, "note-type", "import", "Basic (type in the answer)", "--prefix", "Nope=N", check=False
    )
    assert wrong.returncode == 1 and "has no field 'Nope'" in wrong.stderr
    mapped = world.run(
        tool, "note-type", "import", "Basic (type in the answer)", "--prefix", "Front=Typed_Q:"
    )
    assert "mapped only" in mapped.stdout, mapped.stdout
    declared = config_mod.load(world.root).note_types.by_anki_name["Basic (type in the answer)"]
    assert declared.origin == "mapped" and declared.field_names == ("Front", "Back")
    assert declared.prefixes == ("Typed_Q", "Ba")
    assert not (world.root / "note-types").exists()

    # With --templates, the cards and CSS are files; pushing them changes nothing in Anki.
    before = model(world, "Basic (and reversed card)")
    assert before is not None
    written = world.run(tool, "note-type", "import", "Basic (and reversed card)", "--templates")
    assert "2 card(s)" in written.stdout, written.stdout
    folder = world.root / "note-types" / "Basic_and_reversed_card"
    assert sorted(p.name for p in folder.iterdir()) == [
        "Card 1.back.html",
        "Card 1.front.html",
        "Card 2.back.html",
        "Card 2.front.html",
        "style.css",
    ]
    world.git("add", "ankiops.toml", "note-types")
    commit = world.git("commit", "-m", "import")
    assert "updated" not in commit.stdout + commit.stderr
    assert model(world, "Basic (and reversed card)") == before
    assert world.rev("anki/main") == world.rev("HEAD")

    # Importing it again, or a type Anki lacks, writes nothing.
    toml = world.read("ankiops.toml")
    again = world.run(tool, "note-type", "import", "Basic (and reversed card)", check=False)
    assert again.returncode == 1 and "already known" in again.stderr
    missing = world.run(tool, "note-type", "import", "Nope", check=False)
    assert missing.returncode == 1 and "Anki has no note type 'Nope'" in missing.stderr
    assert "Traceback" not in again.stderr + missing.stderr
    assert world.read("ankiops.toml") == toml

    # Before init (an AnkiOps folder, say): with --anki, into the folder's ankiops.toml,
    # which init then keeps; the notes of the type come in with the first fetch.
    fresh = world.root.parent / "fresh"
    fresh.mkdir()
    env = {**world.env, "GIT_CEILING_DIRECTORIES": str(world.root.parent)}
    run = subprocess.run(
        [tool, "note-type", "import", "Basic", "--anki", world.spec, "--prefix", "Front=Fr"],
        cwd=fresh,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not (fresh / ".git").exists()
    init = subprocess.run(
        [tool, "init", ".", "--anki", world.spec],
        cwd=fresh,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    assert '[note_types.Basic]\nfields = [["Fr", "Front"], ["Ba", "Back"]]' in (
        fresh / "ankiops.toml"
    ).read_text(encoding="utf-8")
    assert "Fr: unmanaged front\nBa: unmanaged back" in (fresh / "Spanish.md").read_text(
        encoding="utf-8"
    )


# --- the backends' note type changes (contract: every backend alike) ----------------------


def vocab_type(**changes: Any) -> NoteType:
    base = NoteType(
        "Vocab",
        "Vocab",
        (("W", "Word"), ("D", "Definition")),
        ("W",),
        ("W",),
        origin="declared",
        card_templates=(("Card 1", FRONT, BACK),),
        css=CSS,
        where="ankiops.toml [note_types.Vocab]",
    )
    return dataclasses.replace(base, **changes)


def test_backends_create_update_and_refuse_note_type_changes(
    backend: Backend, anki_col: Collection
) -> None:
    backend.note_types = NoteTypes((vocab_type(),))
    assert backend.ensure_note_types(dry_run=True) == ["note type 'Vocab' created"]
    assert model_of(anki_col, "Vocab") is None  # a dry run writes nothing
    assert backend.ensure_note_types() == ["note type 'Vocab' created"]
    assert backend.ensure_note_types() == []  # as the files say already
    [note_id] = backend.add_notes([NewNote("Vocab", "V", {"Word": "perro", "Definition": "dog"})])
    assert [n.note_type for n in backend.read_notes([note_id])] == ["Vocab"]

    css = ".card { color: green; }"
    backend.note_types = NoteTypes((vocab_type(css=css),))
    assert backend.ensure_note_types() == ["note type 'Vocab': CSS updated"]
    assert model_of(anki_col, "Vocab")["css"] == css  # type: ignore[index]

    # A field removed: refused, nothing changed; allowed: gone, with its text.
    backend.note_types = NoteTypes((vocab_type(fields=(("W", "Word"),), required=("W",)),))
    with pytest.raises(AnkiRejected, match="removes 'Definition' .*forces a full sync"):
        backend.ensure_note_types()
    assert model_of(anki_col, "Vocab")["fields"] == ["Word", "Definition"]  # type: ignore[index]
    done = backend.ensure_note_types(allow_field_changes=True)
    assert done[0].startswith("note type 'Vocab': field(s) Definition removed (so a full sync")
    assert model_of(anki_col, "Vocab")["fields"] == ["Word"]  # type: ignore[index]
    assert [n.fields for n in backend.read_notes([note_id])] == [{"Word": "perro"}]

    # A card added in the files: refused (Anki's card types change in Anki).
    two = (("Card 1", FRONT, BACK), ("Card 2", "{{Word}}?", "{{Word}}"))
    backend.note_types = NoteTypes(
        (vocab_type(fields=(("W", "Word"),), required=("W",), card_templates=two),)
    )
    with pytest.raises(AnkiRejected, match="does not add, remove or rename card types"):
        backend.ensure_note_types()


def test_backends_refuse_a_mapped_type_anki_lacks_or_with_other_fields(
    backend: Backend, anki_col: Collection
) -> None:
    basic = NoteType(
        "Basic",
        "Basic",
        (("Fr", "Front"), ("Bk", "Back")),
        ("Fr",),
        ("Fr",),
        origin="mapped",
        where="ankiops.toml [note_types.Basic]",
    )
    backend.note_types = NoteTypes((basic,))
    assert backend.ensure_note_types() == []
    before = model_of(anki_col, "Basic")
    for wrong, words in (
        (dataclasses.replace(basic, anki_name="Nope"), "'Nope' .* is not in Anki"),
        (dataclasses.replace(basic, fields=(("Fr", "Vorne"),)), "has no field 'Vorne'"),
        (dataclasses.replace(basic, is_cloze=True), "is not a cloze note type"),
    ):
        backend.note_types = NoteTypes((wrong,))
        with pytest.raises(AnkiRejected, match=words):
            backend.ensure_note_types()
    assert model_of(anki_col, "Basic") == before  # a mapped type is never changed


def test_a_line_from_anki_starting_with_a_declared_prefix_stays_text() -> None:
    types = NoteTypes((vocab_type(),))
    markdown = export.field_markdown("W: not a field<br>```<br>W: code", None, types=types)
    note = deckfile.parse(f"W: x\nD: {markdown}\n", "x.md", types).notes[0]
    assert note.fields["Definition"] == markdown
    assert "\nW\\: not a field" in "\n" + markdown


def test_a_declared_prefix_in_html_kept_as_html_is_led_by_a_space_not_a_backslash() -> None:
    """Inside an HTML block a backslash is shown, so `W\\: x` there changed the card."""
    from ankiops_git.convert import html_equal, md_to_html

    types = NoteTypes((vocab_type(),))
    html = "W: x<div></div><!-- deck_id: 7 -->"  # written as one HTML block
    markdown = export.field_markdown(html, None, types=types)
    assert html_equal(md_to_html(markdown), html), markdown
    note = deckfile.parse(f"W: x\nD: {markdown}\n", "x.md", types).notes[0]
    assert note.fields["Definition"] == markdown


def test_a_custom_note_edited_on_both_sides_merges_field_by_field() -> None:
    types = NoteTypes((vocab_type(),))
    base = "<!-- note_id: 1 -->\nW: perro\nD: dog\n"
    ours = "<!-- note_id: 1 -->\nW: el perro\nD: dog\n"
    theirs = "<!-- note_id: 1 -->\nW: perro\nD: the dog\n"
    merged = merge_texts(base, ours, theirs, "V.md", types=types)
    assert merged.clean and merged.text == "<!-- note_id: 1 -->\nW: el perro\nD: the dog\n"
    clash = merge_texts(base, ours, theirs.replace("W: perro", "W: un perro"), "V.md", types=types)
    assert not clash.clean and "<<<<<<< ours\nW: el perro\n=======\nW: un perro\n" in clash.text


@in_anki
def set_front(col: Collection, name: str, front: str) -> None:
    model = col.models.by_name(name)
    assert model is not None
    model["tmpls"][0]["qfmt"] = front
    col.models.update_dict(model)


def test_a_template_edited_in_anki_is_never_overwritten(
    backend: Backend, anki_col: Collection
) -> None:
    backend.note_types = NoteTypes((vocab_type(),))
    backend.ensure_note_types()
    pushed = {"Vocab": ((CardTemplate("Card 1", FRONT, BACK),), CSS)}
    set_front(anki_col, "Vocab", "<p>{{Word}}</p> edited in Anki")

    # The files unchanged since the push: Anki's edit stays, and the user is told.
    said = backend.ensure_note_types(pushed=pushed)
    assert said == [
        "note type 'Vocab': its templates were changed in Anki since the last push; Anki's "
        "are kept. `ankiops-git note-type import 'Vocab' --update` writes them into its "
        "folder/ (commit them: a change to the files there is refused until they hold Anki's)"
    ]
    assert model_of(anki_col, "Vocab")["templates"][0][1] == "<p>{{Word}}</p> edited in Anki"  # type: ignore[index]

    # Changed in the files too: refused, nothing written.
    backend.note_types = NoteTypes((vocab_type(card_templates=(("Card 1", "new", BACK),)),))
    with pytest.raises(AnkiRejected, match="changed in Anki since the last push, and in"):
        backend.ensure_note_types(pushed=pushed)
    assert model_of(anki_col, "Vocab")["templates"][0][1] == "<p>{{Word}}</p> edited in Anki"  # type: ignore[index]

    # Once the files hold Anki's edit, they agree: nothing to do.
    edited = (("Card 1", "<p>{{Word}}</p> edited in Anki", BACK),)
    backend.note_types = NoteTypes((vocab_type(card_templates=edited),))
    assert backend.ensure_note_types(pushed=pushed) == []


def test_ankiops_own_extra_types_can_be_declared_with_their_labels(tmp_path: Path) -> None:
    """AnkiOps' AnkiOpsClozeHideAll and AnkiOpsImageOcclusion, mapped with the labels its
    note_type.yaml gives them (THA:, IO_IM:, ...), read files written by AnkiOps."""
    (tmp_path / "ankiops.toml").write_text(
        """
[note_types.ClozeHideAll]
anki_name = "AnkiOpsClozeHideAll"
fields = [["THA", "Text"], ["E", "Extra"], ["M", "More"]]
cloze = true

[note_types.ImageOcclusion]
anki_name = "AnkiOpsImageOcclusion"
fields = [["IO_ID", "ID (hidden)"], ["IO_H", "Header"], ["IO_IM", "Image"],
          ["IO_QM", "Question Mask"], ["IO_AM", "Answer Mask"], ["IO_OM", "Original Mask"]]
identifying = ["IO_ID", "IO_IM", "IO_QM", "IO_AM", "IO_OM"]
""",
        encoding="utf-8",
    )
    types = config_mod.load(tmp_path).note_types
    text = (
        "THA: {{c1::all}} hidden\nE: extra\n\n---\n\n"
        "IO_ID: 1\nIO_IM: ![](media/x.png)\nIO_QM: q\nIO_AM: a\nIO_OM: o\n"
    )
    deck = deckfile.parse(text, "Anatomy.md", types)
    assert [n.note_type for n in deck.notes] == ["ClozeHideAll", "ImageOcclusion"]
    assert deck.notes[1].fields["Image"] == "![](media/x.png)"
    assert deckfile.write(deck, types) == text
    assert validate.check_text("THA: no deletion\n", "x.md", types)[0].message.startswith(
        "cloze note has no cloze deletion"
    )


@in_anki
def add_field(col: Collection, model_name: str, name: str) -> None:
    mm = col.models
    model = mm.by_name(model_name)
    assert model is not None
    mm.add_field(model, mm.new_field(name))
    mm.update_dict(model)


def test_ankiops_optional_fields_sync_only_where_the_type_in_anki_has_them(
    nt_world: World,
) -> None:
    """`AI:` (AnkiOps' AI Notes) on a built-in type: a type in Anki without the field
    refuses the note at the field's line, adds no field, pushes nothing; once the user
    added the field in Anki, it goes both ways like any other."""
    world = nt_world
    fields_before = model(world, "AnkiOpsQA")["fields"]  # type: ignore[index]
    assert "AI Notes" not in fields_before
    world.write("Optional.md", "Q: ser\nA: to be\nAI: a note by the model\n")
    world.git("add", "Optional.md")
    commit = world.git("commit", "-m", "AI notes")
    out = commit.stdout + commit.stderr
    assert (
        "Optional.md:3: `AI:` is the field 'AI Notes', which the note type 'AnkiOpsQA' in "
        "Anki does not have"
    ) in out, out
    assert "Nothing was pushed" in out and "Traceback" not in out
    assert model(world, "AnkiOpsQA")["fields"] == fields_before  # type: ignore[index]
    assert world.rev("anki/main") != world.rev("HEAD")

    with world.anki() as col:
        add_field(col, "AnkiOpsQA", "AI Notes")
    world.git("push", "anki")
    world.git("pull", "anki")
    (note,) = [(i, f) for i, f in notes(world, "AnkiOpsQA") if f["Question"] == "ser"]
    assert note[1]["AI Notes"] == "a note by the model"
    assert f"<!-- note_id: {note[0]} -->\nQ: ser\nA: to be\nAI: a note by the model\n" in (
        world.read("Optional.md")
    )
    # Edited in the file, then in Anki: each reaches the other side.
    world.write("Optional.md", world.read("Optional.md").replace("by the model", "*edited*"))
    world.git("commit", "-am", "edit the AI note")
    assert dict(notes(world, "AnkiOpsQA"))[note[0]]["AI Notes"] == "a note <i>edited</i>"
    with world.anki() as col:
        set_field(col, note[0], "AI Notes", "from Anki")
    world.git("pull", "anki")
    assert "A: to be\nAI: from Anki\n" in world.read("Optional.md")
    assert world.git("status", "--porcelain").stdout == ""


def test_a_type_renamed_in_anki_alone_is_refused_by_pull_until_ankiops_toml_follows(
    nt_world: World,
) -> None:
    """A declared type renamed in Anki while ankiops.toml keeps its old name: its notes
    no longer look managed, and a pull would take them out of the files (they are still
    in Anki). Refused, saying what to do; with anki_name set to the new name, the notes
    stay in their file, and pull and push go."""
    world = nt_world
    write_vocab(world.root)
    world.write("Vocab.md", "W: perro\nD: dog\n")
    world.git("add", "ankiops.toml", "note-types", "Vocab.md")
    world.git("commit", "-m", "Vocab")
    with world.anki() as col:
        rename_note_type(col, "Vocab", "Vocabulary")
    before = world.read("Vocab.md")
    head = world.rev("HEAD")
    pulled = world.git("pull", "anki", check=False)
    out = pulled.stdout + pulled.stderr
    assert pulled.returncode != 0 and "Traceback" not in out, out
    assert "Anki has no note type 'Vocab' any more (renamed in Anki?)" in out, out
    assert "Set anki_name to its new name under [note_types.Vocab]" in out
    assert "Nothing was fetched" in out
    assert world.read("Vocab.md") == before and world.rev("HEAD") == head

    text = world.read("ankiops.toml").replace(
        "[note_types.Vocab]\n", '[note_types.Vocab]\nanki_name = "Vocabulary"\n'
    )
    world.write("ankiops.toml", text)
    world.git("commit", "-am", "follow the rename")
    world.git("pull", "anki")
    assert "W: perro\nD: dog\n" in world.read("Vocab.md")
    (note,) = notes(world, "Vocabulary")
    assert note[1] == {"Word": "perro", "Definition": "dog"}
    assert world.rev("anki/main") == world.rev("HEAD")
