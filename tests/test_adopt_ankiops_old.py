"""Moving over from the older AnkiOps (0.3/0.4: `<!-- note_id: N -->` and `<!-- deck_id:
N -->` comments, a `.ankiops` marker, no .ankiops.db): folders and collections made by
the published AnkiOps 0.4.1 (tests/ankiops_peer.py, on real Anki) adopted by
`ankiops-git init`; what differs from our format (its `$` math, the sub/superscripts
its export drops, its media/ link to Anki's media folder, its fields we do not sync)
on the collection file, fast."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from anki.notes import NoteId
from ankiops_peer import (  # noqa: F401  (fixtures)
    OLD_VERSION,
    OLD_VERSIONS,
    PNG,
    Peer,
    _venv_or_skip,
    old_ankiops_peer,
)
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from realanki import RealAnki, in_anki
from test_sync_e2e import add_managed

from ankiops_git import deckfile
from ankiops_git.adopt import _old_math, exported_from
from ankiops_git.convert.ankiops import same_meaning
from ankiops_git.notetypes import BUILTIN


def _cli(folder: Path, env: dict[str, str], *args: str, ok: bool = True) -> str:
    done = subprocess.run(list(args), cwd=folder, env=env, capture_output=True, text=True)
    assert (done.returncode == 0) == ok, f"{args}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


@in_anki
def _cards(col: Any) -> dict[str, Any]:
    """What Anki shows and keeps: each note's id, mod time, type and fields; each card's
    question and answer as rendered, its deck and review state; the note types'
    templates and CSS."""
    notes = {
        str(nid): [mod, mid, flds, tags]
        for nid, mod, mid, flds, tags in col.db.all("select id, mod, mid, flds, tags from notes")
    }
    cards = {}
    for cid in col.db.list("select id from cards"):
        card = col.get_card(cid)
        cards[str(cid)] = [
            card.nid, card.did, card.ivl, card.due, card.reps,
            card.question(), card.answer(),
        ]  # fmt: skip
    models = {
        m["name"]: [
            m["css"],
            [(t["qfmt"], t["afmt"]) for t in m["tmpls"]],
            [f["name"] for f in m["flds"]],
        ]
        for m in col.models.all()
    }
    return {"notes": notes, "cards": cards, "models": models}


def _git_show(folder: Path, env: dict[str, str], spec: str) -> str | None:
    done = subprocess.run(["git", "show", spec], cwd=folder, env=env, capture_output=True)
    return done.stdout.decode("utf-8") if done.returncode == 0 else None


def _file_ids(folder: Path) -> list[int]:
    ids: list[int] = []
    for path in deckfile.deck_files(folder):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
        ids += [n.note_id for n in deck.notes if n.note_id is not None]
    return ids


def _adopts_cleanly(tmp_path: Path, folder: Path, real_anki: RealAnki, peer: Peer) -> str:
    """init on an AnkiOps 0.3/0.4 folder synced with Anki: the same note ids, each once,
    no conflict, nothing written to Anki's notes, cards (they render as before, reviews
    kept) or note types; the two 0.3 lacks (Reversed, Input) added, nothing else.
    AnkiOps' history kept; then pull and push change nothing. init's output."""
    ids_before = _file_ids(folder)
    texts = {p.name: p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder)}
    before = _cards(real_anki.col)
    assert sorted(ids_before) == sorted(int(i) for i in before["notes"])
    env = git_env(tmp_path)
    out = _cli(folder, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", real_anki.url)
    assert "differ" not in out and "conflict" not in out.lower(), out
    assert sorted(_file_ids(folder)) == sorted(ids_before)  # the same ids, each once
    after = _cards(real_anki.col)
    assert after["notes"] == before["notes"]  # nothing added, changed or removed
    assert after["cards"] == before["cards"]  # rendered alike, in their decks, reviews kept
    assert {n: m for n, m in after["models"].items() if n in before["models"]} == before["models"]
    added = set(after["models"]) - set(before["models"])
    assert added == ({"AnkiOpsReversed", "AnkiOpsInput"} if peer.version == "0.3.1" else set())
    assert _cli(folder, env, "git", "status", "--porcelain", "-uno").strip() == ""
    head = _cli(folder, env, "git", "rev-parse", "HEAD")
    history = _cli(folder, env, "git", "log", "--format=%s").splitlines()
    assert history[-1].startswith("AnkiOps: pre-import snapshot"), history
    commits = _cli(folder, env, "git", "rev-list", "HEAD").split()
    for name, text in texts.items():  # the files as AnkiOps left them are in git
        shown = (_git_show(folder, env, f"{commit}:{name}") for commit in commits)
        assert text in shown, name
    _cli(folder, env, "git", "pull", "-q", "anki")
    _cli(folder, env, "git", "push", "-q", "anki")
    assert _cli(folder, env, "git", "rev-parse", "HEAD") == head
    assert _cli(folder, env, "git", "rev-parse", "anki/main") == head
    assert _cards(real_anki.col) == after
    return out


@pytest.mark.real_anki
def test_init_adopts_the_old_ankiops_tutorial(
    tmp_path: Path,
    old_ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """AnkiOps 0.3.1's and 0.4.1's tutorial, sent to Anki (`ma`) and exported back
    (`am`)."""
    folder = tmp_path / "ankiops"
    old_ankiops_peer.tutorial(folder)
    old_ankiops_peer.run(folder, "am")
    text = (folder / "AnkiOps Tutorial.md").read_text(encoding="utf-8")
    assert text.startswith("<!-- deck_id: ") and text.count("<!-- note_id: ") == 5, text
    assert (folder / "media").is_symlink()
    out = _adopts_cleanly(tmp_path, folder, real_anki, old_ankiops_peer)
    assert "note_id format (0.3/0.4): 5 note(s) keep their note_id" in out, out
    assert not (folder / "media").is_symlink() and (folder / "media").is_dir()
    vscode = json.loads((folder / ".vscode" / "settings.json").read_text())
    assert vscode["markdown.copyFiles.destination"] == {"**/*.md": "media/"}, vscode


# Generated notes a test adopts: 2,000 with ANKIOPS_SOAK=1 (about 20 s each on real Anki).
NOTES = 2000 if os.environ.get("ANKIOPS_SOAK") else 300


@pytest.mark.real_anki
@pytest.mark.parametrize("exported", [False, True], ids=["after-ma", "after-ma-am"])
def test_init_adopts_generated_old_ankiops_notes_of_every_kind(
    tmp_path: Path,
    old_ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
    exported: bool,
) -> None:
    """NOTES generated notes of the note types of AnkiOps 0.3.1 (three) and 0.4.1
    (five, with its S:, AI: and C8:) and all the Markdown they render, sent to Anki
    (`ma`): the files hold `$x$` math, Anki `\\(x\\)`. Then, exported back (`am`):
    the files have lost their sub/superscripts (`x2` for `x<sup>2</sup>` in Anki).
    Either way nothing is added, changed or re-rendered in Anki, and nothing
    conflicts."""
    folder = tmp_path / "ankiops"
    old_ankiops_peer.generated(folder, NOTES)
    if exported:
        old_ankiops_peer.run(folder, "am")
    text = "".join(p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder))
    kinds = ["Q: ", "T: ", "C7: ", "E: ", "M: "]
    # 0.4's types, and its fields beyond ours (Source, AI Notes, Choice 8)
    kinds += (
        ["F: ", "I: ", "\nS: ", "\nAI: ", "\nC8: "]
        if old_ankiops_peer.version == OLD_VERSION
        else []
    )
    assert all(kind in text for kind in kinds)
    constructs = ("==important", "-->", "==>", "{width=150}", "```", "\\[\\sum_", "AnkiOpsMedia/")
    for construct in constructs:
        assert construct in text, construct
    assert ("x2 + " in text) == exported and ("x^2^" in text) != exported
    assert ("$$\\int" in text) != exported and ("$" in text) != exported  # export: \\[ \\(
    out = _adopts_cleanly(tmp_path, folder, real_anki, old_ankiops_peer)
    assert f"note_id format (0.3/0.4): {NOTES} note(s) keep their note_id" in out, out
    after = "".join(p.read_text(encoding="utf-8") for p in deckfile.deck_files(folder))
    assert "$" not in after and "x^2^" in after and "x2 + " not in after
    assert "media/AnkiOpsMedia/" not in after
    assert re.search(r"\]\(<?AnkiOpsMedia/pasted\.png>?\)", after)  # its export adds <>
    assert "image(s) in a subfolder of media/ written without `media/`" in out
    assert ("export had lost part of them" in out) == exported, out
    assert ("with $ math written as" in out) != exported, out
    assert (folder / "media" / "pic.png").read_bytes() == PNG  # the file the notes show
    assert os.listdir(folder / "media") == ["pic.png"]  # AnkiOpsMedia/ stays in Anki's


# --- on the collection file: each difference of the old format, by hand ---------------


def _old_folder(
    tmp_path: Path, col_path: Path, text: str, link: bool = True
) -> tuple[Path, dict[str, str]]:
    """A folder as AnkiOps 0.4 leaves it: its marker, media/ linked to Anki's media
    folder (or, not `link`, a folder of its own with a copy of pic.png), a git
    repository with its snapshot commit; `text` as Spanish.md."""
    root = tmp_path / "decks"
    root.mkdir()
    anki_media = col_path.with_suffix(".media")
    anki_media.mkdir(exist_ok=True)
    (anki_media / "pic.png").write_bytes(PNG)
    (root / ".ankiops").write_text(
        f"# AnkiOps collection\n\n[ankiops]\nprofile = User 1\nmedia_dir = {anki_media}\n"
    )
    if link:
        (root / "media").symlink_to(anki_media, target_is_directory=True)
    else:
        (root / "media").mkdir()
        (root / "media" / "pic.png").write_bytes(PNG)
    (root / "Spanish.md").write_text(text, encoding="utf-8")
    (root / ".vscode").mkdir()
    settings = {"markdown.copyFiles.destination": {"**/*.md": "media/AnkiOpsMedia/"}}
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=4) + "\n")
    env = git_env(tmp_path)
    _cli(root, env, "git", "init", "-q", "-b", "main")
    _cli(root, env, "git", "add", "-A", ".")
    _cli(root, env, "git", "commit", "-qm", "AnkiOps: pre-import snapshot")
    return root, env


def _rows(col_path: Path) -> list[tuple[Any, ...]]:
    col = Collection(str(col_path))
    try:
        assert col.db is not None
        return [tuple(r) for r in col.db.all("select id, mod, flds from notes order by id")]
    finally:
        col.close()


def _add(col_path: Path, tags: tuple[str, ...] = (), **fields: str) -> tuple[int, int]:
    col = Collection(str(col_path))
    try:
        note = add_managed(col, "Spanish", "AnkiOpsQA", **fields)
        if tags:
            added = col.get_note(NoteId(note))
            added.tags = list(tags)
            col.update_note(added)
        return note, int(col.decks.id("Spanish") or 0)
    finally:
        col.close()


def test_init_converts_an_old_ankiops_folder_on_the_collection_file(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """$ math as AnkiOps 0.4 sent it, a superscript its export dropped, its media link:
    the same note ids, Anki untouched, the file as Anki means it, AnkiOps' history
    kept, each change said; pull and push change nothing."""
    math, deck_id = _add(
        anki_collection_path, Question="Euler: \\(e^{i\\pi}\\)", Answer="\\[x^2\\] and \\(y\\) [1]"
    )
    sup, _ = _add(
        anki_collection_path,
        Question="Square [sic]?",
        Answer='x<sup>2</sup>, H<sub>2</sub>O, <span style="color: rgb(255, 0, 0);">red</span>',
    )
    pic, _ = _add(
        anki_collection_path,
        ("leech", "bio::cell"),  # tags: AnkiOps 0.4 never wrote them into its files
        Question="Picture?",
        Answer='<img src="pic.png" alt="">',
    )
    pasted, _ = _add(
        anki_collection_path,
        Question="Pasted?",
        Answer='<img src="AnkiOpsMedia/p.png" alt="p" style="width: 20px;">',
    )
    text = (
        f"<!-- deck_id: {deck_id} -->\n"
        f"<!-- note_id: {math} -->\nQ: Euler: $e^{{i\\pi}}$\nA: $$x^2$$ and $y$ \\[1\\]\n\n---\n\n"
        f"<!-- note_id: {sup} -->\nQ: Square \\[sic\\]?\nA: x2, H2O, red\n\n---\n\n"
        f"<!-- note_id: {pic} -->\nQ: Picture?\nA: ![](<media/pic.png>)\n\n---\n\n"
        f"<!-- note_id: {pasted} -->\nQ: Pasted?\nA: ![p](media/AnkiOpsMedia/p.png){{width=20}}\n"
    )
    root, env = _old_folder(tmp_path, anki_collection_path, text)
    before = _rows(anki_collection_path)

    out = _cli(
        root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)
    )
    assert "note_id format (0.3/0.4): 4 note(s) keep their note_id comments" in out, out
    assert "3 field(s) with $ math written as \\( \\) / \\[ \\] (and \\[x\\] that is" in out, out
    assert "1 field(s) written as Anki has them" in out, out
    assert "1 image(s) in a subfolder of media/ written without `media/`" in out, out
    assert "media/ was a link to" in out and "conflict" not in out.lower(), out
    assert "VS Code pastes pictures into media/, not media/AnkiOpsMedia/" in out, out
    vscode = json.loads((root / ".vscode" / "settings.json").read_text())
    assert vscode == {"markdown.copyFiles.destination": {"**/*.md": "media/"}}
    assert _rows(anki_collection_path) == before  # nothing added, nothing rewritten
    after = (root / "Spanish.md").read_text(encoding="utf-8")
    assert "Q: Euler: \\(e^{i\\pi}\\)\nA: \\[x^2\\] and \\(y\\) [1]\n" in after, after
    assert 'A: x^2^, H~2~O, <span style="color: rgb(255, 0, 0)">red</span>\n' in after, after
    assert "A: ![p](AnkiOpsMedia/p.png){width=20}\n" in after, after
    assert f"<!-- note_id: {pic} -->\n<!-- tags: bio::cell leech -->\nQ: Picture?" in after
    assert sorted(_file_ids(root)) == sorted([math, sup, pic, pasted])
    assert not (root / "media").is_symlink() and os.listdir(root / "media") == ["pic.png"]
    assert (anki_collection_path.with_suffix(".media") / "pic.png").read_bytes() == PNG
    assert _cli(root, env, "git", "status", "--porcelain", "-uno") == ""
    assert "120000" not in _cli(root, env, "git", "ls-tree", "HEAD")  # no link in git
    history = _cli(root, env, "git", "log", "--format=%s").splitlines()
    assert history[-1] == "AnkiOps: pre-import snapshot"
    head = _cli(root, env, "git", "rev-parse", "HEAD")
    _cli(root, env, "git", "pull", "-q", "anki")
    _cli(root, env, "git", "push", "-q", "anki")
    assert _cli(root, env, "git", "rev-parse", "HEAD") == head
    assert _rows(anki_collection_path) == before
    # An edit afterwards keeps the image where Anki has it.
    edited = after.replace("Q: Pasted?", "Q: Pasted! $5 or $6?")
    (root / "Spanish.md").write_text(edited, encoding="utf-8")
    _cli(root, env, "git", "commit", "-qam", "edit")
    assert _rows(anki_collection_path)[-1][2] == (
        'Pasted! $5 or $6?\x1f<img src="AnkiOpsMedia/p.png" alt="p" style="width: 20px;">\x1f\x1f'
    )
    # init again: the folder is ours now; a `$` is a dollar, nothing is converted.
    head = _cli(root, env, "git", "rev-parse", "HEAD")
    again = _cli(root, env, str(VENV_BIN / "ankiops-git"), "init")
    assert "note_id format" not in again and "math" not in again, again
    assert (root / "Spanish.md").read_text(encoding="utf-8") == edited
    assert _cli(root, env, "git", "rev-parse", "HEAD") == head


def test_init_commits_an_old_folders_own_media_folder(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """media/ a folder, not a link (AnkiOps 0.4 could not make one, or the user copied
    the files): adopted as it is, media/pic.png committed, nothing conflicts."""
    pic, deck_id = _add(anki_collection_path, Question="Picture?", Answer='<img src="pic.png">')
    text = f"<!-- deck_id: {deck_id} -->\n<!-- note_id: {pic} -->\nQ: Picture?\n"
    text += "A: ![](media/pic.png)\n"
    root, env = _old_folder(tmp_path, anki_collection_path, text, link=False)
    before = _rows(anki_collection_path)
    out = _cli(
        root, env, str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)
    )
    assert "media/ was a link" not in out and "conflict" not in out.lower(), out
    assert _cli(root, env, "git", "ls-files", "media") == "media/pic.png\n"
    assert _cli(root, env, "git", "status", "--porcelain") == ""
    assert _rows(anki_collection_path) == before


def _state(root: Path) -> dict[str, bytes | str]:
    """Every file in the folder (a link as its target), .git's objects and logs aside."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        if "objects" in p.parts or "logs" in p.parts:
            continue
        if p.is_symlink():
            out[str(p.relative_to(root))] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def test_a_failed_init_of_an_old_folder_leaves_it_as_it_was(
    tmp_path: Path, anki_collection_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """init fails after converting (Anki goes away during the first fetch): the deck
    file, the media link and the repository are as they were."""
    from ankiops_git import init as init_mod
    from ankiops_git import sync
    from ankiops_git.errors import AnkiOpsError

    note, deck_id = _add(anki_collection_path, Question="Euler", Answer="\\(e\\)")
    text = f"<!-- deck_id: {deck_id} -->\n<!-- note_id: {note} -->\nQ: Euler\nA: $e$\n"
    root, env = _old_folder(tmp_path, anki_collection_path, text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = _state(root)

    def broken(*args: object, **kwargs: object) -> None:
        assert not (root / "media").is_symlink()  # it had been replaced
        assert "\\(e\\)" in (root / "Spanish.md").read_text(encoding="utf-8")
        raise AnkiOpsError("Anki went away")

    monkeypatch.setattr(sync, "fetch_root", broken)
    with pytest.raises(AnkiOpsError, match="Anki went away"):
        init_mod.init(root, anki=str(anki_collection_path))
    assert _state(root) == before
    assert (root / "media").is_symlink() and (root / "media" / "pic.png").is_file()


@pytest.mark.parametrize(
    ("marker", "note", "line", "prefix"),
    [
        (".ankiops", "Q: two\nA: 2", "S: Wikipedia", "S"),
        (".ankiops", "Q: two\nC1: a\nC2: b\nA: 1", "C8: eight", "C8"),
        (".ankiops.db", "Q: two\nA: 2", "AI: a note by the model", "AI"),
        (".ankiops.db", "F: two\nB: 2", "D: ---", "D"),
    ],
)
def test_init_refuses_an_ankiops_field_the_type_in_anki_lacks_and_changes_nothing(
    tmp_path: Path, anki_collection_path: Path, marker: str, note: str, line: str, prefix: str
) -> None:
    """AnkiOps' fields beyond ours (0.4's Source, AI Notes, Choice 8; 0.6's AI Notes,
    Divider) are synced where Anki's type has them; a collection whose type lacks one
    (here a new one: init creates the types without them) refuses the note at its
    field's line, one message, nothing written: a field is never added behind the
    user's back."""
    root = tmp_path / "decks"
    root.mkdir()
    (root / marker).write_bytes(b"")
    # The same prefix inside a code block is text, to AnkiOps too.
    text = f"Q: one\nA: 1\n\n---\n\n{note}\n```\n{line}\n```\n{line}\n"
    (root / "Deck.md").write_text(text, encoding="utf-8")
    before = _state(root)
    done = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)],
        cwd=root,
        env=git_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    number = len(text.splitlines())
    assert f"Deck.md:{number}: `{prefix}:` is the field" in done.stderr, done.stderr
    assert "does not have" in done.stderr and "Nothing changed" in done.stderr
    assert done.stderr.count("Deck.md:") == 1
    assert _state(root) == before


