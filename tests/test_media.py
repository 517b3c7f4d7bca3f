"""Which media files a push brings to Anki (media.py)."""

from __future__ import annotations

import pygit2

from ankiops_git.media import MediaFile, media_to_push, referenced_names


def test_referenced_names_are_plain_media_names_only() -> None:
    html = (
        '<img src="a.png"><img alt="x" src=\'b c.jpg\'><IMG SRC=d.gif>'
        '<img src="https://example.org/e.png"><img src="sub/f.png"><img src="data:image/png;,">'
        "[sound:word.mp3] [sound:../up.mp3]"
    )
    assert referenced_names(html) == {"a.png", "b c.jpg", "d.gif", "word.mp3"}
    assert referenced_names("no media <b>here</b>") == set()


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
    fields = ['<img src="a.png"><img src="b.png">', '<img src="missing.png">', "[sound:Deck.md]"]
    changed = ["media/changed.png", "Deck.md", "media/gone.png"]
    assert media_to_push(fields, files, changed) == [
        MediaFile("a.png", "media/a.png"),
        MediaFile("b.png", "b.png"),
        MediaFile("changed.png", "media/changed.png"),
    ]
