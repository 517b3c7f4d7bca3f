"""Media files both ways: images and sounds that notes show.

Anki keeps media in one flat folder and fields refer to them by plain name
(`<img src="diagram.png">`, `[sound:word.mp3]`). In the repository they live in
`media/`. A push stores in Anki:

- every file under `media/` the fields it writes refer to, when Anki does not hold
  the same bytes under that name;
- every file under `media/` the pushed commits changed that some note refers to (a
  redrawn diagram whose notes did not change).

Anki's file of that name, when it holds other bytes, is replaced only if it is ours
(a push stored those bytes, or the base commit holds them: fetched for a note of the
repository); anything else is refused, so a file another note shows never changes.

Nothing outside `media/` is sent (ankiops.toml or a deck file named as an image stay
where they are), and a symbolic link is refused, never followed.

Fields that refer to media the tree does not have are left alone: the file may be in
Anki already (a note made in Anki's editor). A file whose name Anki would store under
another name (it drops some characters; Anki 26.9 also lower-cases names) is refused,
naming the note that refers to it: the card would show a broken link.

A fetch brings into `media/` every file that the notes it reads (new or changed in
Anki) show, when the tree lacks it or holds other bytes under that name (compared by
git blob hash: an unchanged file is not written again). It never removes a file from
`media/`; a name Anki's notes show but its media folder lacks is a warning naming the
note.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git import gitstore
from ankiops_git.anki.base import Backend
from ankiops_git.errors import AnkiOpsError
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


# Media references in a field's Markdown: an image's target, a sound tag, a raw <img>.
_MD_IMAGE = re.compile(r"!\[(?:[^\]\\\n]|\\.)*\]\(\s*(?:<([^>\n]*)>|([^\s)]+))")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: C: is a drive


def markdown_targets(markdown: str) -> list[tuple[int, str]]:
    """(offset, target) of every media reference in a field's Markdown."""
    found = [(m.start(), m.group(1) or m.group(2) or "") for m in _MD_IMAGE.finditer(markdown)]
    found += [(m.start(), m.group(1)) for m in _SOUND.finditer(markdown)]
    found += [
        (m.start(), m.group(1) or m.group(2) or m.group(3)) for m in _IMG_SRC.finditer(markdown)
    ]
    return sorted(found)


def leaves_repository(target: str) -> bool:
    """Whether a media reference points outside the repository: an absolute path (or a
    drive, or a home folder) or one with a `..` step. URLs are not media files."""
    if _URL_SCHEME.match(target):
        return False
    if target.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[/\\]", target):
        return True
    return ".." in re.split(r"[/\\]", target)


def reference_problems(markdown: str) -> list[tuple[int, str]]:
    """(line offset within the field, message) for each media reference a push must
    refuse: one that leaves the repository, or one in a subfolder of media/ (Anki's
    media folder is flat: `<img src="media/sub/x.png">` shows nothing)."""
    out = []
    for offset, target in markdown_targets(markdown):
        line = markdown.count("\n", 0, offset)
        name = re.split(r"[/\\]", target)[-1] or "name"
        if leaves_repository(target):
            out.append(
                (
                    line,
                    f"media reference {target!r} points outside the repository; ankiops-git "
                    f"sends only files in {MEDIA_DIR}/: copy the file there and write "
                    f"{MEDIA_DIR}/{name}",
                )
            )
        elif re.match(rf"{MEDIA_DIR}[/\\][^/\\]*[/\\]", target):
            out.append(
                (
                    line,
                    f"media reference {target!r} is in a subfolder of {MEDIA_DIR}/; Anki "
                    f"keeps media in one flat folder and would show nothing: move the file "
                    f"to {MEDIA_DIR}/{name} and write that",
                )
            )
    return out


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


def ours(
    repo: pygit2.Repository, found: MediaFile, held: bytes, record: dict[str, str], base: Files
) -> bool:
    """Whether the bytes Anki holds under `found`'s name are ankiops-git's to replace: a
    push stored them (the record), or the base commit (anki/main) holds them there,
    fetched for a note of the repository."""
    if record.get(found.name) == str(pygit2.hash(held)):
        return True
    return found.path in base and same_content(repo, base[found.path][0], held)


