"""Which media files a push brings to Anki (media.py)."""

from __future__ import annotations

import pygit2

from ankiops_git.media import (
    MediaFile,
    links,
    media_to_push,
    referenced_names,
    unstorable,
)


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


def test_media_to_push_takes_files_in_media_that_notes_refer_to() -> None:
    oid = pygit2.Oid(hex="1" * 40)
    files = {
        "media/a.png": (oid, 0o100644),
        "b.png": (oid, 0o100644),  # beside the decks: never sent
        "ankiops.toml": (oid, 0o100644),
        "Deck.md": (oid, 0o100644),
        "media/changed.png": (oid, 0o100644),
        "media/unused.png": (oid, 0o100644),
        "media/untouched.png": (oid, 0o100644),
    }
    fields = [
        ("Deck.md:3", '<img src="a.png"><img src="b.png">'),
        ("Deck.md:9", '<img src="missing.png"><img src="ankiops.toml">'),
        ("Deck.md:12", "[sound:Deck.md]"),
    ]
    changed = ["media/changed.png", "media/unused.png", "Deck.md", "media/gone.png"]
    assert media_to_push(fields, files, changed, lambda name: name != "unused.png") == [
        MediaFile("a.png", "media/a.png", "Deck.md:3"),
        MediaFile("changed.png", "media/changed.png", "media/changed.png"),
    ]


def test_a_symbolic_link_in_media_is_refused() -> None:
    oid = pygit2.Oid(hex="1" * 40)
    files = {"media/p.png": (oid, 0o120000), "media/q.png": (oid, 0o100644)}
    found = media_to_push([("A.md:2", '<img src="p.png"><img src="q.png">')], files, [])
    assert links(found, files) == [
        "A.md:2: media file media/p.png is a symbolic link; ankiops-git sends only files the "
        "repository holds. Replace the link by the file itself, then commit again."
    ]
