"""Which media files a push brings to Anki (media.py)."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from ankiops_git import media as media_mod
from ankiops_git.anki.base import Backend
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


def test_read_media_many_reads_each_name_in_order_and_none_for_missing(
    backend: Backend,
) -> None:
    """The bulk read (one `multi` over AnkiConnect) answers as read_media does, per name."""
    backend.store_media("one.png", b"\x89PNG one")
    backend.store_media("two words.mp3", b"ID3 two")
    names = ["two words.mp3", "missing.png", "one.png"]
    assert backend.read_media_many(names) == [b"ID3 two", None, b"\x89PNG one"]
    assert backend.read_media_many([]) == []
    assert [backend.read_media(n) for n in names[:3]] == [b"ID3 two", None, b"\x89PNG one"]


class _MediaOnly:
    """A backend holding only media files, counting the names it was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def read_media_many(self, names: list[str]) -> list[bytes | None]:
        self.asked += names
        return [self.files.get(n) for n in names]


def test_fetch_media_writes_only_what_the_tree_lacks_or_holds_otherwise(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r"))
    same, old = b"same bytes", b"old bytes"
    files = {
        "media/same.png": (repo.create_blob(same), 0o100644),
        "media/changed.png": (repo.create_blob(old), 0o100644),
        "media/link.png": (repo.create_blob(b"/etc/passwd"), 0o120000),
        "media/known.png": (repo.create_blob(b"pushed"), 0o100644),
    }
    anki = _MediaOnly(
        {
            "same.png": same,
            "changed.png": b"new bytes",
            "new one.jpg": b"new",
            "link.png": b"x",
            "known.png": b"pushed",
            ".git": b"x",
        }
    )
    wanted = media_mod.names_of_notes(
        [
            (7, ['<img src="new one.jpg">', "[sound:missing.mp3]"]),
            (3, ['<img src="same.png"><img src="changed.png"><img src="link.png">']),
            (5, ['<img src="known.png"><img src=".git"><img src="missing.mp3">']),
        ]
    )
    assert wanted["missing.mp3"] == 5  # the first note by id that shows it
    steps: list[tuple[int, int]] = []
    got = media_mod.fetch_media(
        repo,
        anki,
        wanted,
        files,
        lambda d, t: steps.append((d, t)),
        ["known.png"],  # type: ignore[arg-type]
    )
    assert sorted(anki.asked) == ["changed.png", "missing.mp3", "new one.jpg", "same.png"]
    assert {p: bytes(repo.get(oid).data) for p, (oid, _) in got.files.items()} == {  # type: ignore[union-attr]
        "media/changed.png": b"new bytes",
        "media/new one.jpg": b"new",
    }
    assert got.missing == {"missing.mp3": 5} and got.read == 3
    assert steps == [(4, 4)]
    assert got.warnings() == [
        "anki: note 5 shows media file 'missing.mp3', which Anki's media folder does not "
        "have (Anki shows it broken too); nothing to fetch for it"
    ]


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("![](media/x.png)", '<img src="x.png">'),
        ("![a cell](<media/cell diagram.png>)", '<img src="cell diagram.png" alt="a cell">'),
        ("![](media/x.png){width=300}", '<img src="x.png" width="300">'),
        ("a ![](media/x.png) b", 'a <img src="x.png"> b'),
        ("[sound:media/pron.mp3]", "[sound:pron.mp3]"),
        ("**a** [sound:media/pron.mp3]", "<b>a</b> [sound:pron.mp3]"),
        # the plain form of older repositories still names Anki's file
        ("![](x.png)", '<img src="x.png">'),
        ("[sound:pron.mp3]", "[sound:pron.mp3]"),
        # not a file of media/: as written
        ("![](https://e.org/x.png)", '<img src="https://e.org/x.png">'),
        ("![](media/sub/x.png)", '<img src="media/sub/x.png">'),
        ("[sound:media/..]", "[sound:media/..]"),
    ],
)
def test_markdown_names_media_by_their_path_in_the_repository(markdown: str, html: str) -> None:
    from ankiops_git.convert import html_equal, md_to_html

    assert html_equal(md_to_html(markdown), html), md_to_html(markdown)


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ('<img src="x.png">', "![](media/x.png)"),
        ('<img src="x.png" width="300">', "![](media/x.png){width=300}"),
        ('<img src="x.png" width="300" height="20">', "![](media/x.png){height=20 width=300}"),
        ('<img src="cell diagram.png">', "![](<media/cell diagram.png>)"),
        ("[sound:pron.mp3]", "[sound:media/pron.mp3]"),
        ("<b>a</b> [sound:my_pron.mp3]", "**a** [sound:media/my_pron.mp3]"),
        ('<img src="https://e.org/x.png">', "![](https://e.org/x.png)"),
    ],
)
def test_anki_media_names_become_media_paths_and_round_trip(html: str, markdown: str) -> None:
    from ankiops_git.convert import html_equal, html_to_md, md_to_html

    assert html_to_md(html) == markdown
    assert html_equal(md_to_html(markdown), html)


def test_html_anki_writes_round_trips_even_where_markdown_cannot_say_it() -> None:
    """A style Anki's editor writes, a src with a folder: kept as HTML, lossless."""
    from ankiops_git.convert import html_equal, html_to_md, md_to_html

    for html in ('<img src="x.png" style="width: 30px">', '<img src="media/x.png">'):
        assert html_equal(md_to_html(html_to_md(html)), html), html_to_md(html)


def test_an_older_files_plain_name_is_kept_when_anki_did_not_change_the_field() -> None:
    """export.field_markdown keeps the reference text when it renders to Anki's HTML: a
    repository written with `![](x.png)` does not churn to media/ paths."""
    from ankiops_git.export import field_markdown

    assert field_markdown('<img src="x.png">', "![](x.png)") == "![](x.png)"
    assert field_markdown('<img src="y.png">', "![](x.png)") == "![](media/y.png)"


def test_git_lfs_pointers_stand_for_their_content(tmp_path: Path) -> None:
    """media/ kept in git LFS: a push sends the bytes git-lfs keeps, never the pointer,
    and a fetch takes Anki's bytes as the same file when the pointer names them."""
    import hashlib

    from ankiops_git.errors import AnkiOpsError

    repo = pygit2.init_repository(str(tmp_path / "r"))
    data = b"\x89PNG big picture" * 100
    sha = hashlib.sha256(data).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n"
    oid = repo.create_blob(pointer.encode())
    assert media_mod.lfs_oid(pointer.encode()) == sha
    assert media_mod.same_content(repo, oid, data)
    assert not media_mod.same_content(repo, oid, data + b"!")
    with pytest.raises(AnkiOpsError, match="media/big.png is in git LFS .* `git lfs pull`"):
        media_mod.content(repo, oid, "media/big.png")
    stored = Path(repo.path) / "lfs" / "objects" / sha[:2] / sha[2:4] / sha
    stored.parent.mkdir(parents=True)
    stored.write_bytes(data)
    assert media_mod.content(repo, oid, "media/big.png") == data
    plain = repo.create_blob(b"plain bytes")
    assert media_mod.content(repo, plain, "media/p.png") == b"plain bytes"
    assert media_mod.lfs_oid(b"plain bytes") is None