def foreign_message(found: MediaFile) -> str:
    stem, dot, ext = found.name.rpartition(".")
    other = f"{stem}-2{dot}{ext}" if dot and stem else f"{found.name}-2"
    return (
        f"{found.where}: media file {found.path}: Anki's media folder holds another file "
        f"named {found.name!r}, which ankiops-git neither sent nor fetched; replacing it "
        f"would change the cards of every note that shows it. Rename yours (e.g. "
        f"{MEDIA_DIR}/{other}, and the references to it), then commit again."
    )


# --- fetch: Anki's media into media/ ----------------------------------------------------

FETCH_BATCH = 50  # names per bulk read: one AnkiConnect request each
SHOWN_MISSING = 10  # lines about media Anki lacks, before "and N more"


def tree_name_ok(name: str) -> bool:
    """Whether `name` can be a file in media/ of a git tree (git refuses `.git`)."""
    return (
        bool(name)
        and name not in (".", "..")
        and name.casefold() != ".git"
        and "\x00" not in name
        and "/" not in name
    )


def names_of_notes(notes: Iterable[tuple[int, Iterable[str]]]) -> dict[str, int]:
    """Media name -> the first note (by id) whose fields' HTML refer to it."""
    out: dict[str, int] = {}
    for note_id, fields in sorted(notes, key=lambda n: n[0]):
        for html in fields:
            for name in referenced_names(html):
                out.setdefault(name, note_id)
    return out


@dataclass
class FetchedMedia:
    files: Files = field(default_factory=dict)  # media/<name> -> new blob, for the export
    missing: dict[str, int] = field(default_factory=dict)  # name Anki lacks -> a note using it
    read: int = 0  # files read from Anki

    def warnings(self) -> list[str]:
        lines = [
            f"anki: note {note_id} shows media file {name!r}, which Anki's media folder does "
            f"not have (Anki shows it broken too); nothing to fetch for it"
            for name, note_id in sorted(self.missing.items())[:SHOWN_MISSING]
        ]
        if len(self.missing) > SHOWN_MISSING:
            more = len(self.missing) - SHOWN_MISSING
            lines.append(f"anki: ... and {more} more such media name(s)")
        return lines


def read_many(backend: Backend, names: Sequence[str]) -> list[bytes | None]:
    """backend.read_media_many, or one read_media each for a backend without it."""
    bulk = getattr(backend, "read_media_many", None)
    if bulk is not None:
        return list(bulk(names))
    return [backend.read_media(name) for name in names]


def fetch_media(
    repo: pygit2.Repository,
    backend: Backend,
    wanted: dict[str, int],
    files: Files,
    progress: Callable[[int, int], None] | None = None,
    known: Iterable[str] = (),
) -> FetchedMedia:
    """The media files of `wanted` (name -> a note showing it) that Anki has and the tree
    (`files`) lacks, or holds with other bytes: new blobs for media/<name>. A blob is
    compared by its git hash, so bytes already in the tree are not written again.
    `known`: names a push just dealt with: not read if the tree has them (the push
    stored or compared them), and not reported missing (the push said so). A symbolic
    link in media/ is left as it is (the push refuses it); nothing in `files` is
    removed. Names Anki lacks: `missing`."""
    known = set(known)
    todo = []
    for name in sorted(wanted):
        path = f"{MEDIA_DIR}/{name}"
        if not tree_name_ok(name) or (name in known and path in files):
            continue
        if path in files and files[path][1] == pygit2.enums.FileMode.LINK:
            continue
        todo.append(name)
    out = FetchedMedia()
    for start in range(0, len(todo), FETCH_BATCH):
        batch = todo[start : start + FETCH_BATCH]
        for name, data in zip(batch, read_many(backend, batch), strict=True):
            if data is None:
                if name not in known:
                    out.missing[name] = wanted[name]
                continue
            out.read += 1
            path = f"{MEDIA_DIR}/{name}"
            if path in files and same_content(repo, files[path][0], data):
                continue
            out.files[path] = (repo.create_blob(data), gitstore.FILE_MODE)
        if progress is not None:
            progress(start + len(batch), len(todo))
    return out


