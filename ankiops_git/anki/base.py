"""The one interface sync code uses to talk to Anki.

Two implementations: `connect.ConnectBackend` (AnkiConnect over HTTP, Anki desktop
running) and `collection.CollectionBackend` (a collection file opened with the
official `anki` package). Sync code never knows which one it has.

Only *managed* notes (those of the repository's note types, `note_types`: the
AnkiOps* ones and those ankiops.toml declares, see notetypes.py) are read or
written. Notes of other types and decks without managed notes are never written.
All calls are in bulk: sync sends one call per kind of change, not one per note.
Field values on this side are Anki's HTML; conversion to Markdown happens elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ankiops_git.anki.templates import Existing, NoteTypeSpec, Pushed
from ankiops_git.notetypes import NoteTypes


@dataclass(frozen=True)
class AnkiNote:
    note_id: int
    note_type: str  # Anki note type name, e.g. "AnkiOpsQA"
    fields: dict[str, str]  # Anki field name -> HTML, every field of the type
    tags: tuple[str, ...]
    deck: str  # full deck name ("A::B") of the note's first card (lowest ord)
    mod: int  # note modification time, seconds since the epoch


@dataclass(frozen=True)
class NewNote:
    note_type: str  # Anki note type name
    deck: str  # full deck name; created if missing
    fields: dict[str, str]  # HTML
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class NoteUpdate:
    note_id: int
    fields: dict[str, str] | None = None  # only the fields given are changed
    tags: tuple[str, ...] | None = None  # the full new tag list, if given


# A revlog row, as Anki stores it: id (the review's time, ms), ease (button), ivl and
# lastIvl (days; negative: seconds), factor (permille), time (ms taken), type (kind).
Review = tuple[int, int, int, int, int, int, int]


def due_in_days(ctype: int, queue: int, due: int) -> bool:
    """True if a card's `due` is a day number (review, day-learning, and those suspended
    or buried), False for a new card's position or a learning card's epoch seconds."""
    if queue in (2, 3):
        return True
    if queue in (0, 1) or ctype == 0:
        return False
    return ctype == 2 or due < 1_000_000_000  # suspended/buried: by type, or magnitude


def home_queue(ctype: int, due: int) -> int:
    """The queue a card of this type goes back to when its filtered deck is emptied
    (a learning card: intraday if its due is epoch seconds, else day-learning)."""
    return {0: 0, 2: 2}.get(ctype, 1 if due > 1_000_000_000 else 3)


@dataclass(frozen=True)
class CardState:
    """One card's scheduling and review history, for a package with scheduling.

    `due` as Anki has it, except a day number, which is in days from Anki's today (so
    another collection can place it on its own calendar). A card in a filtered deck
    is given as in its home deck. `undated`: the backend could not tell its due day
    (AnkiConnect, for a card in a filtered deck, or with no card in Anki due in days
    to count from); its `due` is then 0, today."""

    note_id: int
    ord: int
    ctype: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int
    left: int
    flags: int = 0
    reviews: tuple[Review, ...] = ()
    undated: bool = False
    memory: tuple[float, float] | None = None  # FSRS stability, difficulty
    custom_data: str = ""


class Backend(Protocol):
    note_types: NoteTypes  # whose notes are managed (open_backend's note_types)

    def profile(self) -> str:
        """Name of the open profile (collection backend: the file's folder name)."""
        ...

    def ensure_note_types(
        self,
        allow_field_changes: bool = False,
        *,
        dry_run: bool = False,
        pushed: Pushed | None = None,
    ) -> list[str]:
        """Bring Anki's note types to `note_types` (templates.changes decides): create
        missing built-in and declared ones; reuse existing built-in ones whose fields
        match, as they are; update a declared type's templates and CSS; add or remove
        its fields only if allowed. Checks every type before writing anything; a problem
        is AnkiRejected naming the type and what to do. Returns a line per change;
        `dry_run`: checks and says, writes nothing. `pushed`: the declared types'
        templates and CSS as last pushed: Anki's edits since are never overwritten."""
        ...

    def read_note_type(self, name: str) -> tuple[NoteTypeSpec, Existing] | None:
        """Anki's note type `name` (fields, cards, CSS, kind), or None if it has none."""
        ...

    def decks(self) -> dict[str, int]:
        """All deck names -> deck ids."""
        ...

    def create_deck(self, name: str) -> int:
        """The id of deck `name`, created (with missing parents) if needed."""
        ...

    # True if rename_deck renames the deck itself (id, options, description and limits
    # kept); False if it can only re-create it under the new name (AnkiConnect).
    renames_in_place: bool

    def rename_deck(self, deck_id: int, new_name: str) -> int:
        """Give the deck's own cards the deck `new_name`; its subdecks keep their names.
        Returns the id of deck `new_name` afterwards.

        The collection backend renames the deck: its id, options, description and
        limits stay. AnkiConnect has no rename action: there a deck `new_name` is made
        with the same options group, the cards are moved to it (review history kept)
        and the old deck is removed once empty and without subdecks; the description
        and per-deck limits are not carried over. A deck `new_name` that exists
        already (an interrupted earlier rename, say) is used: the caller checks with
        deck_holds_only that it holds nothing else. Safe to repeat at any step.
        """
        ...

    def deck_holds_only(self, deck_id: int, note_ids: Iterable[int]) -> bool:
        """True if every card in this deck (subdecks not included) belongs to one of
        these notes (an empty deck holds only them)."""
        ...

    def mod_times(self, note_ids: Iterable[int] | None = None) -> dict[int, int]:
        """Managed note id -> modification time, for these notes (all if None; ids that
        are missing or not managed notes are left out). Cheap: no fields are read."""
        ...

    def note_decks(self, note_ids: Iterable[int] | None = None) -> dict[int, str]:
        """Managed note id -> deck name of its first card (home deck), as read_notes says;
        for these notes (all if None). Give ids of managed notes (mod_times' keys): for
        a long list of ids, the AnkiConnect backend does not check each is one.

        Cheap: no fields are read. Needed beside mod_times because moving cards to
        another deck changes the cards, not the note, so the note's mod time stays.
        """
        ...

    def deck_note_ids(self, deck_ids: Iterable[int]) -> set[int]:
        """Managed notes with a card in one of these decks (its deck or, for a card in a
        filtered deck, its home deck; subdecks not included): every note whose
        note_decks() deck is one of them, and maybe notes with other cards there. Costs
        what these decks hold, not what the collection holds."""
        ...

    def read_notes(self, note_ids: Iterable[int] | None = None) -> list[AnkiNote]:
        """The managed notes with these ids (all managed notes if None), in one batch,
        sorted by id. Ids that are missing or not managed notes are left out. A card in
        a filtered deck counts in its home deck."""
        ...

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        """Add in one batch; returns the new ids in order, each card in its note's deck.
        A note type or field that does not exist refuses the whole batch before anything
        is written (AnkiRejected naming the note and field). A note Anki itself refuses
        does not stop the others: NotesRefused, with the ids of those added and each
        refusal's reason. Decks are created as needed; notes that look like existing
        ones, or that Anki's editor would warn about, are added all the same."""
        ...

    def update_notes(self, updates: Sequence[NoteUpdate]) -> None:
        """Change fields and/or tags; verified by reading back (AnkiRejected naming the
        notes whose change did not take effect). Ids that are missing or not managed
        notes: AnkiRejected before anything is written. Same for move and delete."""
        ...

    def move_notes(self, note_ids: Sequence[int], deck: str) -> None:
        """Move all cards of these notes to `deck` (created if missing). Keeps history."""
        ...

    def delete_notes(self, note_ids: Sequence[int]) -> None: ...

    def store_media(self, filename: str, data: bytes) -> str:
        """Store a media file under `filename` (a plain name), replacing a different file
        of that name (Anki keeps the old one in its media trash). Returns the name Anki
        stored it under: the same, unless Anki had to drop characters it does not allow."""
        ...

    def trash_media(self, filename: str) -> None:
        """Move a media file to Anki's media trash (nothing if there is none)."""
        ...

    def read_media(self, filename: str) -> bytes | None:
        """The file's content, or None if there is no such media file."""
        ...

    def read_media_many(self, filenames: Sequence[str]) -> list[bytes | None]:
        """read_media for each name, in one request where the backend can (AnkiConnect:
        one `multi`); the caller keeps batches small enough to hold in memory."""
        ...

    def media_in_use(self, filenames: Iterable[str]) -> set[str]:
        """The names that some note's fields (any note type, managed or not) contain as
        text: a superset of the files notes show, so what is left out is unused."""
        ...

    def card_states(self, note_ids: Sequence[int]) -> list[CardState]:
        """The scheduling and review history of these notes' cards (ids that are
        missing are left out), for `export-apkg --include-scheduling`."""
        ...

    def deck_options(self, deck_names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The options preset of each of these decks that Anki has, as Anki's own dict
        (its id, name, limits, steps, FSRS parameters), for `export-apkg
        --include-scheduling`."""
        ...

    def sync(self) -> None:
        """Ask Anki to sync with AnkiWeb, where the backend can (collection file: no-op)."""
        ...

    def close(self) -> None: ...
