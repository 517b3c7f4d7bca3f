"""Media both ways, end to end (issue 15): real git repos with hooks, on every backend.

Uses the `world` fixture of test_sync_e2e.py: a repository after `ankiops-git init` on a
seeded collection (collection file, AnkiConnect stand-in, real Anki desktop).
"""

from __future__ import annotations

from pathlib import Path

import test_sync_e2e
from test_sync_e2e import World, add_managed

# The fixtures of test_sync_e2e.py, by name: `world` and the templates it copies.
world = test_sync_e2e.world
templates = test_sync_e2e.templates


def anki_media(world: World) -> dict[str, bytes]:
    """Every file in Anki's media folder."""
    with world.anki() as col:
        folder = Path(col.media.dir())
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def put_in_anki_media(world: World, name: str, data: bytes) -> None:
    """A file in Anki's media folder, as Anki's editor puts a pasted picture there."""
    with world.anki() as col:
        folder = Path(col.media.dir())
    (folder / name).write_bytes(data)


def add_note_in_anki(world: World, deck: str, question: str, answer: str) -> int:
    with world.anki() as col:
        return int(add_managed(col, deck, "AnkiOpsQA", Question=question, Answer=answer))


def picture(seed: int, size: int = 2048) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes((seed + i * 7) % 256 for i in range(size))


def test_a_picture_added_in_anki_arrives_in_media_by_git_pull(world: World) -> None:
    photo = picture(1)
    put_in_anki_media(world, "paste-1a2b.jpg", photo)
    note_id = add_note_in_anki(
        world, "Spanish", "la playa?", 'The beach <img src="paste-1a2b.jpg" width="300">'
    )
    missing_id = add_note_in_anki(world, "Spanish", "el sol?", '<img src="nowhere.png">')
    pulled = world.git("pull", "anki")
    assert (world.root / "media" / "paste-1a2b.jpg").read_bytes() == photo
    assert not (world.root / "media" / "nowhere.png").exists()
    # a name Anki refers to and does not have: said, naming the note, not an error
    assert f"note {missing_id} shows media file 'nowhere.png'" in pulled.stderr, pulled.stderr
    assert "1 media file(s)" in pulled.stderr, pulled.stderr
    text = world.read("Spanish.md")
    assert f"<!-- note_id: {note_id} -->\nQ: la playa?\nA: The beach " in text
    assert "paste-1a2b.jpg){width=300}" in text, text
    assert world.git("status", "--porcelain").stdout == ""
    # the picture is tracked, and a pull with nothing new does nothing
    assert world.git("ls-files", "media").stdout.split() == ["media/paste-1a2b.jpg"]
    head = world.rev("HEAD")
    assert "Already up to date" in world.git("pull", "anki").stdout
    assert world.rev("HEAD") == head
    # an edit of that note in Anki: the picture, unchanged, is not written again
    world.set_field(note_id, "Question", "la playa (f)?")
    pulled = world.git("pull", "anki")
    assert "media file(s)" not in pulled.stderr, pulled.stderr
    changed = world.git("diff", "--name-only", head, "HEAD").stdout.split()
    assert changed == ["Spanish.md"]
    # a picture changed in Anki under the same name comes along; the file pushed back
    # to Anki is byte for byte what Anki had
    redone = picture(2)
    put_in_anki_media(world, "paste-1a2b.jpg", redone)
    world.set_field(note_id, "Question", "la playa (la)?")
    world.git("pull", "anki")
    assert (world.root / "media" / "paste-1a2b.jpg").read_bytes() == redone
    assert anki_media(world)["paste-1a2b.jpg"] == redone