def absent(shown: dict[str, str], files: Files) -> list[str]:
    """One line per name the notes a push writes show (name -> where: "Deck.md:12")
    that media/ lacks: Anki shows it only if its media folder has that name already."""
    lines = [
        f"{where}: warning: the note shows {name!r}, which {MEDIA_DIR}/ does not hold; Anki "
        f"shows it only if its own media folder has it"
        for name, where in sorted(shown.items())
        if f"{MEDIA_DIR}/{name}" not in files
    ]
    if len(lines) > SHOWN_MISSING:
        lines[SHOWN_MISSING:] = [f"... and {len(lines) - SHOWN_MISSING} more such name(s)"]
    return lines


def too_large(found: Iterable[MediaFile], sizes: dict[str, int], limit: int) -> list[str]:
    """One line per file sent bigger than `limit` bytes (ankiops.toml [media] warn_mb)."""
    return [
        f"{m.where}: warning: media file {m.path} is {sizes[m.name] / 1e6:.1f} MB (more than "
        f"{limit / 1e6:g} MB): it bloats the repository and every sync of Anki; shrink it, "
        f"or keep media/ in git LFS (see README, Images?)"
        for m in found
        if sizes.get(m.name, 0) > limit
    ]


# --- what ankiops-git stored in Anki: for `ankiops-git media --trash-unused` -------------

PUSHED_NAME = "media-pushed.json"  # in .git/ankiops: name -> git blob id of what was stored


def pushed(repo: pygit2.Repository) -> dict[str, str]:
    """The media files pushes stored in Anki: name -> the git blob id of the bytes."""
    path = gitstore.state_dir(repo) / PUSHED_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise AnkiOpsError(
            f"{path}: the record of media files pushed to Anki cannot be read ({e}). Move "
            f"it away and run the command again (files pushed before are then not known "
            f"as ours, and never trashed)."
        ) from e
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def record_pushed(
    repo: pygit2.Repository, stored: dict[str, str], gone: Iterable[str] = ()
) -> None:
    """Add what a push stored (name -> blob id) to the record; drop `gone` names."""
    record = pushed(repo)
    record.update(stored)
    for name in gone:
        record.pop(name, None)
    path = gitstore.state_dir(repo) / PUSHED_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True, indent=0), encoding="utf-8")
    tmp.replace(path)


# --- git LFS: media/ kept as pointers, the bytes in .git/lfs/objects ------------------------

_LFS_POINTER = re.compile(
    rb"version https://git-lfs\.github\.com/spec/v1\n(?:[^\n]*\n)*?oid sha256:([0-9a-f]{64})\n"
)


def lfs_oid(blob: bytes) -> str | None:
    """The sha256 a git LFS pointer names, or None if the blob is no pointer."""
    if len(blob) > 1024 or not blob.startswith(b"version https://git-lfs"):
        return None
    match = _LFS_POINTER.match(blob)
    return match.group(1).decode("ascii") if match else None


def same_content(repo: pygit2.Repository, oid: pygit2.Oid, data: bytes) -> bool:
    """Whether the tree's blob `oid` stands for `data`: the same git blob, or a git LFS
    pointer to bytes with data's sha256."""
    if pygit2.hash(data) == oid:
        return True
    blob = repo.get(oid)
    if blob is None or blob.size > 1024:  # type: ignore[attr-defined]
        return False
    pointer = lfs_oid(bytes(blob.data))  # type: ignore[attr-defined]
    return pointer is not None and pointer == hashlib.sha256(data).hexdigest()


def content(repo: pygit2.Repository, oid: pygit2.Oid, path: str) -> bytes:
    """A media file's bytes: its blob, or for a git LFS pointer the object git-lfs keeps
    in .git/lfs/objects (AnkiOpsError saying `git lfs pull` if it is not there)."""
    data = gitstore.blob_bytes(repo, oid)
    pointer = lfs_oid(data)
    if pointer is None:
        return data
    stored = Path(repo.path) / "lfs" / "objects" / pointer[:2] / pointer[2:4] / pointer
    try:
        found = stored.read_bytes()
    except OSError:
        raise AnkiOpsError(
            f"{path} is in git LFS and its content is not in this clone: run `git lfs pull`, "
            f"then push again; nothing was pushed."
        ) from None
    if hashlib.sha256(found).hexdigest() != pointer:
        raise AnkiOpsError(f"{stored}: git LFS object damaged; run `git lfs fetch` again.")
    return found
