"""A small Python API over Anki, for scripts and notebooks: either backend, any note type.

Open Anki by profile name, collection file path, or AnkiConnect URL (Anki desktop
open), as a context manager; find notes and cards with Anki's own search syntax; add
notes with keyword fields and tags; update and delete them; list decks with their
due counts; sync with AnkiWeb or your own sync server. Every object prints readably,
and as a Markdown table in a notebook.

>>> from ankiops_git import api
>>> with api.open(where) as anki:
...     hola = anki.add_note("Basic", "Spanish", Front="hola", Back="hello", tags=["greeting"])
...     anki.find_notes("deck:Spanish tag:greeting")
[Note(id=..., type='Basic', deck='Spanish', Front='hola', Back='hello', tags=['greeting'])]

Unlike the deck repository's sync, this API reaches every note type, not only the
AnkiOps* ones: it is for your own scripts. Field values are Anki's HTML. Errors are
`AnkiOpsError`s with a message saying what to do (a note type or field that does not
exist, Anki not reachable, a full sync needing a direction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from ankiops_git.anki import ankiweb, open_backend
from ankiops_git.anki.ankiweb import Full, SyncLogin, SyncReport
from ankiops_git.errors import AnkiRejected

__all__ = ["Anki", "Card", "Deck", "Note", "SyncLogin", "SyncReport", "open"]

QUEUES = {
    -3: "buried",
    -2: "buried",
    -1: "suspended",
    0: "new",
    1: "learning",
    2: "review",
    3: "learning",
    4: "preview",
}


def _cell(value: object) -> str:
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Note:
    """A note: its fields (Anki's HTML) by name, in the note type's order."""

    id: int
    type: str  # note type name
    deck: str  # the deck of its first card (a card in a filtered deck: its home deck)
    fields: dict[str, str]
    tags: tuple[str, ...] = ()
    mod: int = 0  # modification time, seconds since the epoch

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def __repr__(self) -> str:
        shown = "".join(f", {k}={_cell(v)!r}" for k, v in self.fields.items())
        return (
            f"Note(id={self.id}, type={self.type!r}, deck={self.deck!r}{shown}, "
            f"tags={list(self.tags)!r})"
        )

    def _repr_markdown_(self) -> str:
        return Notes([self])._repr_markdown_()


@dataclass(frozen=True)
class Card:
    """A card: which note and template, where it is, and how it is scheduled."""

    id: int
    note_id: int
    deck: str  # the deck it is in now (a filtered deck, if it is in one)
    template: int  # the card's template (ord); a cloze card: the cloze number - 1
    queue: str  # new, learning, review, suspended, buried, preview
    due: int  # new: position; review: day number; learning: epoch seconds
    interval: int  # days (negative: seconds, in learning)

    def __repr__(self) -> str:
        return (
            f"Card(id={self.id}, note_id={self.note_id}, deck={self.deck!r}, "
            f"template={self.template}, queue={self.queue!r}, interval={self.interval})"
        )

    def _repr_markdown_(self) -> str:
        return Cards([self])._repr_markdown_()


@dataclass(frozen=True)
class Deck:
    """A deck and what is due in it and its subdecks today, as Anki's deck list shows it
    (the decks' daily limits applied)."""

    id: int
    name: str  # full name, "Parent::Child"
    new: int
    learn: int
    review: int
    total: int = 0  # cards in the deck itself (its subdecks' not counted)

    def __repr__(self) -> str:
        return (
            f"Deck({self.name!r}, new={self.new}, learn={self.learn}, review={self.review}, "
            f"total={self.total})"
        )

    def _repr_markdown_(self) -> str:
        return Decks([self])._repr_markdown_()


T = TypeVar("T")


class _Listing(list[T]):
    def _repr_markdown_(self) -> str:
        raise NotImplementedError


class Notes(_Listing[Note]):
    """A list of notes; in a notebook, a table."""

    def _repr_markdown_(self) -> str:
        names: list[str] = []
        for note in self:
            names += [n for n in note.fields if n not in names]
        rows = [
            [n.id, n.type, n.deck, *(n.fields.get(f, "") for f in names), " ".join(n.tags)]
            for n in self
        ]
        return _table(["id", "type", "deck", *names, "tags"], rows)


class Cards(_Listing[Card]):
    """A list of cards; in a notebook, a table."""

    def _repr_markdown_(self) -> str:
        rows = [[c.id, c.note_id, c.deck, c.template, c.queue, c.interval] for c in self]
        return _table(["id", "note", "deck", "template", "queue", "interval"], rows)


class Decks(_Listing[Deck]):
    """A list of decks; in a notebook, a table of their due counts."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for deck in self:
                if deck.name == key:
                    return deck
            raise KeyError(key)
        return super().__getitem__(key)

    def _repr_markdown_(self) -> str:
        rows = [[d.name, d.new, d.learn, d.review, d.total] for d in self]
        return _table(["deck", "new", "learn", "review", "total"], rows)


# --- the two ways to reach Anki ------------------------------------------------------------


class _Side(Protocol):
    def find_notes(self, query: str) -> list[int]: ...
    def notes(self, ids: Sequence[int]) -> list[Note]: ...
    def find_cards(self, query: str) -> list[int]: ...
    def cards(self, ids: Sequence[int]) -> list[Card]: ...
    def field_names(self, note_type: str) -> list[str]: ...
    def add(self, note_type: str, deck: str, fields: dict[str, str], tags: list[str]) -> int: ...
    def update(
        self, note_id: int, fields: dict[str, str] | None, tags: list[str] | None
    ) -> None: ...
    def delete(self, ids: Sequence[int]) -> None: ...
    def decks(self) -> list[Deck]: ...


class _CollectionSide:
    """The collection file, through the `anki` package's Collection."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    @property
    def col(self) -> Any:
        return self.backend.col  # after a full sync, the reopened collection

    def _search(self, query: str, find: Any) -> list[int]:
        import anki.errors

        try:
            return [int(i) for i in find(query)]
        except anki.errors.SearchError as e:
            raise AnkiRejected(f"Anki cannot search for {query!r}: {e}") from e

    def find_notes(self, query: str) -> list[int]:
        return self._search(query, self.col.find_notes)

    def find_cards(self, query: str) -> list[int]:
        return self._search(query, self.col.find_cards)

    def _deck_name(self, deck_id: int) -> str:
        return str(self.col.decks.name(deck_id))

    def notes(self, ids: Sequence[int]) -> list[Note]:
        out = []
        for nid in ids:
            note = self.col.get_note(nid)
            first = min(note.cards(), key=lambda c: c.ord, default=None)
            deck = "" if first is None else self._deck_name(first.odid or first.did)
            fields = dict(note.items())
            name = note.note_type()["name"]
            out.append(Note(nid, name, deck, fields, tuple(note.tags), int(note.mod)))
        return out

    def cards(self, ids: Sequence[int]) -> list[Card]:
        out = []
        for cid in ids:
            card = self.col.get_card(cid)
            out.append(
                Card(
                    int(card.id),
                    int(card.nid),
                    self._deck_name(card.did),
                    int(card.ord),
                    QUEUES.get(int(card.queue), str(card.queue)),
                    int(card.due),
                    int(card.ivl),
                )
            )
        return out

    def field_names(self, note_type: str) -> list[str]:
        model = self.col.models.by_name(note_type)
        if model is None:
            raise AnkiRejected(
                f"Anki has no note type {note_type!r} (it has: "
                f"{', '.join(sorted(m.name for m in self.col.models.all_names_and_ids()))})."
            )
        return [f["name"] for f in model["flds"]]

    def add(self, note_type: str, deck: str, fields: dict[str, str], tags: list[str]) -> int:
        import anki.errors

        note = self.col.new_note(self.col.models.by_name(note_type))
        for name, value in fields.items():
            note[name] = value
        note.tags = list(tags)
        deck_id = self.backend.create_deck(deck)
        try:
            self.col.add_note(note, deck_id)
        except anki.errors.AnkiException as e:
            raise AnkiRejected(f"Anki refused the note ({e}); nothing was added.") from e
        return int(note.id)

    def update(self, note_id: int, fields: dict[str, str] | None, tags: list[str] | None) -> None:
        note = self.col.get_note(note_id)
        for name, value in (fields or {}).items():
            note[name] = value
        if tags is not None:
            note.tags = list(tags)
        self.col.update_note(note)

    def delete(self, ids: Sequence[int]) -> None:
        self.col.remove_notes(list(ids))

    def decks(self) -> list[Deck]:
        out: list[Deck] = []

        def walk(node: Any, prefix: str) -> None:
            for child in node.children:
                name = f"{prefix}{child.name}"
                out.append(
                    Deck(
                        int(child.deck_id),
                        name,
                        int(child.new_count),
                        int(child.learn_count),
                        int(child.review_count),
                        int(child.total_in_deck),
                    )
                )
                walk(child, name + "::")

        walk(self.col.sched.deck_due_tree(), "")
        return out


class _ConnectSide:
    """Anki desktop through AnkiConnect: its actions, one request per call in bulk."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def call(self, action: str, **params: Any) -> Any:
        return self.backend._call(action, **params)

    def _search(self, action: str, query: str) -> list[int]:
        try:
            return [int(i) for i in self.call(action, query=query)]
        except AnkiRejected as e:
            raise AnkiRejected(f"Anki cannot search for {query!r}: {e}") from e

    def find_notes(self, query: str) -> list[int]:
        return self._search("findNotes", query)

    def find_cards(self, query: str) -> list[int]:
        return self._search("findCards", query)

    def notes(self, ids: Sequence[int]) -> list[Note]:
        infos = [i for i in self.call("notesInfo", notes=list(ids)) if i]
        firsts = [info["cards"][0] for info in infos if info.get("cards")]
        deck_of = {
            card: deck
            for deck, cards in self.call("getDecks", cards=firsts).items()
            for card in cards
        }
        out = []
        for info in infos:
            ordered = sorted(info["fields"].items(), key=lambda kv: kv[1]["order"])
            deck = deck_of.get(info["cards"][0], "") if info.get("cards") else ""
            out.append(
                Note(
                    int(info["noteId"]),
                    info["modelName"],
                    deck,
                    {name: value["value"] for name, value in ordered},
                    tuple(info["tags"]),
                    int(info.get("mod", 0)),
                )
            )
        return out

    def cards(self, ids: Sequence[int]) -> list[Card]:
        return [
            Card(
                int(info["cardId"]),
                int(info["note"]),
                info["deckName"],
                int(info["ord"]),
                QUEUES.get(int(info["queue"]), str(info["queue"])),
                int(info["due"]),
                int(info["interval"]),
            )
            for info in self.call("cardsInfo", cards=list(ids))
            if info
        ]

    def field_names(self, note_type: str) -> list[str]:
        names = self.call("modelNames")
        if note_type not in names:
            raise AnkiRejected(
                f"Anki has no note type {note_type!r} (it has: {', '.join(sorted(names))})."
            )
        return [str(n) for n in self.call("modelFieldNames", modelName=note_type)]

    def add(self, note_type: str, deck: str, fields: dict[str, str], tags: list[str]) -> int:
        self.call("createDeck", deck=deck)
        note = {
            "deckName": deck,
            "modelName": note_type,
            "fields": fields,
            "tags": tags,
            "options": {"allowDuplicate": True},
        }
        return int(self.call("addNote", note=note))

    def update(self, note_id: int, fields: dict[str, str] | None, tags: list[str] | None) -> None:
        change: dict[str, Any] = {"id": note_id}
        if fields:
            change["fields"] = fields
        if tags is not None:
            change["tags"] = tags
        if len(change) > 1:
            self.call("updateNote", note=change)

    def delete(self, ids: Sequence[int]) -> None:
        self.call("deleteNotes", notes=list(ids))

    def decks(self) -> list[Deck]:
        ids = {int(i): str(name) for name, i in self.call("deckNamesAndIds").items()}
        stats = self.call("getDeckStats", decks=sorted(ids.values()))
        return [
            Deck(
                int(s["deck_id"]),
                ids[int(s["deck_id"])],
                int(s["new_count"]),
                int(s["learn_count"]),
                int(s["review_count"]),
                int(s.get("total_in_deck", 0)),
            )
            for s in stats.values()
            if int(s["deck_id"]) in ids
        ]


# --- the API ------------------------------------------------------------------------------


class Anki:
    """Anki, open: a collection file (Anki desktop closed) or AnkiConnect (open).

    Use `open(...)` to get one, as a context manager (closing releases the collection
    file, which Anki desktop needs to open it)."""

    def __init__(self, backend: Any, *, repo: Any | None = None) -> None:
        from ankiops_git.anki.collection import CollectionBackend

        self._backend = backend
        self._repo = repo
        self._side: _Side
        if isinstance(backend, CollectionBackend):
            self._side = _CollectionSide(backend)
            self._store: ankiweb.LoginStore | None = ankiweb.login_store(backend.path, repo)
        else:
            self._side = _ConnectSide(backend)
            self._store = None

    def __repr__(self) -> str:
        where = getattr(self._backend, "path", None) or getattr(self._backend, "url", "?")
        return f"Anki({str(where)!r})"

    def __enter__(self) -> Anki:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._backend.close()

    # -- notes and cards ---------------------------------------------------------------

    def find_notes(self, query: str = "") -> Notes:
        """The notes Anki's search finds (the Browse window's syntax: `deck:Spanish
        tag:verb`, `"front:*ser*"`, `added:7`...), in id order."""
        return Notes(self._side.notes(sorted(self._side.find_notes(query))))

    def note(self, note_id: int) -> Note:
        """The note with this id; AnkiRejected if there is none."""
        found = self._side.notes([note_id]) if self._side.find_notes(f"nid:{note_id}") else []
        if not found:
            raise AnkiRejected(f"Anki has no note with id {note_id}.")
        return found[0]

    def find_cards(self, query: str = "") -> Cards:
        """The cards Anki's search finds (`is:due`, `deck:Spanish is:new`...), in id order."""
        return Cards(self._side.cards(sorted(self._side.find_cards(query))))

    def _check_fields(self, note_type: str, fields: dict[str, str]) -> list[str]:
        known = self._side.field_names(note_type)
        unknown = [name for name in fields if name not in known]
        if unknown:
            raise AnkiRejected(
                f"Note type {note_type!r} has no field {', '.join(map(repr, unknown))} (its "
                f"fields: {', '.join(known)}); nothing was written."
            )
        return known

    def add_note(
        self, note_type: str, deck: str, *, tags: Iterable[str] = (), **fields: str
    ) -> Note:
        """Add a note of `note_type` to `deck` (created if missing), fields by keyword;
        the note as Anki stored it. A field name that is not a Python name:
        `add_note("Basic", "D", **{"Back Extra": "..."})`."""
        known = self._check_fields(note_type, fields)
        if not fields.get(known[0], "").strip():
            raise AnkiRejected(
                f"The first field of {note_type!r}, {known[0]!r}, is empty: Anki would make "
                f"no card of it; nothing was added."
            )
        note_id = self._side.add(note_type, deck, dict(fields), list(tags))
        return self.note(note_id)

    def update_note(
        self, note: int | Note, *, tags: Iterable[str] | None = None, **fields: str
    ) -> Note:
        """Change some fields (by keyword) and/or replace the tags; the note afterwards."""
        current = note if isinstance(note, Note) else self.note(note)
        self._check_fields(current.type, fields)
        self._side.update(current.id, dict(fields), None if tags is None else list(tags))
        return self.note(current.id)

    def delete_notes(self, notes: Iterable[int | Note]) -> int:
        """Delete these notes and their cards; how many there were."""
        ids = [n.id if isinstance(n, Note) else int(n) for n in notes]
        if ids:
            self._side.delete(ids)
        return len(ids)

    # -- decks ------------------------------------------------------------------------------

    def decks(self) -> Decks:
        """Every deck, by name, with what is due today (new, learning, review) as Anki's
        deck list shows it; `decks()["Spanish"]` picks one."""
        return Decks(sorted(self._side.decks(), key=lambda d: d.name))

    # -- sync ---------------------------------------------------------------------------------

    def login(self, username: str, password: str, endpoint: str | None = None) -> SyncLogin:
        """Log in to AnkiWeb (or `endpoint`, your sync server) for `sync()`. The key is
        kept where Anki keeps it for a profile's collection, else in the deck
        repository's git config (`open(..., repo=...)`), else for this session only.
        Over AnkiConnect, log in within Anki instead."""
        login, _ = ankiweb.login_backend(
            self._backend, self._repo, username, password, endpoint, memory_ok=True
        )
        if isinstance(self._store, ankiweb.MemoryLoginStore):
            self._store.save(login, endpoint is not None)
        return login

    def sync(self, full: Full | None = None, *, media: bool = True) -> SyncReport:
        """Sync with AnkiWeb or your sync server (over AnkiConnect: Anki desktop's own
        sync). `full`: "upload" or "download" where Anki needs a full sync; without it,
        FullSyncRequired says what each way would lose and nothing is synced."""
        if self._store is not None:
            return ankiweb.sync(
                self._backend.col, self._store, full=full, media=None if media else False
            )
        return ankiweb.sync_backend(self._backend, full=full)


def open(  # noqa: A001 - the API's entry point reads as api.open(...)
    where: str | Path, *, key: str | None = None, repo: str | Path | None = None
) -> Anki:
    """Anki at `where`: an Anki profile name ("User 1"), a collection file path, or an
    AnkiConnect URL ("http://127.0.0.1:8765", Anki desktop open; `key`: its API key).
    `repo`: a deck repository whose git config keeps the sync login of a collection
    file outside a profile folder."""
    backend = open_backend(str(where), key=key)
    found = None
    if repo is not None:
        from ankiops_git import gitstore

        found = gitstore.open_repo(Path(repo))
    return Anki(backend, repo=found)
