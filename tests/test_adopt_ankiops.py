"""Moving over from AnkiOps: folders and collections made by the published AnkiOps
(tests/ankiops_peer.py, on real Anki) adopted by `ankiops-git init`."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from ankiops_peer import Peer, _peer_venv, ankiops_peer  # noqa: F401  (fixtures)
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from realanki import RealAnki

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
    for path in deckfile.deck_files(folder):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
        ids += [n.note_id for n in deck.notes if n.note_id is not None]
    return ids


def _adopt(tmp_path: Path, folder: Path, real_anki: RealAnki) -> tuple[dict[str, str], str]:
    env = git_env(tmp_path)
    out = _cli(folder, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", real_anki.url)
    return env, out


def test_init_adopts_1000_ankiops_notes_with_their_ids_and_changes_nothing(
    tmp_path: Path,
    ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """A deck of 1,000 notes of the five shared types, made and synced by AnkiOps
    0.6.6, in the Markdown both tools render alike: after init every note keeps its
    id, nothing is added or changed in Anki, no conflict; pull and push change nothing."""
    folder = tmp_path / "ankiops"
    ankiops_peer.generated(folder, 1000, plain=True)
    keys = key_map(folder)
    before = _anki_notes(real_anki)
    assert len(keys) == 1000 and set(keys.values()) == set(before)

    env, out = _adopt(tmp_path, folder, real_anki)
    assert "1000 note_key comment(s) to note_id" in out and "differ" not in out, out
    ids = _file_ids(folder)
    assert sorted(ids) == sorted(keys.values())  # the same ids, each once
    assert _anki_notes(real_anki) == before  # nothing added, nothing rewritten
    # Committed; left as they were: what AnkiOps' own init leaves untracked.
    status = _cli(folder, env, "git", "status", "--porcelain").splitlines()
    assert status == ["?? .gitignore", "?? .vscode/", "?? llm/"]
    head = _cli(folder, env, "git", "rev-parse", "HEAD")
    assert "note_key" not in _cli(folder, env, "git", "show", "HEAD:Generated.md")
    history = _cli(folder, env, "git", "log", "--format=%s").splitlines()
    assert history[-1] == "AnkiOps: snapshot before files-to-anki"  # AnkiOps' history kept

    _cli(folder, env, "git", "pull", "-q", "anki")
    _cli(folder, env, "git", "push", "-q", "anki")
    assert _cli(folder, env, "git", "rev-parse", "HEAD") == head
    assert _anki_notes(real_anki) == before


_ID_LINE = re.compile(r"^<!-- (?:note_key|note_type|note_id|deck_id): .* -->\n", re.MULTILINE)


def _without_id_lines(text: str) -> str:
    return _ID_LINE.sub("", text).strip("\n")


def _adopts_cleanly(tmp_path: Path, folder: Path, real_anki: RealAnki) -> None:
    """init on an AnkiOps folder synced with Anki: the same note ids, each once, no
    conflict, nothing written to Anki, the files' Markdown kept; then pull and push
    change nothing."""
    keys = key_map(folder)
    before = _anki_notes(real_anki)
    texts = {p.name: p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder)}
    env, out = _adopt(tmp_path, folder, real_anki)
    assert "differ" not in out and "conflict" not in out.lower(), out
    assert sorted(_file_ids(folder)) == sorted(keys.values())
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
