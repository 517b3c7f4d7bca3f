"""Media files a push brings to Anki: images and sounds that deck files refer to.

Anki keeps media in one flat folder and fields refer to them by plain name
(`<img src="diagram.png">`, `[sound:word.mp3]`). In the repository they live in
`media/`. A push stores in Anki:

- every file under `media/` the fields it writes refer to, when Anki does not hold
  the same bytes under that name;
- every file under `media/` the pushed commits changed that some note refers to (a
  redrawn diagram whose notes did not change).

Nothing outside `media/` is sent (ankiops.toml or a deck file named as an image stay
where they are), and a symbolic link is refused, never followed.

Fields that refer to media the tree does not have are left alone: the file may be in
Anki already (a note made in Anki's editor). A file whose name Anki would store under
another name (it drops some characters; Anki 26.9 also lower-cases names) is refused,
naming the note that refers to it: the card would show a broken link. Fetching does
not copy Anki's media into the repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pygit2

from ankiops_git.gitstore import Files

MEDIA_DIR = "media"

_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.I)
_SOUND = re.compile(r"\[sound:([^\]]+)\]")


def referenced_names(html: str) -> set[str]:
    """Media names a field's HTML refers to: names without a folder (no URL either)."""
    found = {a or b or c for a, b, c in _IMG_SRC.findall(html)}
    found |= set(_SOUND.findall(html))
    return {name for name in found if name and "/" not in name and "\\" not in name} - {
        ".",
        "..",
    }


# Characters Anki removes from a media file's name when it stores one (rslib
# media/files.rs, disallowed_char), besides control characters.
ANKI_DROPS = frozenset('[]<>:"/?*^\\|')


def dropped_characters(name: str) -> str:
    """The characters of `name` that Anki would drop when storing it, in order."""
    return "".join(c for c in name if c in ANKI_DROPS or ord(c) < 32 or ord(c) == 127)


@dataclass(frozen=True)
class MediaFile:
    name: str  # the name in Anki's media folder
    path: str  # where the pushed tree has it
    where: str = ""  # the first place that needs it: "Deck.md:12", else the path


def media_to_push(
    fields: Iterable[tuple[str, str]],
    files: Files,
    changed: Iterable[str],
    referenced: Callable[[str], bool] = lambda name: True,
) -> list[MediaFile]:
    """The tree's media files a push should bring to Anki (see the module docstring):
    those under media/ that the `fields` ((where, html): "Deck.md:12" and a field's
    HTML) refer to, and those under media/ among the `changed` paths that some note
    refers to (`referenced`, asked of their names)."""
    wanted: dict[str, MediaFile] = {}
    for where, html in fields:
        for name in sorted(referenced_names(html)):
            path = f"{MEDIA_DIR}/{name}"
            if name not in wanted and path in files:
                wanted[name] = MediaFile(name, path, where)
    for path in sorted(changed):
        folder, _, name = path.partition("/")
        in_media = folder == MEDIA_DIR and name and "/" not in name and path in files
        if in_media and name not in wanted and referenced(name):
            wanted[name] = MediaFile(name, path, path)
    return [wanted[name] for name in sorted(wanted)]


def links(found: Iterable[MediaFile], files: Files) -> list[str]:
    """One line per media file that is a symbolic link: only files the repository holds
    are sent (a link could point anywhere on this machine)."""
    return [
        f"{m.where}: media file {m.path} is a symbolic link; ankiops-git sends only files "
        f"the repository holds. Replace the link by the file itself, then commit again."
        for m in found
        if files[m.path][1] == pygit2.enums.FileMode.LINK
    ]


def unstorable(found: Iterable[MediaFile]) -> list[str]:
    """One line per media file whose name Anki would change by dropping characters:
    the note would show a broken link."""
    return [
        f"{m.where}: media file {m.path}: Anki drops {dropped_characters(m.name)!r} from "
        f"media file names, so the note would show a broken link. Rename the file "
        f"without them (and the references to it), then commit again."
        for m in found
        if dropped_characters(m.name)
    ]
