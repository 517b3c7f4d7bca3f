"""Moving over from AnkiOps: folders and collections made by the published AnkiOps
(tests/ankiops_peer.py, on real Anki) adopted by `ankiops-git init`."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from ankiops_peer import PEER_KINDS, Peer, _peer_venv, ankiops_peer  # noqa: F401  (fixtures)
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from realanki import RealAnki

from ankiops_git import config as config_mod
from ankiops_git import deckfile

pytestmark = pytest.mark.real_anki


def key_map(folder: Path) -> dict[str, int]:
    """AnkiOps' own record: note_key -> Anki note id."""
    with sqlite3.connect(folder / ".ankiops.db") as db:
        return dict(db.execute("select note_key, note_id from note_state").fetchall())


def anki_keys(real_anki: RealAnki) -> dict[int, str]:
    """Anki's AnkiOps notes: note id -> their `AnkiOps Key` field."""
    rows = real_anki.col.db.all(
        "select n.id, n.flds, m.name from notes n join notetypes m on m.id = n.mid"
    )
    out: dict[int, str] = {}
    for note_id, flds, model in rows:
        assert model.startswith("AnkiOps"), (note_id, model)
        fields = real_anki.col.run(_field_names, model)
        out[note_id] = dict(zip(fields, flds.split("\x1f"), strict=True))["AnkiOps Key"]
    return out


def _field_names(col, model):  # type: ignore[no-untyped-def]
    return [f["name"] for f in col.models.by_name(model)["flds"]]


def test_the_peer_syncs_its_tutorial_into_real_anki(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    folder = tmp_path / "ankiops"
    ankiops_peer.tutorial(folder)
    keys = key_map(folder)
    assert len(keys) == 5
    text = (folder / "AnkiOps Tutorial.md").read_text(encoding="utf-8")
    assert all(f"<!-- note_key: {k} -->" in text for k in keys)
    assert anki_keys(real_anki) == {note_id: key for key, note_id in keys.items()}


def _anki_notes(real_anki: RealAnki) -> dict[int, tuple[int, str]]:
    """Every note in Anki: id -> (mod time, fields)."""
    return {
        i: (mod, flds) for i, mod, flds in real_anki.col.db.all("select id, mod, flds from notes")
    }


def _cli(folder: Path, env: dict[str, str], *args: str, ok: bool = True) -> str:
    done = subprocess.run(list(args), cwd=folder, env=env, capture_output=True, text=True)
    assert (done.returncode == 0) == ok, f"{args}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def _file_ids(folder: Path) -> list[int]:
    ids: list[int] = []
    types = config_mod.load(folder).note_types
    for path in deckfile.deck_files(folder):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name, types)
        ids += [n.note_id for n in deck.notes if n.note_id is not None]
    return ids


