"""What only real Anki desktop with the real AnkiConnect add-on shows (the `real` tier).

Each case here failed for a user on the real pair while the stand-in passed: the
tutorial refused by the add-on's note check, notes landing in Default while Anki's
Browser is open. The same cases on the other backends live beside their peers.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from realanki import RealAnki
from test_sync_e2e import World, init_repo, world  # noqa: F401 (fixtures)

from ankiops_git import deckfile

pytestmark = pytest.mark.real_anki
REAL = [pytest.param("real", marks=pytest.mark.real_anki)]


def ankiconnect(url: str, action: str, **params: object) -> object:
    body = json.dumps({"action": action, "version": 6, "params": params}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as reply:
        answer = json.loads(reply.read())
    assert answer["error"] is None, answer
    return answer["result"]


def test_tutorial_through_init_on_a_new_profile(real_anki: RealAnki, tmp_path: Path) -> None:
    """The tutorial's cloze note has {{c1:: in E:, which the add-on's default note check
    refused ("cannot create note for unknown reason"), and with it every note."""
    root = tmp_path / "decks"
    env = git_env(tmp_path)
    init_repo(root, real_anki.url, env, "--tutorial")
    (path,) = deckfile.deck_files(root)
    deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
    assert all(n.note_id is not None for n in deck.notes)
    assert real_anki.col.db.scalar("select count() from notes") == len(deck.notes)
    cloze = next(n for n in deck.notes if n.note_type == "Cloze")
    extra = real_anki.col.db.scalar("select flds from notes where id = ?", cloze.note_id).split(
        "\x1f"
    )[1]
    assert "{{c1::" in extra  # kept as text, as written
    status = subprocess_run(root, env, str(VENV_BIN / "ankiops-git"), "status")
    assert "no changes in Anki" in status and "nothing to push" in status


def subprocess_run(cwd: Path, env: dict[str, str], *args: str) -> str:
    import subprocess

    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("world", REAL, indirect=True)
def test_a_2000_note_push_with_the_browser_open_puts_every_card_in_its_deck(
    world: World,  # noqa: F811
) -> None:
    """With the Browser open, the add-on put 0.2-1% of added notes into Default."""
    ankiconnect(world.spec, "guiBrowse", query="deck:Spanish")
    for d in range(10):
        notes = [f"Q: Browser {d}-{i}?\nA: Answer {i}\n" for i in range(200)]
        world.write(f"Bulk{d}.md", "\n---\n\n".join(notes))
    world.git("add", "-A")
    commit = world.git("commit", "-m", "2000 notes")
    assert "anki (pushed): 2000 added" in commit.stderr, commit.stderr
    with world.anki() as col:
        strays = col.db.all(
            "select n.flds, d.name from cards c join notes n on n.id = c.nid "
            "join decks d on d.id = c.did where n.flds like 'Browser %'"
        )
    assert len(strays) == 2000
    wrong = [(q, deck) for q, deck in strays if deck != "Bulk" + q.split()[1].split("-")[0]]
    assert wrong == []
    assert world.rev("HEAD") == world.rev("anki/main")
    assert "Default.md" not in world.deck_files()
    assert all("<!-- note_id: " in world.read(f"Bulk{d}.md") for d in range(10))
