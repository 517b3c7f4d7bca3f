"""serialize / deserialize: the portable JSON (and ZIP with media) round trip, and the
archive checks (zip-slip, links, size, damage) that refuse before writing anything."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ankiops_git import archive, deckfile, share
from ankiops_git.cli import cli
from ankiops_git.config import load as load_config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.init import TUTORIAL, TUTORIAL_FILE
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import NoteTypes

PNG_A = b"\x89PNG\r\n\x1a\nAAAA"
PNG_B = b"\x89PNG\r\n\x1a\nBBBB"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def make_repo(root: Path) -> Path:
    """The tutorial, a deck with a subdeck and ids, and a picture they show."""
    root.mkdir(parents=True, exist_ok=True)
    (root / TUTORIAL_FILE).write_text(TUTORIAL, encoding="utf-8")
    verbs = Deck(
        [
            Note("QA", {"Question": "ser ![](media/ser.png)", "Answer": "to be"}, 1001, ["es"]),
            Note("Reversed", {"Front": "tener", "Back": "to have"}, 1002),
        ],
        deck_id=77,
    )
    (root / "Spanish.md").write_text(deckfile.write(verbs), encoding="utf-8")
    sub = Deck([Note("Cloze", {"Text": "{{c1::Hablo}} español", "Extra": "yo"}, 1003)], 78)
    (root / "Spanish__Verbs.md").write_text(deckfile.write(sub), encoding="utf-8")
    (root / "media").mkdir()
    (root / "media" / "ser.png").write_bytes(PNG_A)
    (root / "README.md").write_text("not a deck\n", encoding="utf-8")
    return root


def decks_of(root: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in deckfile.deck_files(root)}


def test_json_round_trip_of_the_tutorial_and_decks_is_lossless(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    doc = share.serialize(src)
    assert doc["schema"] == share.SCHEMA and doc["version"] == share.VERSION
    assert [d["name"] for d in doc["decks"]] == [
        "Spanish",
        "Spanish::Verbs",
        "ankiops-git Tutorial",
    ]
    assert doc["decks"][0]["deck_id"] == 77 and doc["decks"][0]["notes"][0]["note_id"] == 1001
    path = tmp_path / "decks.json"
    path.write_text(share.dumps(doc), encoding="utf-8")
    done = share.deserialize(path, tmp_path / "b")
    assert decks_of(tmp_path / "b") == decks_of(src)  # byte for byte, ids included
    assert done.notes == 3 + TUTORIAL.count("\n---\n") + 1
    assert not (tmp_path / "b" / "media").exists()  # JSON alone carries no media
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.startswith(".ankiops-staging")]


VOCAB_TOML = """
[note_types.Vocab]
fields = [["W", "Word"], ["D", "Definition"]]
templates = "note-types/Vocab"

[note_types.Basic]
fields = [["Fr", "Front"], ["Bk", "Back"]]
"""


def with_declared_types(root: Path) -> Path:
    """make_repo's repository, declaring a note type of its own (cards and CSS as files)
    and mapping Anki's Basic, with a deck of their notes."""
    make_repo(root)
    (root / "ankiops.toml").write_text(VOCAB_TOML, encoding="utf-8")
    folder = root / "note-types" / "Vocab"
    folder.mkdir(parents=True)
    (folder / "Card 1.front.html").write_text("{{Word}}", encoding="utf-8")
    (folder / "Card 1.back.html").write_text("{{FrontSide}}<hr id=answer>{{Definition}}", "utf-8")
    (folder / "style.css").write_text(".card { color: navy; }", encoding="utf-8")
    (root / "Words.md").write_text(
        "<!-- note_id: 2001 -->\nW: perro\nD: *dog*\n\n---\n\nFr: hola\nBk: hello\n", "utf-8"
    )
    return root


