"""Backends that read and write Anki, behind one interface (`base.Backend`).

`open_backend(spec)` picks one from what the user wrote after `anki::`:
an AnkiConnect URL (`http://127.0.0.1:8765`), a collection file path, or a profile name.
"""

from __future__ import annotations

import os
from pathlib import Path

from ankiops_git.anki.base import AnkiNote, Backend, NewNote, NoteUpdate
from ankiops_git.notetypes import BUILTIN, NoteTypes

__all__ = ["AnkiNote", "Backend", "NewNote", "NoteUpdate", "open_backend"]

DEFAULT_CONNECT_URL = "http://127.0.0.1:8765"
KEY_ENV = "ANKIOPS_ANKICONNECT_KEY"


def open_backend(
    spec: str,
    *,
    key: str | None = None,
    profile: str | None = None,
    one_command: bool = False,
    note_types: NoteTypes = BUILTIN,
) -> Backend:
    """The backend `spec` names: an http(s) URL, a path to a collection file, or a profile.

    A leading `anki::` is accepted and ignored. A spec that contains a path separator
    or ends in `.anki2` is a path; any other word is an Anki profile name.
    `key`: AnkiConnect API key (default: environment variable ANKIOPS_ANKICONNECT_KEY).
    `profile`: the profile the data belongs to; a backend on another raises WrongProfile.
    `one_command`: the backend serves one command, which sees Anki as it was when first
    read, with its own writes (AnkiConnect then asks for each note once).
    `note_types`: the repository's note types (Config.note_types): the notes managed.
    """
    spec = spec.strip()
    if spec.startswith("anki::"):
        spec = spec[len("anki::") :]
    if spec.startswith(("http://", "https://")):
        from ankiops_git.anki.connect import ConnectBackend

        if key is None:
            key = os.environ.get(KEY_ENV) or None
        return ConnectBackend(
            spec, key=key, profile=profile, remember_reads=one_command, note_types=note_types
        )
    from ankiops_git.anki.collection import CollectionBackend, profile_collection_path

    if spec.endswith(".anki2") or "/" in spec or "\\" in spec or spec.startswith("~"):
        return CollectionBackend(Path(spec), profile=profile, note_types=note_types)
    return CollectionBackend(profile_collection_path(spec), profile=profile, note_types=note_types)
