"""Media files a push brings to Anki: images and sounds that deck files refer to.

Anki keeps media in one flat folder and fields refer to them by plain name
(`<img src="diagram.png">`, `[sound:word.mp3]`). In the repository they live in
`media/` (or beside the deck files). A push stores in Anki:

- every media file the fields it writes refer to, when the pushed tree has it and
  Anki does not hold the same bytes under that name;
- every file under `media/` the pushed commits changed (a redrawn diagram whose notes
  did not change).

Fields that refer to media the tree does not have are left alone: the file may be in
Anki already (a note made in Anki's editor). Fetching does not copy Anki's media into
the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ankiops_git.gitstore import Files

MEDIA_DIR = "media"

_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.I)
_SOUND = re.compile(r"\[sound:([^\]]+)\]")


def referenced_names(html: str) -> set[str]:
    """Media names a field's HTML refers to: plain names only (no URL, no folder)."""
    found = {a or b or c for a, b, c in _IMG_SRC.findall(html)}
    found |= set(_SOUND.findall(html))
    return {name for name in found if is_media_name(name)}


def is_media_name(name: str) -> bool:
    """A name Anki's media folder can hold as is: no scheme, folder or query."""
    return bool(name) and not any(c in name for c in '/\\:?#"<>') and name not in (".", "..")


@dataclass(frozen=True)
class MediaFile:
    name: str  # the name in Anki's media folder
    path: str  # where the pushed tree has it


def media_to_push(
    fields_html: Iterable[str], files: Files, changed: Iterable[str]
) -> list[MediaFile]:
    """The tree's media files a push should bring to Anki (see the module docstring):
    those `fields_html` refer to, and those under media/ among the `changed` paths."""
    wanted: dict[str, MediaFile] = {}
    for path in changed:
        folder, _, name = path.partition("/")
        if folder == MEDIA_DIR and is_media_name(name) and path in files:
            wanted[name] = MediaFile(name, path)
    for html in fields_html:
        for name in referenced_names(html):
            # media/ first; beside the deck files too, but never a deck file itself
            places = [f"{MEDIA_DIR}/{name}"] + ([] if name.endswith(".md") else [name])
            for path in places:
                if name not in wanted and path in files:
                    wanted[name] = MediaFile(name, path)
    return [wanted[name] for name in sorted(wanted)]