def test_init_refuses_a_line_of_an_ankiops_type_it_does_not_know_and_changes_nothing(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    """`THA:` in a note no note_type line names, in a folder whose Anki lacks AnkiOps'
    hide-all type: refused at its line (AnkiOps read it as a field), nothing written."""
    root = tmp_path / "decks"
    root.mkdir()
    (root / ".ankiops.db").write_bytes(b"")
    (root / "Deck.md").write_text("Q: one\nA: 1\nTHA: {{c1::x}}\n", encoding="utf-8")
    before = _state(root)
    done = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)],
        cwd=root,
        env=git_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "Deck.md:3" in done.stderr and "AnkiOpsClozeHideAll" in done.stderr, done.stderr
    assert "Nothing changed" in done.stderr
    assert _state(root) == before


# Markdown of every kind, as AnkiOps 0.3/0.4 users wrote it.
SAMPLES = (
    "# Heading\ntext", "## Sub\n\npara", "text\n\n# Heading", "```\n```", "```python\n\n```",
    "- a\n- b\n\nafter", "1. a\n   - b\n\nafter", "> quote\n\ntext",
    "| a | b |\n| - | - |\n| 1 | 2 |\n\ntext", "a  \nb", "a\nb", "***bold italic***",
    "<b>raw</b> html", "a <br> b", "x &amp; y", "x < y & z", "see \\[1\\] ref", "a =/= b",
    "H~2~O ^x^", "~~del~~ ==mark==", "[link](https://a.b/c_(d))",
    "![](media/pic.png){width=100}", "$$\\frac{1}{2}$$", "text $x$ and $y$",
    "\\(a\\) \\[b\\]", "line1\n\n\n\nline2", "* star list\n* two", "+ plus", "1) paren list",
    "Setext\n===", "---x", "<div>div</div>", "`code with $x$`", "tab\tchar", "a\\*b\\*",
    "emoji \U0001f389", "x --> y ==> z", "cost $5 and $6", "$$a$$ b $$c$$",
)  # fmt: skip