def _adopt(tmp_path: Path, folder: Path, real_anki: RealAnki) -> tuple[dict[str, str], str]:
    env = git_env(tmp_path)
    out = _cli(folder, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", real_anki.url)
    return env, out


# Generated notes of all AnkiOps 0.6.6's types the big adoption test makes: 1,000 in
# every `make test`, 5,000 with ANKIOPS_SOAK=1.
NOTES = 5000 if os.environ.get("ANKIOPS_SOAK") else 1000
# what each note type brings beyond the five types' Q/A/E/M: AnkiOps' fields and types
EXTRA_LINES = ("AI: ", "D: ", "C8: ", "THA: ", "IO_ID: ", "IO_IM: ", "IO_QM: ", "IO_H: ")


def test_init_adopts_1000_ankiops_notes_of_all_its_types_and_changes_nothing(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """A deck of 1,000 notes of all seven note types of AnkiOps 0.6.6, with its extra
    fields (AI:, D:, C8:) and the hide-all cloze and image occlusion types, made and
    synced by AnkiOps itself, in the Markdown both tools render alike: after init every
    note keeps its id, once; nothing is added or changed in Anki (notes, note types);
    the files change only in their id lines; no conflict; pull and push change nothing."""
    folder = tmp_path / "ankiops"
    ankiops_peer.generated(folder, NOTES, plain=True)
    keys = key_map(folder)
    assert len(keys) == NOTES and set(keys.values()) == set(_anki_notes(real_anki))
    types = _anki_types(real_anki)
    query = "select distinct m.name from notes n join notetypes m on m.id = n.mid"
    kinds = {name for (name,) in real_anki.col.db.all(query)}
    assert kinds == {f"AnkiOps{k}" for k in PEER_KINDS}, kinds
    text = "".join(p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder))
    for start in EXTRA_LINES:
        assert f"\n{start}" in text, start

    started = time.monotonic()
    env = _adopts_cleanly(tmp_path, folder, real_anki)
    seconds = time.monotonic() - started
    print(f"\n{NOTES} AnkiOps 0.6.6 notes of 7 types: init, pull, push in {seconds:.1f} s")
    out = _cli(folder, env, "git", "log", "--format=%B")
    assert "AnkiOpsClozeHideAll, AnkiOpsImageOcclusion declared" in out, out
    toml = (folder / "ankiops.toml").read_text(encoding="utf-8")
    assert '["THA", "Text"]' in toml and '["IO_QM", "Question Mask"]' in toml
    assert "AnkiOps Key" not in toml  # AnkiOps' own key stays AnkiOps'
    assert _anki_types(real_anki) == types  # their templates and fields, as AnkiOps made them
    assert "<!-- note_type:" not in _cli(folder, env, "git", "show", "HEAD:Generated.md")
    history = _cli(folder, env, "git", "log", "--format=%s").splitlines()
    assert history[-1] == "AnkiOps: snapshot before files-to-anki"  # AnkiOps' history kept


def _anki_types(real_anki: RealAnki) -> list[tuple[str, int, str]]:
    """Anki's note types: name, modification time, and everything a card is made of."""
    return sorted(
        (name, mtime, config)
        for name, mtime, config in real_anki.col.db.all(
            "select name, mtime_secs, quote(config) from notetypes"
        )
    )


_ID_LINE = re.compile(r"^<!-- (?:note_key|note_type|note_id|deck_id): .* -->\n", re.MULTILINE)


def _without_id_lines(text: str) -> str:
    return _ID_LINE.sub("", text).strip("\n")


def _adopts_cleanly(tmp_path: Path, folder: Path, real_anki: RealAnki) -> dict[str, str]:
    """init on an AnkiOps folder synced with Anki: the same note ids, each once, no
    conflict, nothing written to Anki, the files' Markdown kept; then pull and push
    change nothing. The git environment, for more."""
    keys = key_map(folder)
    before = _anki_notes(real_anki)
    texts = {p.name: p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder)}
    env, out = _adopt(tmp_path, folder, real_anki)
    assert "differ" not in out and "conflict" not in out.lower(), out
    assert f"{len(keys)} note_key comment(s) to note_id" in out, out
    ids = _file_ids(folder)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(keys.values())
    assert _anki_notes(real_anki) == before  # nothing added, nothing rewritten
    for name, text in texts.items():  # only the lines naming notes and decks changed
        assert _without_id_lines(folder.joinpath(name).read_text("utf-8")) == _without_id_lines(
            text
        ), name
    assert "[markdown]\nankiops = true" in (folder / "ankiops.toml").read_text(encoding="utf-8")
    assert _cli(folder, env, "git", "status", "--porcelain", "-uno").strip() == ""
    head = _cli(folder, env, "git", "rev-parse", "HEAD")
    _cli(folder, env, "git", "pull", "-q", "anki")
    _cli(folder, env, "git", "push", "-q", "anki")
    assert _cli(folder, env, "git", "rev-parse", "HEAD") == head
    assert _cli(folder, env, "git", "rev-parse", "anki/main") == head
    assert _anki_notes(real_anki) == before
    assert "<<<<<<<" not in "".join(t.read_text("utf-8") for t in deckfile.deck_files(folder))
    return env


def test_init_adopts_the_ankiops_tutorial_without_conflicts(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """AnkiOps' own tutorial: ==mark==, arrows, {width=N}, blocks joined by <br><br>,
    Pygments; Anki keeps AnkiOps' HTML and the files their Markdown."""
    folder = tmp_path / "ankiops"
    ankiops_peer.tutorial(folder)
    _adopts_cleanly(tmp_path, folder, real_anki)


def test_init_adopts_ankiops_markdown_of_every_kind_without_conflicts(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """300 generated notes using all the Markdown AnkiOps renders its own way
    (highlight, sub/superscript, arrows, image widths, several blocks a field, code)."""
    folder = tmp_path / "ankiops"
    ankiops_peer.generated(folder, 300, plain=False)
    text = "".join(p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder))
    for construct in ("==important", "~2~", "^2^", "-->", "==>", "=/=", "{width=150}", "```"):
        assert construct in text, construct
    _adopts_cleanly(tmp_path, folder, real_anki)


def test_edits_of_ankiops_own_fields_and_types_reach_anki_after_init(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """After init, a second push of an edited AI: line and THA: note reaches Anki, in
    the note types AnkiOps made (unchanged); a pull then writes nothing."""
    folder = tmp_path / "ankiops"
    ankiops_peer.generated(folder, 21, plain=True)
    env = _adopts_cleanly(tmp_path, folder, real_anki)
    types = _anki_types(real_anki)
    path = folder / "Generated.md"
    text = path.read_text(encoding="utf-8")
    ai = re.search(r"^AI: (.*)$", text, re.MULTILINE)
    tha = re.search(r"^THA: Hide-all \d+: ", text, re.MULTILINE)
    assert ai and tha, text
    text = text.replace(ai.group(0), "AI: rewritten by **me**").replace(
        tha.group(0), tha.group(0) + "{{c3::added}} "
    )
    path.write_text(text, encoding="utf-8")
    _cli(folder, env, "git", "commit", "-q", "-am", "edit AnkiOps' fields")
    assert _cli(folder, env, "git", "rev-parse", "anki/main") == _cli(
        folder, env, "git", "rev-parse", "HEAD"
    )
    fields = [flds for _, (_, flds) in _anki_notes(real_anki).items()]
    assert any("rewritten by <b>me</b>" in f for f in fields)
    assert any("{{c3::added}}" in f for f in fields)
    assert _anki_types(real_anki) == types
    head = _cli(folder, env, "git", "rev-parse", "HEAD")
    _cli(folder, env, "git", "pull", "-q", "anki")
    assert _cli(folder, env, "git", "rev-parse", "HEAD") == head
