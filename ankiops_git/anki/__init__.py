"""Backends that read and write Anki, behind one interface (`base.Backend`).

`open_backend(spec)` picks one from what the user wrote after `anki::`:
an AnkiConnect URL (`http://127.0.0.1:8765`), a collection file path, or a profile name.
"""

from __future__ import annotations

from pathlib import Path

from ankiops_git.anki.base import AnkiNote, Backend, NewNote, NoteUpdate

__all__ = ["AnkiNote", "Backend", "NewNote", "NoteUpdate", "open_backend"]

DEFAULT_CONNECT_URL = "http://127.0.0.1:8765"


def open_backend(spec: str, *, key: str | None = None) -> Backend:
    """The backend `spec` names: an http(s) URL, a path to a collection file, or a profile.

    A leading `anki::` is accepted and ignored. A spec that contains a path separator
    or ends in `.anki2` is a path; any other word is an Anki profile name.
    """
    spec = spec.strip()
    if spec.startswith("anki::"):
        spec = spec[len("anki::") :]
    if spec.startswith(("http://", "https://")):
        from ankiops_git.anki.connect import ConnectBackend

        return ConnectBackend(spec, key=key)
    from ankiops_git.anki.collection import CollectionBackend, profile_collection_path

    if spec.endswith(".anki2") or "/" in spec or "\\" in spec or spec.startswith("~"):
        return CollectionBackend(Path(spec))
    return CollectionBackend(profile_collection_path(spec))