def _run_old_ankiops(version: str, script: str, inputs: Sequence[str]) -> list[str]:
    """`script` run by that AnkiOps release's Python on `inputs` (JSON in, JSON out)."""
    venv = _venv_or_skip(version)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        input=json.dumps(list(inputs)),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


def _as_init_writes(field: str) -> str:
    """A field's Markdown as init writes it (adopt's math rewriting)."""
    lines = ("A: " + field).split("\n")
    _old_math(lines, BUILTIN)
    return "\n".join(lines).removeprefix("A: ")


_RENDER = """\
import json, sys
from ankiops.markdown_converter import MarkdownToHTML
converter = MarkdownToHTML()
print(json.dumps([converter.convert(text) for text in json.load(sys.stdin)]))
"""


@pytest.mark.real_anki  # needs the AnkiOps venvs, made where that tier runs
@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_the_old_markdown_means_what_ankiops_sent_to_anki_after_init(version: str) -> None:
    """Each sample as AnkiOps 0.3.1/0.4.1 rendered it into Anki; the sample as init
    writes it (adopt's math rewriting) means that HTML in ankiops-git's reading, so
    adopting it changes neither side."""
    rendered = _run_old_ankiops(version, _RENDER, SAMPLES)
    differ = []
    for text, html in zip(SAMPLES, rendered, strict=True):
        written = _as_init_writes(text)
        if not same_meaning(written, html):
            differ.append((text, written, html))
    assert differ == []