def test_declared_note_types_travel_with_the_document(tmp_path: Path) -> None:
    """A document of decks with notes of declared types carries the declarations (and
    a declared type's cards and CSS); deserialize declares them where it writes, so the
    new repository reads the same notes. A folder that has the type already keeps its
    declaration."""
    src = with_declared_types(tmp_path / "a")
    doc = share.serialize(src, ["Words"])
    assert [t["name"] for t in doc["note_types"]] == ["Vocab", "Basic"]
    vocab = doc["note_types"][0]
    assert vocab["cards"] == [
        {"name": "Card 1", "front": "{{Word}}", "back": "{{FrontSide}}<hr id=answer>{{Definition}}"}
    ]
    assert "cards" not in doc["note_types"][1]  # mapped: Anki's own Basic
    path = tmp_path / "decks.json"
    path.write_text(share.dumps(doc), encoding="utf-8")
    done = share.deserialize(path, tmp_path / "b")
    assert done.declared == ["Basic", "Vocab"] and done.notes == 2
    assert decks_of(tmp_path / "b") == {"Words.md": decks_of(src)["Words.md"]}
    types = load_config(tmp_path / "b").note_types
    assert types.by_key["Vocab"].card_templates == types_of(src).by_key["Vocab"].card_templates
    assert types.by_key["Vocab"].css == ".card { color: navy; }"
    assert types.by_key["Basic"].origin == "mapped"
    # again into the same folder: the declarations are there, nothing is added
    again = share.deserialize(path, tmp_path / "b", overwrite=True)
    assert again.declared == []
    assert (tmp_path / "b" / "ankiops.toml").read_text(encoding="utf-8").count("[note_types.") == 2
    # a folder that declares Vocab with other prefixes: refused, nothing written
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ankiops.toml").write_text(
        '[note_types.Vocab]\nfields = [["Wo", "Word"], ["De", "Definition"]]\n', "utf-8"
    )
    with pytest.raises(share.ShareError, match="'Vocab' is declared here with other fields"):
        share.deserialize(path, tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["ankiops.toml"]


def types_of(root: Path) -> NoteTypes:
    return load_config(root).note_types


def test_no_ids_and_deck_selection(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    doc = share.serialize(src, ["Spanish"], subdecks=True, ids=False)
    assert [d["name"] for d in doc["decks"]] == ["Spanish", "Spanish::Verbs"]
    assert "deck_id" not in json.dumps(doc) and "note_id" not in json.dumps(doc)
    only = share.serialize(src, ["Spanish"], subdecks=False)
    assert [d["name"] for d in only["decks"]] == ["Spanish"]
    with pytest.raises(share.ShareError, match="no deck 'French'"):
        share.serialize(src, ["French"])
    path = tmp_path / "x.json"
    path.write_text(share.dumps(doc), encoding="utf-8")
    share.deserialize(path, tmp_path / "b")
    back = deckfile.parse((tmp_path / "b" / "Spanish.md").read_text(encoding="utf-8"))
    assert back.deck_id is None and [n.note_id for n in back.notes] == [None, None]
    assert back.notes[0].fields["Question"] == "ser ![](media/ser.png)"


def test_zip_carries_media_and_same_content_is_the_same_file(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    out = tmp_path / "share.zip"
    written = share.write_archive(src, share.serialize(src), out)
    assert written.media == 1 and written.missing == []
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["decks.json", "media/ser.png"]
    target = tmp_path / "b"
    (target / "media").mkdir(parents=True)
    (target / "media" / "ser.png").write_bytes(PNG_A)  # the same file already there
    done = share.deserialize(out, target)
    assert (done.media_new, done.media_same, done.renamed) == (0, 1, {})
    assert tree(target) == {k: v for k, v in tree(src).items() if k != "README.md"}


def test_other_content_under_a_media_name_is_renamed_and_references_follow(
    tmp_path: Path,
) -> None:
    src = make_repo(tmp_path / "a")
    out = tmp_path / "share.zip"
    share.write_archive(src, share.serialize(src), out)
    target = tmp_path / "b"
    (target / "media").mkdir(parents=True)
    (target / "media" / "ser.png").write_bytes(PNG_B)  # another picture of that name
    done = share.deserialize(out, target)
    new = done.renamed["ser.png"]
    assert new.startswith("ser-") and new.endswith(".png")
    assert (target / "media" / "ser.png").read_bytes() == PNG_B  # untouched
    assert (target / "media" / new).read_bytes() == PNG_A
    text = (target / "Spanish.md").read_text(encoding="utf-8")
    assert f"![](media/{new})" in text and "media/ser.png" not in text
    # Again into the same folder (overwriting the decks): the renamed file is reused.
    again = share.deserialize(out, target, overwrite=True)
    assert again.renamed == {"ser.png": new} and again.media_new == 0
    assert sorted(p.name for p in (target / "media").iterdir()) == sorted(["ser.png", new])


def test_rename_references_only_touches_media_targets() -> None:
    text = "see ![a](media/x.png) and [sound:media/x.png] but not `media/x.png` text ![](y/x.png)"
    out = share.rename_references(text, {"x.png": "x-1.png"})
    assert out == (
        "see ![a](media/x-1.png) and [sound:media/x-1.png] but not `media/x.png` text ![](y/x.png)"
    )


def test_an_existing_deck_file_is_never_overwritten_silently(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "a")
    out = tmp_path / "share.zip"
    share.write_archive(src, share.serialize(src), out)
    target = tmp_path / "b"
    target.mkdir()
    (target / "Spanish.md").write_text("Q: mine\nA: keep\n", encoding="utf-8")
    before = tree(target)
    with pytest.raises(share.ShareError, match="--overwrite"):
        share.deserialize(out, target)
    assert tree(target) == before  # neither decks nor media written
    share.deserialize(out, target, overwrite=True)
    assert (target / "Spanish.md").read_text(encoding="utf-8") == (src / "Spanish.md").read_text(
        encoding="utf-8"
    )


def _zip_with(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def _doc_bytes() -> bytes:
    doc = {"schema": share.SCHEMA, "version": 1, "decks": [{"name": "D", "notes": []}]}
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "name",
    ["../evil.md", "media/../../evil.png", "/etc/evil", "C:/evil.md", "media\\..\\evil.png"],
)
def test_zip_slip_entries_are_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    bad = _zip_with(tmp_path / "bad.zip", [("decks.json", _doc_bytes()), (name, b"x")])
    target = tmp_path / "out"
    with pytest.raises(archive.ArchiveError, match="nothing was written"):
        share.deserialize(bad, target)
    assert not target.exists() or tree(target) == {}
    assert not (tmp_path / "evil.md").exists() and not (tmp_path / "evil.png").exists()


def test_symlink_entries_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("media/link.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bad = _zip_with(tmp_path / "bad.zip", [("decks.json", _doc_bytes()), (link, b"/etc/passwd")])
    with pytest.raises(archive.ArchiveError, match="symbolic link"):
        share.deserialize(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "media").exists()


def test_size_limit_and_damaged_archives_are_clear_errors(tmp_path: Path) -> None:
    big = _zip_with(
        tmp_path / "big.zip", [("decks.json", _doc_bytes()), ("media/a.png", b"\0" * 3_000_000)]
    )
    with pytest.raises(archive.ArchiveError, match="more than the limit of 2 MB"):
        share.deserialize(big, tmp_path / "out", max_bytes=2_000_000)
    assert share.deserialize(big, tmp_path / "ok", max_bytes=4_000_000).media_new == 1

    good = _zip_with(tmp_path / "good.zip", [("decks.json", _doc_bytes())]).read_bytes()
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    (tmp_path / "garbage.zip").write_bytes(b"PK\x03\x04" + b"\xff" * 64)
    flipped = bytearray(good)
    flipped[good.index(b"schema")] ^= 0xFF  # the stored data no longer matches its CRC
    (tmp_path / "crc.zip").write_bytes(bytes(flipped))
    for name in ("cut.zip", "garbage.zip", "crc.zip"):
        with pytest.raises(AnkiOpsError, match="nothing was written"):
            share.deserialize(tmp_path / name, tmp_path / "out")
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == {}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"version": 1, "decks": []}, "not an ankiops-git shared deck"),
        ({"schema": share.SCHEMA, "version": 99, "decks": []}, "newer ankiops-git"),
        (
            {"schema": share.SCHEMA, "version": 1, "decks": [{"name": "D", "notes": [{}]}]},
            "note type None",
        ),
        (
            {
                "schema": share.SCHEMA,
                "version": 1,
                "decks": [{"name": "D", "notes": [{"note_type": "QA", "fields": {"Bogus": "x"}}]}],
            },
            "Bogus not a field of QA",
        ),
        (
            {
                "schema": share.SCHEMA,
                "version": 1,
                "decks": [
                    {"name": "D", "notes": [{"note_type": "QA", "fields": {"Question": "a\n---"}}]}
                ],
            },
            "cannot be written as a deck file",
        ),
    ],
)
def test_bad_documents_are_refused(tmp_path: Path, doc: object, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(share.ShareError, match=message):
        share.deserialize(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == {}


def generated_repo(root: Path, notes: int = 1000, pictures: int = 100) -> Path:
    """`notes` notes of every type over notes / 50 decks, showing `pictures` pictures."""
    root.mkdir(parents=True)
    (root / "media").mkdir()
    for k in range(pictures):
        (root / "media" / f"pic_{k}.png").write_bytes(b"\x89PNG" + k.to_bytes(4, "big") * 50)
    decks: dict[str, Deck] = {}
    for i in range(notes):
        name = f"Gen::Deck {i // 50:02d}"
        kind = i % 5
        pic = f"![figure {i}](media/pic_{(i // 5) % pictures}.png)"
        if kind == 0:
            note = Note("QA", {"Question": f"What is *{i}*?", "Answer": f"{i}\n\n{pic}"})
        elif kind == 1:
            note = Note("Reversed", {"Front": f"front {i}", "Back": f"back `{i}`"})
        elif kind == 2:
            note = Note("Cloze", {"Text": f"{{{{c1::{i}}}}} is a number", "Extra": pic})
        elif kind == 3:
            note = Note("Input", {"Question": f"Type {i}", "Input": str(i)})
        else:
            note = Note("Choice", {"Question": f"Which is {i}?", "Choice 1": str(i), "Answer": "1"})
        note.note_id = 1_700_000_000_000 + i
        note.tags = [f"t{i % 7}", "gen::x"]
        decks.setdefault(name, Deck(deck_id=1000 + i // 50)).notes.append(note)
    for name, deck in decks.items():
        (root / deckfile.filename_for_deck(name)).write_text(deckfile.write(deck), encoding="utf-8")
    return root


def test_generated_thousand_notes_with_media_round_trip_through_zip(tmp_path: Path) -> None:
    src = generated_repo(tmp_path / "a")
    out = tmp_path / "all.zip"
    written = share.write_archive(src, share.serialize(src), out)
    assert (written.decks, written.notes, written.media) == (20, 1000, 100)
    share.deserialize(out, tmp_path / "b")
    assert tree(tmp_path / "b") == tree(src)


def test_cli_serialize_and_deserialize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_repo(tmp_path / "a")
    monkeypatch.chdir(src)
    runner = CliRunner()
    shown = runner.invoke(cli, ["serialize", "--deck", "Spanish", "--no-subdecks", "--no-ids"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert [d["name"] for d in doc["decks"]] == ["Spanish"]
    zipped = runner.invoke(cli, ["serialize", "--include-media", "-o", str(tmp_path / "s.zip")])
    assert zipped.exit_code == 0 and "1 media file(s)" in zipped.output
    refused = runner.invoke(cli, ["serialize", "--include-media"])
    assert refused.exit_code == 1 and "-o FILE.zip" in refused.output
    target = tmp_path / "b"
    done = runner.invoke(cli, ["deserialize", str(tmp_path / "s.zip"), "--directory", str(target)])
    assert done.exit_code == 0, done.output
    assert "3 deck file(s)" in done.output and (target / "media" / "ser.png").is_file()
    again = runner.invoke(cli, ["deserialize", str(tmp_path / "s.zip"), "--directory", str(target)])
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert "Traceback" not in again.output
    _zip_with(tmp_path / "slip.zip", [("decks.json", _doc_bytes()), ("../x", b"")])
    slip = runner.invoke(cli, ["deserialize", str(tmp_path / "slip.zip"), "--directory", "c"])
    assert slip.exit_code == 1 and "`..` step" in slip.output and not (src / "c").exists()
