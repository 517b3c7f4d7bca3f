"""The AnkiConnect backend: Anki desktop running with the AnkiConnect add-on (API version 6).

Request and reply shapes follow the add-on's source (FooSoft/anki-connect and its
fork devsdocs/anki-connect, plugin/__init__.py and plugin/web.py):
`{"action", "version", "params", "key"}` in, `{"result", "error"}` out; `multi` runs
each nested action through the same handler, so every nested action carries its own
`version` and `key`.

The add-on answers HTTP/1.1 and closes the socket after every response without a
`Connection: close` header. A keep-alive client then sends its next request into a
closing socket and gets "connection reset by peer". So every request here opens a
fresh connection (plain `requests.post`, no Session pool) and says `Connection: close`.

Writes are batched (`multi`, `addNotes`) and verified by reading back: the add-on
answers success for a field update it silently dropped when the note is open in
Anki's browser. Every call first checks that the active profile is the expected one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from ankiops_git.anki.base import (
    AnkiNote,
    CardState,
    NewNote,
    NoteUpdate,
    due_in_days,
    home_queue,
)
from ankiops_git.anki.templates import (
    CardTemplate,
    Existing,
    NoteTypeSpec,
    Pushed,
    TypeChange,
    changes,
)
from ankiops_git.anki.verify import check_managed, check_media_name, verify_updates
from ankiops_git.errors import (
    AnkiBusy,
    AnkiOpsError,
    AnkiRejected,
    AnkiUnavailable,
    NotesRefused,
    WrongProfile,
)
from ankiops_git.notetypes import BUILTIN, NoteTypes

DEFAULT_URL = "http://127.0.0.1:8765"
BYTES_PER_EXTRA_SECOND = 100_000  # a request's timeout grows 10 s per MB it sends
API_VERSION = 6
ADDON_CODE = "2055492159"


def managed_query(types: NoteTypes) -> str:
    """One search for every note of these types (names quoted; Anki's wildcards `*`,
    `_` and the characters `"` and `\\` escaped, so a name means only itself)."""

    def quoted(name: str) -> str:
        for c in '\\"*_':
            name = name.replace(c, "\\" + c)
        return f'"note:{name}"'

    return " OR ".join(quoted(name) for name in types.by_anki_name)


MANAGED_QUERY = managed_query(BUILTIN)  # the built-in note types' notes
# actions safe to resend if the connection drops before the reply
_READ_ONLY = {
    "requestPermission",
    "version",
    "getActiveProfile",
    "deckNamesAndIds",
    "findNotes",
    "findCards",
    "notesInfo",
    "notesModTime",
    "getDecks",
    "getDeckConfig",
    "modelNames",
    "modelFieldNames",
    "findModelsByName",
    "retrieveMediaFile",
}

_KEY_HOW = (
    "`git config ankiops.apikey <key>` in the deck repository (kept in .git/config, "
    "never committed), or environment variable ANKIOPS_ANKICONNECT_KEY."
)
# note_decks(ids) for up to this many notes reads them (notesInfo): cheaper than a
# search in every deck
_FEW_NOTES = 1000

Action = tuple[str, dict[str, Any], str]  # (action, params, what it is about, for errors)


class ConnectBackend:
    """`base.Backend` over AnkiConnect. `profile`: the Anki profile the data belongs to;
    when given, every call first checks Anki has that profile open (WrongProfile if not)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        key: str | None = None,
        *,
        profile: str | None = None,
        timeout: float = 60.0,
        remember_reads: bool = False,
        note_types: NoteTypes = BUILTIN,
    ) -> None:
        self.note_types = note_types  # the repository's note types: their notes are managed
        self.url = url.rstrip("/") or DEFAULT_URL
        self.key = key
        self.expected_profile = profile
        self.timeout = timeout
        self._handshake_done = False
        # `remember_reads`: keep what this backend read until it writes there, for a
        # backend that lives as long as one command. The reads of one push (its own,
        # the state saved after it, the fetch that brings the new ids back) then cost a
        # request once, not three times, on an add-on whose every request waits for its
        # poll timer. Each write forgets what it may have changed. Off, every read asks.
        self.remember_reads = remember_reads
        self._infos: dict[int, dict[str, Any]] = {}  # note id -> its notesInfo row
        self._card_decks: dict[int, str] = {}  # card id -> its home deck
        self._deck_ids: dict[str, int] | None = None
        self._field_names: dict[str, list[str]] = {}  # note type -> its fields
        self._loopback = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")

    # -- transport -------------------------------------------------------------------

    def _post(self, payload: dict[str, Any], action: str) -> Any:
        body = json.dumps(payload).encode("utf-8")
        attempts = 2 if action in _READ_ONLY else 1
        # The add-on reads a request in pieces on its poll timer (about 1.7 s per MB on a
        # quiet machine, several times that on a busy one), and Python counts the whole
        # send against the timeout: a big media file gets 10 s more per MB.
        timeout = self.timeout + len(body) / BYTES_PER_EXTRA_SECOND
        for attempt in range(attempts):
            try:
                # A fresh connection per request (the session ends with it): never a
                # pooled, possibly closed socket.
                with requests.Session() as session:
                    # Anki on this machine is never behind the user's HTTP proxy.
                    session.trust_env = not self._loopback
                    reply = session.post(
                        self.url,
                        data=body,
                        headers={"Content-Type": "application/json", "Connection": "close"},
                        timeout=timeout,
                    )
                break
            except requests.exceptions.ConnectTimeout as e:
                raise self._unreachable(e) from e
            except requests.exceptions.Timeout as e:
                # It answered before (the connection was made): slow, not unreachable.
                raise self._busy(action, timeout) from e
            except requests.exceptions.ConnectionError as e:
                if "timed out" in str(e):  # the request's sending took too long
                    raise self._busy(action, timeout) from e
                refused = _is_refused(e)
                if refused or attempt + 1 == attempts:
                    raise (
                        self._unreachable(e)
                        if refused
                        else AnkiUnavailable(
                            f"AnkiConnect at {self.url} dropped the connection during "
                            f"{action!r} ({_reason(e)}). Retry; if it keeps happening, "
                            f"restart Anki."
                        )
                    ) from e
        if reply.status_code == 403:
            raise AnkiUnavailable(
                f"AnkiConnect at {self.url} refused the request (403 Forbidden). Check the "
                f"add-on's webCorsOriginList setting (Tools > Add-ons > AnkiConnect > Config)."
            )
        if reply.status_code != 200:
            raise AnkiUnavailable(
                f"{self.url} answered HTTP {reply.status_code}, not like AnkiConnect. "
                f"Check the URL (the default is {DEFAULT_URL})."
            )
        try:
            return reply.json()
        except ValueError as e:
            raise AnkiUnavailable(
                f"{self.url} answered something that is not JSON: is it AnkiConnect? "
                f"Check the URL (the default is {DEFAULT_URL})."
            ) from e

    def _busy(self, action: str, timeout: float) -> AnkiBusy:
        return AnkiBusy(
            f"AnkiConnect at {self.url} did not answer {action!r} within "
            f"{round(timeout, 1):g} s: "
            f"Anki may still be working on it, or be showing a dialog (look at Anki's "
            f"window). Nothing is lost: once Anki answers, run the same command again; "
            f"notes Anki already added are recognised, not added twice."
        )

    def _unreachable(self, e: Exception) -> AnkiUnavailable:
        return AnkiUnavailable(
            f"Cannot reach AnkiConnect at {self.url} ({_reason(e)}). Start Anki and make "
            f"sure the AnkiConnect add-on (code {ADDON_CODE}) is installed and enabled; or, "
            f"with Anki closed, use the collection file instead: "
            f"anki::/path/to/collection.anki2 or anki::<profile name>."
        )

    def _payload(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"action": action, "version": API_VERSION, "params": params}
        if self.key is not None:
            payload["key"] = self.key
        return payload

    def _call(self, action: str, **params: Any) -> Any:
        """One action; its result, or the matching error."""
        self._handshake()
        return self._result(action, "", self._post(self._payload(action, params), action))

    def _result(self, action: str, about: str, reply: Any) -> Any:
        if not isinstance(reply, dict) or set(reply) != {"result", "error"}:
            raise AnkiUnavailable(
                f"AnkiConnect at {self.url} answered {action!r} in an unexpected shape "
                f"(API version {API_VERSION} expected). Update the AnkiConnect add-on."
            )
        if reply["error"] is not None:
            raise self._error(action, about, str(reply["error"]))
        return reply["result"]

    def _error(self, action: str, about: str, error: str) -> AnkiOpsError:
        if "valid api key must be provided" in error:
            return AnkiUnavailable(
                f"AnkiConnect at {self.url} refused the API key "
                f"({'none was given' if self.key is None else 'the key given is wrong'}). "
                f"Give the key set in the add-on's config (apiKey): {_KEY_HOW}"
            )
        if error == "unsupported action":
            return AnkiUnavailable(
                f"The AnkiConnect add-on at {self.url} is too old: it does not know the "
                f"action {action!r}. Update it (Tools > Add-ons > AnkiConnect > Check for "
                f"Updates) and restart Anki."
            )
        where = f"{action} ({about})" if about else action
        return AnkiRejected(f"AnkiConnect refused {where}: {error}")

    def _multi_each(self, actions: Sequence[Action]) -> list[Any]:
        """Run actions in one request; each one's result, or its error (an AnkiOpsError
        in its place). `multi` is not a transaction: every action runs."""
        if not actions:
            return []
        nested = [self._payload(name, params) for name, params, _ in actions]
        replies = self._call("multi", actions=nested)
        if not isinstance(replies, list) or len(replies) != len(actions):
            raise AnkiUnavailable(f"AnkiConnect at {self.url} answered 'multi' incompletely.")
        results: list[Any] = []
        for (name, _, about), reply in zip(actions, replies, strict=True):
            try:
                results.append(self._result(name, about, reply))
            except AnkiOpsError as e:
                results.append(e)
        return results

    def _multi(self, actions: Sequence[Action]) -> list[Any]:
        """Run actions in one request; AnkiRejected naming every one that failed.

        `multi` is not a transaction: actions before and after a failed one still ran.
        """
        results = self._multi_each(actions)
        errors = [r for r in results if isinstance(r, AnkiOpsError)]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            kind = type(errors[0]) if len({type(e) for e in errors}) == 1 else AnkiRejected
            raise kind(
                f"{len(errors)} of {len(actions)} batched actions failed: "
                + "; ".join(str(e) for e in errors)
            )
        return results

    def _handshake(self) -> None:
        """Once per backend: the add-on is there, new enough, and the key question settled.

        `requestPermission` needs no key and, without an Origin header, answers at once
        (plugin/web.py: no Origin means allowed) with the API version.
        """
        if self._handshake_done:
            return
        reply = self._post(self._payload("requestPermission", {}), "requestPermission")
        info = self._result("requestPermission", "", reply)
        if not isinstance(info, dict) or info.get("permission") != "granted":
            raise AnkiUnavailable(
                f"AnkiConnect at {self.url} did not grant access ({info!r}). Allow this "
                f"client in the add-on's config (webCorsOriginList), then retry."
            )
        version = int(info.get("version", 0))
        if version < API_VERSION:
            raise AnkiUnavailable(
                f"The AnkiConnect add-on at {self.url} speaks API version {version}; "
                f"ankiops-git needs {API_VERSION}. Update the add-on and restart Anki."
            )
        if info.get("requireApikey") and self.key is None:
            raise AnkiUnavailable(
                f"AnkiConnect at {self.url} requires an API key and none was given. Give "
                f"the add-on's apiKey: {_KEY_HOW}"
            )
        self._handshake_done = True

    def _check_profile(self) -> None:
        if self.expected_profile is None:
            return
        active = self._call("getActiveProfile")
        if active != self.expected_profile:
            raise WrongProfile(
                f"Anki has profile {active!r} open, but this repository belongs to profile "
                f"{self.expected_profile!r}; nothing was read or written. Switch profile in "
                f"Anki (File > Switch Profile) and retry."
            )

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: no connection outlives its request."""

    def profile(self) -> str:
        return str(self._call("getActiveProfile"))

    def sync(self) -> None:
        self._check_profile()
        self._forget()
        self._call("sync")

    def _forget(self, note_ids: Iterable[int] | None = None) -> None:
        """Forget what was read of these notes (of everything if None)."""
        if note_ids is None:
            self._infos.clear()
            self._card_decks.clear()
            self._deck_ids = None
            self._field_names.clear()
        else:
            for note_id in note_ids:
                self._infos.pop(note_id, None)

    # -- note types ------------------------------------------------------------------

    def ensure_note_types(
        self,
        allow_field_changes: bool = False,
        *,
        dry_run: bool = False,
        pushed: Pushed | None = None,
    ) -> list[str]:
        self._check_profile()
        self._forget()
        existing = set(self._call("modelNames"))
        present = [t.anki_name for t in self.note_types.all if t.anki_name in existing]
        have = dict(zip(present, self._model_shapes(present), strict=True))
        # every type checked before any is created or changed
        todo = changes(self.note_types, have, allow_field_changes, pushed)
        actions: list[Action] = []
        for change in todo:
            s = change.spec
            if change.create:
                actions.append(
                    (
                        "createModel",
                        {
                            "modelName": s.name,
                            "inOrderFields": list(s.fields),
                            "css": s.css,
                            "isCloze": s.is_cloze,
                            "cardTemplates": [
                                {"Name": t.name, "Front": t.front, "Back": t.back}
                                for t in s.templates
                            ],
                        },
                        s.name,
                    )
                )
            else:
                actions += _change_actions(change)
        if not dry_run:
            self._multi(actions)
        return [line for change in todo for line in change.lines()]

    def read_note_type(self, name: str) -> tuple[NoteTypeSpec, Existing] | None:
        """A note type as Anki has it (for `note-type import`), or None."""
        self._check_profile()
        if name not in set(self._call("modelNames")):
            return None
        (have,) = self._model_shapes([name])
        spec = NoteTypeSpec(
            name, tuple(have.fields), have.templates or (), have.css or "", bool(have.is_cloze)
        )
        return spec, have

    def _model_shapes(self, names: list[str]) -> list[Existing]:
        """Existing note types: fields, kind, templates and CSS. findModelsByName has
        them; an add-on without it gives the fields (modelFieldNames) only."""
        if not names:
            return []
        try:
            models = self._call("findModelsByName", modelNames=names)
            return [
                Existing(
                    [f["name"] for f in m["flds"]],
                    m["type"] == 1,
                    tuple(CardTemplate(t["name"], t["qfmt"], t["afmt"]) for t in m["tmpls"]),
                    m["css"],
                )
                for m in models
            ]
        except AnkiUnavailable as e:
            if "findModelsByName" not in str(e):
                raise
        fields = self._multi([("modelFieldNames", {"modelName": n}, n) for n in names])
        return [Existing(list(f), None) for f in fields]

    # -- decks -----------------------------------------------------------------------

    def decks(self) -> dict[str, int]:
        self._check_profile()
        if self._deck_ids is None or not self.remember_reads:
            self._deck_ids = {str(k): int(v) for k, v in self._call("deckNamesAndIds").items()}
        return dict(self._deck_ids)

    def create_deck(self, name: str) -> int:
        self._check_profile()
        self._deck_ids = None
        return int(self._call("createDeck", deck=name))

    renames_in_place = False

    def rename_deck(self, deck_id: int, new_name: str) -> int:
        """AnkiConnect has no rename: make deck `new_name` (or use the one an interrupted
        run made) with the deck's options group, move the deck's own cards there
        (changeDeck keeps review history), then remove the old deck if it is empty and
        has no subdecks. Returns the id of `new_name`. Each step is safe to repeat."""
        self._forget()  # read afresh, and cards change decks
        decks = self.decks()
        by_id = {v: k for k, v in decks.items()}
        if deck_id not in by_id:
            raise AnkiRejected(f"No deck with id {deck_id} in Anki; nothing renamed.")
        old = by_id[deck_id]
        if new_name == old:
            return deck_id
        if _deck_key(new_name) == _deck_key(old):
            # Anki takes names that differ only so for the same deck: AnkiConnect's
            # createDeck would hand back this deck, and nothing could be moved.
            raise AnkiRejected(
                f"Cannot rename deck {old!r} to {new_name!r} over AnkiConnect: the names "
                f"differ only in case or spaces, which Anki counts as the same deck. "
                f"Rename it in Anki (Browse, right-click the deck, Rename), then "
                f"`git pull anki`."
            )
        config, cards = self._multi(
            [
                ("getDeckConfig", {"deck": old}, old),
                ("findCards", {"query": f"did:{deck_id}"}, old),
            ]
        )
        new_id = decks.get(new_name) or int(self._call("createDeck", deck=new_name))
        if new_id == deck_id:  # never: the names are not the same deck (checked above)
            raise AnkiRejected(f"Anki took {new_name!r} for deck {old!r}; nothing renamed.")
        if isinstance(config, dict) and "id" in config:
            done = self._call("setDeckConfigId", decks=[new_name], configId=config["id"])
            if done is False:  # the add-on's answer when it did not set it
                raise AnkiRejected(
                    f"AnkiConnect did not give deck {new_name!r} the options of {old!r}; "
                    f"no card was moved. Retry."
                )
        if cards:
            self._call("changeDeck", cards=cards, deck=new_name)
        if not any(name.startswith(old + "::") for name in decks):
            self._delete_empty_decks([old])
        self._forget()
        return int(new_id)

    def deck_holds_only(self, deck_id: int, note_ids: Iterable[int]) -> bool:
        self._check_profile()
        found = self._call("findNotes", query=f"did:{deck_id}")
        return {int(n) for n in found} <= set(note_ids)

    def _delete_empty_decks(self, candidates: Iterable[str]) -> None:
        """Delete those of these decks in which, subdecks included, no card is left.

        deleteDecks removes a deck with its cards and every subdeck, so each deck's
        whole current subtree is checked, not just the decks named here.
        """
        self._deck_ids = None  # before deleting: read afresh
        current = self.decks()
        wanted = [n for n in candidates if n in current and current[n] != 1]  # 1: Default

        def subtree(name: str) -> list[str]:
            return [m for m in current if m == name or m.startswith(name + "::")]

        names = sorted({m for n in wanted for m in subtree(n)})
        left = self._multi([("findCards", {"query": f"did:{current[n]}"}, n) for n in names])
        busy = {n for n, cids in zip(names, left, strict=True) if cids}
        removable = [
            n
            for n in sorted(wanted, key=lambda n: -n.count("::"))
            if not busy.intersection(subtree(n))
        ]
        if removable:
            self._deck_ids = None
            self._call("deleteDecks", decks=removable, cardsToo=True)

    # -- notes: reads ----------------------------------------------------------------

    @property
    def _managed_query(self) -> str:
        if self.note_types is BUILTIN:
            return MANAGED_QUERY
        return managed_query(self.note_types)

    def _managed_ids(self) -> list[int]:
        return [int(n) for n in self._call("findNotes", query=self._managed_query)]

    def _managed_among(self, note_ids: Iterable[int] | None) -> list[int]:
        """The managed notes among these ids (all managed notes if None)."""
        if note_ids is None:
            return self._managed_ids()
        ids = sorted(set(note_ids))
        if not ids:
            return []
        query = f"nid:{','.join(map(str, ids))} ({self._managed_query})"
        return [int(n) for n in self._call("findNotes", query=query)]

    def mod_times(self, note_ids: Iterable[int] | None = None) -> dict[int, int]:
        self._check_profile()
        if note_ids is not None:
            wanted = sorted(set(note_ids))
            if len(wanted) <= _FEW_NOTES:  # one notesInfo, which later reads reuse
                infos = [r for r in self._notes_info(wanted) if self._managed(r)]
                if all("mod" in r for r in infos):
                    return {int(r["noteId"]): int(r["mod"]) for r in infos}
        ids = self._managed_among(note_ids)
        if not ids:
            return {}
        try:
            rows = self._call("notesModTime", notes=ids)
        except AnkiUnavailable as e:
            if "notesModTime" not in str(e):
                raise
            rows = self._call("notesInfo", notes=ids)  # older add-on: the heavier read
        return {r["noteId"]: r["mod"] for r in rows if r}

    def note_decks(self, note_ids: Iterable[int] | None = None) -> dict[int, str]:
        """A few notes: read as read_notes does. Many or all: one findNotes per deck in
        one `multi`, and exact lookups only where that is unclear.

        `did:N` matches a card whose deck or home deck is N, and not subdecks. A note
        found in one deck only has all its cards there. A note found in several (cards
        split across decks, or a card in a filtered deck) is looked up exactly, as
        read_notes does; those are few.
        """
        self._check_profile()
        if note_ids is not None:
            wanted = set(note_ids)
            if len(wanted) <= _FEW_NOTES:
                return {n.note_id: n.deck for n in self.read_notes(wanted)}
        decks = sorted(self.decks().items())
        # Given the ids, which are managed notes or not there at all, the search need not
        # ask for managed note types: twice as quick per deck.
        managed = "" if note_ids is not None else f" ({self._managed_query})"
        found = self._multi(
            [("findNotes", {"query": f"did:{i}{managed}"}, name) for name, i in decks]
        )
        # dict and set operations, not a loop per note: 100,000 notes in a few ms
        out: dict[int, str] = {}
        for (name, _), ids in zip(decks, found, strict=True):
            out.update(dict.fromkeys(ids, str(name)))
        unclear: list[int] = []
        if sum(map(len, found)) != len(out):  # found in several decks
            counts = Counter(nid for ids in found for nid in ids)
            unclear = sorted(nid for nid, n in counts.items() if n > 1)
        if note_ids is not None and out.keys() - wanted:
            out = {nid: out[nid] for nid in out.keys() & wanted}
            unclear = [nid for nid in unclear if nid in wanted]
        if unclear:
            out.update({n.note_id: n.deck for n in self.read_notes(unclear)})
        return out

    def deck_note_ids(self, deck_ids: Iterable[int]) -> set[int]:
        self._check_profile()
        queries = [
            ("findNotes", {"query": f"did:{i} ({self._managed_query})"}, f"deck {i}")
            for i in sorted(set(deck_ids))
        ]
        return {int(nid) for found in self._multi(queries) for nid in found}

    def _notes_info(self, note_ids: Sequence[int]) -> list[dict[str, Any]]:
        """notesInfo rows of the notes there, in this order; rows read before and not
        forgotten since are not asked again."""
        if not self.remember_reads:
            self._forget()
        unread = [n for n in dict.fromkeys(note_ids) if n not in self._infos]
        if unread:
            for row in self._call("notesInfo", notes=unread):
                if row:
                    self._infos[int(row["noteId"])] = row
        return [self._infos[n] for n in note_ids if n in self._infos]

    def read_notes(self, note_ids: Iterable[int] | None = None) -> list[AnkiNote]:
        """Managed notes, sorted by id: one notesInfo, one getDecks (no per-card render)."""
        self._check_profile()
        ids = self._managed_ids() if note_ids is None else list(dict.fromkeys(note_ids))
        infos = [r for r in self._notes_info(ids) if self._managed(r)]
        # `cards` lists the note's cards ordered by ord (plugin/__init__.py, notesInfo):
        # the first is the one whose deck is the note's deck.
        first_cards = {int(r["noteId"]): int(r["cards"][0]) for r in infos if r.get("cards")}
        unread = sorted(set(first_cards.values()) - self._card_decks.keys())
        if unread:
            self._card_decks.update(self._home_decks(unread))
        deck_of_card = self._card_decks
        out = []
        for info in sorted(infos, key=lambda r: int(r["noteId"])):
            nid = int(info["noteId"])
            fields = sorted(info["fields"].items(), key=lambda kv: kv[1]["order"])
            out.append(
                AnkiNote(
                    note_id=nid,
                    note_type=str(info["modelName"]),
                    fields={name: str(v["value"]) for name, v in fields},
                    tags=tuple(info.get("tags", ())),
                    deck=deck_of_card.get(first_cards.get(nid, -1), ""),
                    mod=int(info.get("mod", 0)),
                )
            )
        return out

    def _home_decks(self, cards: list[int]) -> dict[int, str]:
        """Card id -> the deck the card belongs to, as the collection backend reads it.

        getDecks names a card's current deck, which for a card in a filtered deck is
        the filtered deck. Those cards (found in the same request) are looked up
        again: `did:N` matches a card whose home deck is N too, so one findCards per
        regular deck, restricted to those cards, finds each card's home deck.
        """
        groups, filtered = self._multi(
            [
                ("getDecks", {"cards": cards}, f"{len(cards)} cards"),
                ("findCards", {"query": "deck:filtered"}, "cards in filtered decks"),
            ]
        )
        deck_of_card = {int(c): str(name) for name, cids in groups.items() for c in cids}
        borrowed = sorted(set(map(int, filtered)) & set(deck_of_card))
        if not borrowed:
            return deck_of_card
        filtered_decks = {deck_of_card[c] for c in borrowed}
        homes = [(name, i) for name, i in self.decks().items() if name not in filtered_decks]
        cids = ",".join(map(str, borrowed))
        found = self._multi(
            [("findCards", {"query": f"did:{i} cid:{cids}"}, name) for name, i in homes]
        )
        for (name, _), in_home in zip(homes, found, strict=True):
            for card in in_home:
                deck_of_card[int(card)] = str(name)
        return deck_of_card

    def _managed(self, info: dict[str, Any]) -> bool:
        return info.get("modelName") in self.note_types.by_anki_name

    def _require_managed(self, note_ids: Sequence[int], action: str) -> list[dict[str, Any]]:
        infos = self._notes_info(note_ids)
        check_managed(
            action,
            note_ids,
            {int(r["noteId"]): str(r["modelName"]) for r in infos},
            self.note_types,
        )
        return infos

    # -- notes: writes ---------------------------------------------------------------

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        if not notes:
            return []
        self._check_profile()
        types = sorted({n.note_type for n in notes})
        unknown = [t for t in types if t not in self.note_types.by_anki_name]
        if unknown:
            raise AnkiRejected(
                f"Cannot add notes of note type {', '.join(map(repr, unknown))}: not a "
                f"managed note type; nothing was added."
            )
        # addNote matches field names loosely and drops unknown ones: check them here.
        unread = [t for t in types if t not in self._field_names or not self.remember_reads]
        field_lists = self._multi([("modelFieldNames", {"modelName": t}, t) for t in unread])
        self._field_names.update(zip(unread, map(list, field_lists), strict=True))
        known = self._field_names
        for i, new in enumerate(notes):
            bad = [f for f in new.fields if f not in known[new.note_type]]
            if bad:
                raise AnkiRejected(
                    f"Note {i + 1} of the batch: note type {new.note_type!r} has no field "
                    f"{', '.join(map(repr, bad))} (its fields: "
                    f"{', '.join(known[new.note_type])}); nothing was added."
                )
        decks_before = self.decks()
        missing = sorted({n.deck for n in notes} - decks_before.keys())
        self._deck_ids = None
        created = self._multi([("createDeck", {"deck": d}, d) for d in missing])
        deck_ids = {**decks_before, **{d: int(i) for d, i in zip(missing, created, strict=True)}}
        self._deck_ids = dict(deck_ids)  # (a deck made in Anki meanwhile is read later)
        payload = [
            {
                "deckName": n.deck,
                "modelName": n.note_type,
                "fields": dict(n.fields),
                "tags": list(n.tags),
                # Identical notes are the user's business, as in the collection backend.
                # A duplicate scope makes the add-on skip Anki's note check, which
                # refuses a note with {{c1:: outside a cloze field (it is text there).
                "options": {"allowDuplicate": True, "duplicateScope": "deck"},
            }
            for n in notes
        ]
        ids: list[int | None]
        reasons: dict[int, str] = {}
        try:
            reply = self._call("addNotes", notes=payload)
        except AnkiRejected:
            # The current add-on's addNotes is all or nothing and does not say which
            # note it refused: add them one by one, so the rest go in and each
            # refusal is known.
            each = self._multi_each(
                [("addNote", {"note": p}, f"note {i + 1}") for i, p in enumerate(payload)]
            )
            ids = [None if isinstance(r, AnkiOpsError) else int(r) for r in each]
            reasons = {i: _refusal(r) for i, r in enumerate(each) if isinstance(r, AnkiOpsError)}
        else:
            if not isinstance(reply, list) or len(reply) != len(notes):
                raise AnkiUnavailable(
                    f"AnkiConnect at {self.url} answered 'addNotes' incompletely."
                )
            # older add-ons: null for a refused note, the rest added
            ids = [None if i is None else int(i) for i in reply]
            reasons = {i: "refused by AnkiConnect" for i, v in enumerate(ids) if v is None}
        self._home_strays(ids, notes, deck_ids)
        if reasons:
            if len(reasons) == len(notes):
                self._remove_new_decks(set(decks_before))
            raise NotesRefused(ids, reasons)
        return [int(i) for i in ids if i is not None]

    def _home_strays(
        self, ids: Sequence[int | None], notes: Sequence[NewNote], deck_ids: dict[str, int]
    ) -> None:
        """Move cards of just-added notes that are not in their note's deck into it.

        The add-on puts a new note's cards in the deck it names through the note type's
        remembered deck, which Anki's Browser, if open, can reset meanwhile: a few
        cards land in Default."""
        by_deck: dict[str, list[int]] = {}
        for note_id, new in zip(ids, notes, strict=True):
            if note_id is not None:
                by_deck.setdefault(new.deck, []).append(note_id)
        decks = sorted(by_deck)
        found = self._multi(
            [
                (
                    "findCards",
                    {"query": f"nid:{','.join(map(str, by_deck[d]))} -did:{deck_ids[d]}"},
                    d,
                )
                for d in decks
            ]
        )
        self._multi(
            [
                ("changeDeck", {"cards": cards, "deck": d}, d)
                for d, cards in zip(decks, found, strict=True)
                if cards
            ]
        )

    def _remove_new_decks(self, decks_before: set[str]) -> None:
        """Undo the decks a failed add created (they are empty unless someone was quick)."""
        self._delete_empty_decks(n for n in self._call("deckNamesAndIds") if n not in decks_before)

    def update_notes(self, updates: Sequence[NoteUpdate]) -> None:
        if not updates:
            return
        self._check_profile()
        ids = [u.note_id for u in updates]
        infos = {int(r["noteId"]): r for r in self._require_managed(ids, "update")}
        for update in updates:
            bad = [f for f in update.fields or {} if f not in infos[update.note_id]["fields"]]
            if bad:
                raise AnkiRejected(
                    f"Note {update.note_id}: note type "
                    f"{infos[update.note_id]['modelName']!r} has no field "
                    f"{', '.join(map(repr, bad))}; nothing was written."
                )
        actions: list[Action] = []
        for update in updates:
            note: dict[str, Any] = {"id": update.note_id}
            if update.fields is not None:
                note["fields"] = dict(update.fields)
            if update.tags is not None:
                note["tags"] = list(update.tags)
            if len(note) > 1:
                actions.append(("updateNote", {"note": note}, f"note {update.note_id}"))
        self._forget(ids)
        self._multi(actions)
        verify_updates(updates, self.read_notes(ids))

    def move_notes(self, note_ids: Sequence[int], deck: str) -> None:
        if not note_ids:
            return
        self._check_profile()
        infos = self._require_managed(note_ids, "move")
        cards = [int(c) for r in infos for c in r.get("cards", ())]
        self._forget(note_ids)
        for card in cards:
            self._card_decks.pop(card, None)
        self._deck_ids = None
        # changeDeck creates the deck if needed and only changes the cards' deck.
        self._call("changeDeck", cards=cards, deck=deck)

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        if not note_ids:
            return
        self._check_profile()
        self._require_managed(note_ids, "delete")
        self._forget(note_ids)
        self._call("deleteNotes", notes=list(note_ids))

    # -- scheduling ------------------------------------------------------------------

    def deck_options(self, deck_names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """getDeckConfig, one request for all decks (False for a deck Anki lacks)."""
        self._check_profile()
        found = self._multi([("getDeckConfig", {"deck": n}, n) for n in deck_names])
        return {n: c for n, c in zip(deck_names, found, strict=True) if isinstance(c, dict)}

    def card_states(self, note_ids: Sequence[int]) -> list[CardState]:
        """cardsInfo and getReviewsOfCards. AnkiConnect tells neither a filtered card's
        home-deck due nor Anki's day number: that is found by searching `prop:due` for
        one card due in days (`_today`); cards in a filtered deck are `undated`."""
        self._check_profile()
        cards: list[int] = []
        for chunk in _batches(list(note_ids), 1000):
            cards += self._call("findCards", query="nid:" + ",".join(map(str, chunk)))
        infos: list[dict[str, Any]] = []
        for chunk in _batches(cards, 500):  # cardsInfo renders every card
            infos += [i for i in self._call("cardsInfo", cards=chunk) if i]
        if not infos:
            return []
        history = self._call("getReviewsOfCards", cards=cards)
        filtered = set(map(int, self._call("findCards", query="deck:filtered")))
        dated = [i for i in infos if int(i["cardId"]) not in filtered]
        today = None
        if any(due_in_days(i["type"], i["queue"], i["due"]) for i in dated):
            today = self._today(dated)
        out: list[CardState] = []
        for i in infos:
            cid = int(i["cardId"])
            due, queue = int(i["due"]), int(i["queue"])
            undated = cid in filtered or (today is None and due_in_days(i["type"], queue, due))
            if undated:
                due = 0
                if queue >= 0:
                    queue = home_queue(i["type"], due)
            elif due_in_days(i["type"], queue, due):
                assert today is not None
                due -= today
            rows = history.get(str(cid), history.get(cid, []))
            reviews = sorted(
                (r["id"], r["ease"], r["ivl"], r["lastIvl"], r["factor"], r["time"], r["type"])
                for r in rows
            )
            out.append(
                CardState(
                    note_id=int(i["note"]),
                    ord=int(i["ord"]),
                    ctype=int(i["type"]),
                    queue=queue,
                    due=due,
                    ivl=int(i["interval"]),
                    factor=int(i["factor"]),
                    reps=int(i["reps"]),
                    lapses=int(i["lapses"]),
                    left=int(i["left"]),
                    flags=int(i.get("flags", 0)),
                    reviews=tuple(reviews),
                    undated=undated,
                )
            )
        return out

    def _today(self, infos: list[dict[str, Any]]) -> int | None:
        """Anki's day number, which AnkiConnect does not give: a card due in days (queue
        2 or 3, those `prop:due` searches) has due = today + N, and N is found by
        halving the range `prop:due>=N` holds for, about 18 searches. None if no card
        outside filtered decks is due in days."""
        ref = next((i for i in infos if i["queue"] in (2, 3)), None)
        if ref is None:
            found = self._call("findCards", query="prop:due>-100000 -deck:filtered")
            if not found:
                return None
            ref = self._call("cardsInfo", cards=[found[0]])[0]
        cid, due = int(ref["cardId"]), int(ref["due"])
        low, high = -100_000, 100_000  # prop:due>=low holds, prop:due>=high does not
        while high - low > 1:
            mid = (low + high) // 2
            if self._call("findCards", query=f"cid:{cid} prop:due>={mid}"):
                low = mid
            else:
                high = mid
        return due - low

    # -- media -----------------------------------------------------------------------

    def store_media(self, filename: str, data: bytes) -> str:
        """Store under `filename`, replacing a file of that name (storeMediaFile's
        deleteExisting, the default, moves the old one to Anki's media trash)."""
        check_media_name(filename)
        self._check_profile()
        encoded = base64.b64encode(data).decode("ascii")
        return str(self._call("storeMediaFile", filename=filename, data=encoded))

    def trash_media(self, filename: str) -> None:
        check_media_name(filename)
        self._check_profile()
        self._call("deleteMediaFile", filename=filename)

    def read_media(self, filename: str) -> bytes | None:
        check_media_name(filename)
        self._check_profile()
        return _media_bytes(filename, self._call("retrieveMediaFile", filename=filename))

    def read_media_many(self, filenames: Sequence[str]) -> list[bytes | None]:
        """One `multi` of retrieveMediaFile for all of them (a request each would wait
        for the add-on's poll timer every time)."""
        for name in filenames:
            check_media_name(name)
        if not filenames:
            return []
        self._check_profile()
        actions = [("retrieveMediaFile", {"filename": n}, n) for n in filenames]
        replies = self._multi(actions)
        return [_media_bytes(n, r) for n, r in zip(filenames, replies, strict=True)]

    def media_in_use(self, filenames: Iterable[str]) -> set[str]:
        """Every note's fields are read (notesInfo, 500 notes a request): Anki's search
        could not be trusted to see names inside HTML tags."""
        wanted = set(filenames)
        if not wanted:
            return set()
        self._check_profile()
        ids = sorted(int(n) for n in self._call("findNotes", query="deck:*"))
        found: set[str] = set()
        for batch in _batches(ids, 500):
            for row in self._call("notesInfo", notes=batch):
                values = [str(f.get("value", "")) for f in (row or {}).get("fields", {}).values()]
                text = "\x1f".join(values)
                found |= {name for name in wanted - found if name in text}
            if found == wanted:
                break
        return found


def _media_bytes(filename: str, encoded: Any) -> bytes | None:
    """retrieveMediaFile's answer as bytes: false for a missing file ("" is an empty one)."""
    if encoded is False or encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise AnkiRejected(f"AnkiConnect sent media file {filename!r} garbled: {e}") from e


def _change_actions(change: TypeChange) -> list[Action]:
    """The requests that bring an existing note type to `change.spec`."""
    name = change.spec.name
    out: list[Action] = [
        ("modelFieldAdd", {"modelName": name, "fieldName": f}, f"{name}: field {f}")
        for f in change.add_fields
    ]
    out += [
        ("modelFieldRemove", {"modelName": name, "fieldName": f}, f"{name}: field {f}")
        for f in change.remove_fields
    ]
    if change.templates:
        templates = {t.name: {"Front": t.front, "Back": t.back} for t in change.spec.templates}
        out.append(
            ("updateModelTemplates", {"model": {"name": name, "templates": templates}}, name)
        )
    if change.css:
        out.append(("updateModelStyling", {"model": {"name": name, "css": change.spec.css}}, name))
    return out


def _deck_key(name: str) -> str:
    """What Anki compares deck names by: case and the spaces around each part aside."""
    return "::".join(part.strip().casefold() for part in name.split("::"))


def _refusal(e: AnkiOpsError) -> str:
    """The add-on's own words for a refused note, without our "AnkiConnect refused" lead."""
    return str(e).split(": ", 1)[-1]


def _reason(e: Exception) -> str:
    text = str(e)
    for known in ("Connection refused", "Connection reset by peer", "Remote end closed"):
        if known in text:
            return known.lower()
    return text if len(text) < 160 else text[:157] + "..."


def _is_refused(e: Exception) -> bool:
    return "refused" in str(e).lower() or "Failed to establish a new connection" in str(e)


def _batches(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