@pytest.mark.parametrize("release", ["0.4", "0.6"])
def test_init_refuses_a_profile_other_than_the_one_ankiops_linked(
    tmp_path: Path, anki_collection_path: Path, release: str
) -> None:
    """AnkiOps linked the folder to the profile "Work" (0.4 in `.ankiops`, 0.6 in
    .ankiops.db); Anki has "User 1" open: init says so and changes nothing, where it
    would have added every note of the files to the wrong profile."""
    note, deck_id = _add(anki_collection_path, Question="Euler", Answer="e")
    text = f"<!-- deck_id: {deck_id} -->\n<!-- note_id: {note} -->\nQ: Euler\nA: e\n"
    root, env = _old_folder(tmp_path, anki_collection_path, text)
    if release == "0.4":
        marker = (root / ".ankiops").read_text().replace("profile = User 1", "profile = Work")
        (root / ".ankiops").write_text(marker)
    else:
        with sqlite3.connect(root / ".ankiops.db") as db:
            db.execute("create table app_state (id integer primary key, profile_name text)")
            db.execute("insert into app_state values (1, 'Work')")
            db.execute("create table note_state (note_key text primary key, note_id integer)")
    before, rows = _state(root), _rows(anki_collection_path)
    done = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", "--anki", str(anki_collection_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    source = ".ankiops" if release == "0.4" else ".ankiops.db"
    assert f"Anki has profile 'User 1', but AnkiOps' {source} says 'Work'" in done.stderr
    assert _state(root) == before and _rows(anki_collection_path) == rows


