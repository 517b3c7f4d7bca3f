"""Media files a push brings to Anki: images and sounds that deck files refer to.

Anki keeps media in one flat folder and fields refer to them by plain name
(`<img src="diagram.png">`, `[sound:word.mp3]`). In the repository they live in
`media/` (or beside the deck files). A push stores in Anki:

- every media file the fields it writes refer to, when the pushed tree has it and
  Anki does not hold the same bytes under that name;
- every file under `media/` the pushed commits changed (a redrawn diagram whose notes
  did not change).

Fields that refer to media the tree does not have are left alone: the file may be in
Anki already (a note made in Anki's editor). A file whose name Anki would store under
another name (it drops some characters; Anki 26.9 also lower-cases names) is refused,
naming the note that refers to it: the card would show a broken link. Fetching does
not copy Anki's media into the repository.
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
    fields: Iterable[tuple[str, str]], files: Files, changed: Iterable[str]
) -> list[MediaFile]:
    """The tree's media files a push should bring to Anki (see the module docstring):
    those the `fields` ((where, html): "Deck.md:12" and a field's HTML) refer to, and
    those under media/ among the `changed` paths."""
    wanted: dict[str, MediaFile] = {}
    for where, html in fields:
        for name in sorted(referenced_names(html)):
            # media/ first; beside the deck files too, but never a deck file itself
            places = [f"{MEDIA_DIR}/{name}"] + ([] if name.endswith(".md") else [name])
            for path in places:
                if name not in wanted and path in files:
                    wanted[name] = MediaFile(name, path, where)
    for path in sorted(changed):
        folder, _, name = path.partition("/")
        if folder == MEDIA_DIR and name and "/" not in name and path in files:
            wanted.setdefault(name, MediaFile(name, path, path))
    return [wanted[name] for name in sorted(wanted)]


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
