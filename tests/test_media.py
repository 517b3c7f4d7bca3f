"""Which media files a push brings to Anki (media.py)."""

from __future__ import annotations

import pygit2

from ankiops_git.media import MediaFile, media_to_push, referenced_names, unstorable


def test_referenced_names_are_names_without_a_folder() -> None:
    html = (
        '<img src="a.png"><img alt="x" src=\'b c.jpg\'><IMG SRC=d.gif>'
        '<img src="https://example.org/e.png"><img src="sub/f.png"><img src="data:image/png;,">'
        '[sound:word.mp3] [sound:../up.mp3] <img src="what?.png"> [sound:a:b.mp3]'
    )
    assert referenced_names(html) == {
        "a.png",
        "b c.jpg",
        "d.gif",
        "word.mp3",
        "what?.png",
        "a:b.mp3",
    }
    assert referenced_names("no media <b>here</b>") == set()


def test_names_anki_would_change_are_refused_with_where_they_are_used() -> None:
    found = [
        MediaFile("fine name.png", "media/fine name.png", "A.md:3"),
        MediaFile("what?.png", "media/what?.png", "A.md:7"),
        MediaFile("a:b|c.png", "media/a:b|c.png", "media/a:b|c.png"),
    ]
    lines = unstorable(found)
    assert len(lines) == 2
    assert lines[0].startswith("A.md:7: media file media/what?.png: Anki drops '?'")
    assert lines[1].startswith("media/a:b|c.png: media file media/a:b|c.png: Anki drops ':|'")


def test_media_to_push_looks_in_media_then_beside_the_decks() -> None:
    oid = pygit2.Oid(hex="1" * 40)
    files = {
        "media/a.png": (oid, 0o100644),
        "a.png": (oid, 0o100644),
        "b.png": (oid, 0o100644),
        "Deck.md": (oid, 0o100644),
        "media/changed.png": (oid, 0o100644),
        "media/untouched.png": (oid, 0o100644),
    }
    fields = [
        ("Deck.md:3", '<img src="a.png"><img src="b.png">'),
        ("Deck.md:9", '<img src="missing.png">'),
        ("Deck.md:12", "[sound:Deck.md]"),
    ]
    changed = ["media/changed.png", "Deck.md", "media/gone.png"]
    assert media_to_push(fields, files, changed) == [
        MediaFile("a.png", "media/a.png", "Deck.md:3"),
        MediaFile("b.png", "b.png", "Deck.md:3"),
        MediaFile("changed.png", "media/changed.png", "media/changed.png"),
    ]