# Answers as Anki's editor writes them, each in a QA note edited in Anki.
EDITOR_HTML = (
    "<div>first line</div><div>second line</div>",
    "one&nbsp;two&nbsp; three",
    "<b>bold</b> and <i>it</i> and <u>under</u>",
    '<font color="#ff0000">red</font> text',
    '<span style="background-color: rgb(255, 255, 0);">yellow</span> bg',
    "<ul><li>a</li><li>b</li></ul>",
    "<ol><li>one</li><li>two<ul><li>nested</li></ul></li></ol>",
    'link <a href="https://example.com/x_(y)">here</a>',
    "a<br>b<br><br>c",
    '<img src="pic.png">',
    "x<sub>2</sub> and <sup>n</sup>",
    "<div><b>Title</b></div><div><br></div><div>body</div>",
    "5 &lt; 6 &amp; 7 &gt; 3",
    "<code>inline()</code> code",
    "<pre>pre\n  block</pre>",
    "<table><tr><td>1</td><td>2</td></tr></table>",
    "plain $5 price",
    "<h2>Heading</h2>text",
    "<blockquote>quoted</blockquote>after",
    "tab\tand  double  spaces",
    "trailing break<br>",
    "1. typed in Anki, no list",
)


@in_anki
def _set_answer(col: Any, note_id: int, html: str) -> None:
    note = col.get_note(note_id)
    note["Answer"] = html
    col.update_note(note)


