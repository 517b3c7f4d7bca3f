"""Backends that read and write Anki, behind one interface (`base.Backend`)."""

from ankiops_git.anki.base import AnkiNote, Backend, NewNote, NoteUpdate

__all__ = ["AnkiNote", "Backend", "NewNote", "NoteUpdate"]
