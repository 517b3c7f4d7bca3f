"""ZIP archives from elsewhere (shared decks, Anki packages), checked before use.

`open_checked` refuses, with one clear ArchiveError and before anything is
extracted, an archive that is not a ZIP or is damaged, one with an entry whose name
leaves the target folder (`..` steps, an absolute path, a drive letter, a backslash
path), one with a symbolic link entry, and one whose entries add up to more than the
size limit. `write_all` then moves files made in a temporary folder into place, so
that a refusal or a failure leaves the target as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ankiops_git.errors import AnkiOpsError

DEFAULT_MAX_MB = 2048  # what an archive may unpack to, all entries together
MAX_ENTRIES = 200_000


class ArchiveError(AnkiOpsError):
    """An archive that is refused: unsafe, too large, or not a readable ZIP."""


_DRIVE = re.compile(r"^[A-Za-z]:")


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry cannot be extracted safely, if so."""
    name = info.filename
    if not name or "\x00" in name:
        return "has an empty or binary name"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name:
        return "has a backslash in its name (a Windows path)"
    if ".." in name.split("/"):
        return "has a `..` step, which leaves the target folder"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "is a symbolic link"
    return None


@contextmanager
def open_checked(path: Path, max_bytes: int, what: str = "archive") -> Iterator[zipfile.ZipFile]:
    """The ZIP at `path`, every entry checked (see the module docstring)."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ArchiveError(
            f"{path} is not a readable {what} (not a ZIP file, or damaged: {e}); "
            f"nothing was written"
        ) from e
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(
                f"{path} has {len(infos)} entries, more than {MAX_ENTRIES}; nothing was written"
            )
        total = 0
        for info in infos:
            problem = entry_problem(info)
            if problem:
                raise ArchiveError(
                    f"{path}: entry {info.filename!r} {problem}; the {what} is refused and "
                    f"nothing was written"
                )
            total += info.file_size
        if total > max_bytes:
            raise ArchiveError(
                f"{path} unpacks to {total / 1e6:.1f} MB, more than the limit of "
                f"{max_bytes / 1e6:g} MB; nothing was written. If you trust it, raise the "
                f"limit with --max-mb"
            )
        yield zf
    finally:
        zf.close()


def read_entry(zf: zipfile.ZipFile, name: str, path: Path, what: str = "archive") -> bytes:
    """An entry's bytes; a damaged entry (CRC, truncated) is an ArchiveError."""
    try:
        return zf.read(name)
    except KeyError:
        raise ArchiveError(f"{path}: the {what} has no {name!r}; nothing was written") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as e:
        raise ArchiveError(f"{path}: entry {name!r} is damaged ({e}); nothing was written") from e


def write_all(target: Path, texts: dict[str, str], media_files: dict[str, bytes]) -> None:
    """Write deck files (`texts`: path -> text) and media files (name -> bytes, into
    media/) under `target`: all made in a temporary folder beside it first (the same
    file system: the moves are renames), then moved into place; the temporary folder
    goes whatever happens."""
    from ankiops_git.media import MEDIA_DIR

    target.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".ankiops-staging-", dir=target))
    try:
        files = {rel: text.encode("utf-8") for rel, text in texts.items()}
        files.update({f"{MEDIA_DIR}/{name}": data for name, data in media_files.items()})
        for rel, data in files.items():
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            (staged / rel).write_bytes(data)
        for rel in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / rel, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