@pytest.mark.real_anki
def test_init_adopts_notes_edited_in_anki_and_exported_by_old_ankiops(
    tmp_path: Path,
    old_ankiops_peer: Peer,  # noqa: F811
    real_anki: RealAnki,
) -> None:
    """Answers edited in Anki's editor (lines as <div>s, &nbsp;, colours, lists, ...),
    then `ankiops am`: its export wrote them in its Markdown, losing some of it; init
    takes those from Anki, and nothing conflicts or changes in Anki."""
    folder = tmp_path / "ankiops"
    old_ankiops_peer.generated(folder, 115)  # 23 QA notes with 0.4.1's five types
    qa = real_anki.col.db.list(
        "select n.id from notes n join notetypes m on m.id = n.mid "
        "where m.name = 'AnkiOpsQA' order by n.id"
    )
    assert len(qa) >= len(EDITOR_HTML)
    for note_id, html in zip(qa, EDITOR_HTML, strict=False):
        _set_answer(real_anki.col, note_id, html)
    old_ankiops_peer.run(folder, "am")
    out = _adopts_cleanly(tmp_path, folder, real_anki, old_ankiops_peer)
    assert "field(s) written as Anki has them" in out, out


# More of what Anki's editor writes (text that reads as Markdown once exported: a
# list, a heading, code), and what AnkiOps 0.3/0.4's export made of it that init cannot
# read back as Anki has it: such a field conflicts on init (the user chooses). Two
# emphases side by side, an HTML comment.
EXPORT_SAMPLES = (
    *EDITOR_HTML,
    "<div>text</div>", "a<div>b</div>", "<div>a<br></div><div>b</div>", "<b></b>text",
    "<span>plain</span>", "a&nbsp;&nbsp;b", '<img src="pic.png" style="width: 120px;">',
    '<a href="https://x.y">https://x.y</a>', "<ul><li><b>x</b></li></ul>",
    "<div>[sound:a.mp3]</div>", "{{c1::cloze}}", "<p>para</p><p>two</p>",
    "<strong>s</strong> <em>e</em>", "x_y_z", "2 * 3 * 4", "a\\b", "<code>a*b</code>",
    "<s>strike</s>", "\\(x_1\\)", "$5", "<div>last</div><div><br></div>",
    "line<br>- not list", "1. not list", "# hash", "`tick`", "a &amp; *b*",
)  # fmt: skip
EXPORT_UNREADABLE = ("<i>a</i><i>b</i>", "a <!-- c --> b")

_EXPORT = """\
import json, sys
from ankiops.html_converter import HTMLToMarkdown
converter = HTMLToMarkdown()
print(json.dumps([converter.convert(html) for html in json.load(sys.stdin)]))
"""


@pytest.mark.real_anki  # needs the AnkiOps venvs, made where that tier runs
@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_what_the_old_export_wrote_is_read_as_anki_has_it(version: str) -> None:
    """Each field as AnkiOps 0.3.1/0.4.1's export (`ankiops am`) wrote it from Anki's
    HTML: after adopt's rewriting it means that HTML, or that HTML as the export kept
    it, or is Anki's plain text as it wrote it (adopt.exported_from: init then
    writes it as Anki has it); EXPORT_UNREADABLE are the exceptions, left to the user
    as conflicts."""
    samples = EXPORT_SAMPLES + EXPORT_UNREADABLE
    unreadable = []
    for html, exported in zip(samples, _run_old_ankiops(version, _EXPORT, samples), strict=True):
        written = _as_init_writes(exported)
        if not (same_meaning(written, html) or exported_from(written, html)):
            unreadable.append(html)
    assert tuple(unreadable) == EXPORT_UNREADABLE
