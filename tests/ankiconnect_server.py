"""A loopback AnkiConnect: a real HTTP server on 127.0.0.1 over a real collection.

It speaks the AnkiConnect add-on's protocol for the actions ankiops-git uses, with
the add-on's request and reply shapes and error strings, as checked against its
source: devsdocs/anki-connect plugin/__init__.py (handler, multi, addNotes, notesInfo,
notesModTime, getDecks, changeDeck, updateNote, ...) and plugin/util.py (apiVersion 6),
and FooSoft/anki-connect plugin/web.py (HTTP handling, request schema,
format_success_reply / format_exception_reply, requestPermission's injected
`allowed`/`origin`). tests/test_ankiconnect_standin.py holds it to the real add-on:
the same requests to both, replies and effects compared.

Faithful where clients trip:
- HTTP/1.1 replies with Content-Length and no `Connection: close`, and the socket is
  closed after every response (web.py WebClient.advance). `close_delay` postpones
  that close, as the add-on's 25 ms poll loop does, so a client that reuses the
  connection sends into a socket that is about to close, and gets a reset.
- `version` missing means API version 4: bare results on success.
- `multi` runs each nested action through the full handler (own key and version).
- `key` must equal the configured api key (None by default) on every action but
  `requestPermission`: "valid api key must be provided".
- `addNotes` adds one by one and, if any failed, deletes those added and raises
  `str(list_of_errors)` (the current add-on's all-or-nothing).
- Test knobs: `ignore_field_updates` (note ids whose `updateNoteFields` silently does
  nothing, as when the note is open in Anki's browser), `unsupported` (actions that
  answer "unsupported action", as an old add-on), `fail_actions` (action -> error
  text it answers instead of running), `api_version`, `profile`, `api_key`.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import pprint
import select
import socket
import threading
import unicodedata
from pathlib import Path
from typing import Any

import anki.utils
from anki.collection import Collection, StripHtmlMode
from anki.consts import MODEL_CLOZE
from anki.decks import DeckId
from anki.errors import NotFoundError
from anki.notes import Note, NoteId

API_VERSION = 6


def format_success_reply(api_version: int, result: Any) -> Any:  # web.py
    if api_version <= 4:
        return result
    return {"result": result, "error": None}


def format_exception_reply(_api_version: int, exception: BaseException) -> Any:  # web.py
    return {"result": None, "error": str(exception)}


class LoopbackAnkiConnect:
    """Start with `.start()`, stop with `.stop()` (closes the collection). `.url`, `.col`."""

    def __init__(
        self,
        collection_path: str | Path,
        *,
        profile: str = "User 1",
        api_key: str | None = None,
        close_delay: float = 0.0,
    ) -> None:
        self.col = Collection(str(collection_path))
        self.profile = profile
        self.api_key = api_key
        self.close_delay = close_delay
        self.ignore_field_updates: set[int] = set()
        self.unsupported: set[str] = set()
        self.fail_actions: dict[str, str] = {}
        self.api_version = API_VERSION
        self.sync_configured = True
        self.syncs = 0
        self.actions: list[str] = []  # every action handled, nested ones included
        self.connections = 0  # connections accepted
        self.requests = 0  # requests answered (the add-on answers one per connection)
        self.reused_connections = 0  # connections a client sent a second request on
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._pending_closes: list[threading.Timer] = []
        self._lock = threading.Lock()  # the add-on runs everything on Anki's main thread

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._sock is not None, "server not started"
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, name="loopback-ankiconnect")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        for timer in self._pending_closes:
            timer.cancel()
            timer.function(*timer.args)
        with self._lock:
            if self.col.db is not None:
                self.col.close()

    # -- HTTP, the way plugin/web.py does it -----------------------------------------

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            try:
                self._serve_one(client)
            except OSError:
                client.close()

    def _serve_one(self, client: socket.socket) -> None:
        client.settimeout(5.0)
        data = b""
        while True:
            request = _parse_request(data)
            if request is not None:
                break
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            data += chunk
        body = self._respond(request)
        headers = (
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Access-Control-Allow-Origin: http://localhost\r\n"
            "Access-Control-Allow-Headers: *\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.requests += 1  # before sending: the client may look as soon as it has the reply
        client.sendall(headers.encode("utf-8") + body)
        # Close without reading anything more. With a delay, a request the client
        # sends meanwhile on this connection is never read: the close resets it.
        if self.close_delay:
            timer = threading.Timer(self.close_delay, self._close, (client,))
            timer.daemon = True
            self._pending_closes.append(timer)
            timer.start()
        else:
            client.close()

    def _close(self, client: socket.socket) -> None:
        """Close a connection; count it as reused if a second request came in on it."""
        if client.fileno() < 0:
            return  # closed already
        try:
            ready, _, _ = select.select([client], [], [], 0)
            if ready and client.recv(1, socket.MSG_PEEK):
                self.reused_connections += 1
        except OSError:
            pass
        client.close()

    def _respond(self, body: bytes) -> bytes:
        if not body:
            return json.dumps({"apiVersion": f"AnkiConnect v.{API_VERSION}"}).encode("utf-8")
        try:
            params = json.loads(body.decode("utf-8"))
            if (problem := _schema_error(params)) is not None:
                raise ValueError(problem)
        except ValueError as e:
            return json.dumps(format_exception_reply(API_VERSION, e)).encode("utf-8")
        if params.get("action") == "requestPermission":
            # web.py: no Origin header means allowed; it injects these two params.
            params["params"] = {**params.get("params", {}), "allowed": True, "origin": ""}
        with self._lock:
            return json.dumps(self.handler(params)).encode("utf-8")

    # -- the add-on's handler (plugin/__init__.py AnkiConnect.handler) ----------------

    def handler(self, request: dict[str, Any]) -> Any:
        name = request.get("action", "")
        version = request.get("version", 4)
        params = request.get("params", {})
        key = request.get("key")
        self.actions.append(name)
        try:
            if key != self.api_key and name != "requestPermission":
                raise Exception("valid api key must be provided")
            method = getattr(self, f"action_{name}", None)
            if method is None or name in self.unsupported:
                raise Exception("unsupported action")
            if name in self.fail_actions:
                raise Exception(self.fail_actions[name])
            try:
                result = method(**params)
            except TypeError as e:
                # wrong parameters: Python names the method, which in the add-on is
                # AnkiConnect.<action>
                raise TypeError(
                    str(e).replace(f"{type(self).__name__}.action_", "AnkiConnect.")
                ) from None
            reply = format_success_reply(version, result)
        except Exception as e:
            reply = format_exception_reply(version, e)
        return reply

    # -- helpers as in the add-on ------------------------------------------------------

    def _get_note(self, note_id: int) -> Note:
        try:
            return self.col.get_note(NoteId(note_id))
        except NotFoundError:
            raise NotFoundError(f"Note was not found: {note_id}", None, None, None) from None

    def _create_note(self, note: dict[str, Any]) -> Note:
        model = self.col.models.by_name(note["modelName"])
        if model is None:
            raise Exception("model was not found: {}".format(note["modelName"]))
        deck = self.col.decks.by_name(note["deckName"])
        if deck is None:
            raise Exception("deck was not found: {}".format(note["deckName"]))
        anki_note = Note(self.col, model)
        anki_note.note_type()["did"] = deck["id"]  # type: ignore[index]
        if "tags" in note:
            anki_note.tags = note["tags"]
        anki_names = anki_note.keys()
        for name, value in note["fields"].items():
            for anki_name in anki_names:
                if name.lower() == anki_name.lower():
                    anki_note[anki_name] = value
                    break
        options = note.get("options", {})
        allow_duplicate = options.get("allowDuplicate", False)
        if type(allow_duplicate) is not bool:
            raise Exception('option parameter "allowDuplicate" must be boolean')
        scope_options = options.get("duplicateScopeOptions", {})
        for name in ("checkChildren", "checkAllModels"):
            if name in scope_options and type(scope_options[name]) is not bool:
                raise Exception(f'option parameter "duplicateScopeOptions.{name}" must be boolean')
        state = self._duplicate_or_empty(anki_note, deck, options)
        if state == 1:
            raise Exception("cannot create note because it is empty")
        if state == 2:
            if allow_duplicate:
                return anki_note
            raise Exception("cannot create note because it is a duplicate")
        if state == 0:
            return anki_note
        raise Exception("cannot create note for unknown reason")

    def _duplicate_or_empty(self, note: Note, deck: Any, options: dict[str, Any]) -> int:
        """isNoteDuplicateOrEmptyInScope: 1 empty, 2 duplicate, 0 fine; Anki's own note
        check (which also refuses cloze markers outside a cloze field) unless the
        request sets duplicateScope "deck" or duplicateScopeOptions.checkAllModels."""
        scope = options.get("duplicateScope")
        scope_options = options.get("duplicateScopeOptions", {})
        check_all_models = scope_options.get("checkAllModels", False)
        if scope != "deck" and not check_all_models:
            return int(note.fields_check()) or 0
        value = note.fields[0]
        if not value.strip():
            return 1
        # anki.utils.field_checksum, through this collection's backend (the desktop app
        # sets the global translator it uses; this process has none)
        stripped = self.col._backend.strip_html(
            text=value, mode=StripHtmlMode.PRESERVE_MEDIA_FILENAMES
        )
        csum = int(anki.utils.checksum(stripped.encode("utf-8"))[:8], 16)
        dids = None
        if scope == "deck":
            did = deck["id"]
            if "deckName" in scope_options:
                other = self.col.decks.by_name(scope_options["deckName"])
                if other is None:
                    return 0
                did = other["id"]
            dids = {did}
            if scope_options.get("checkChildren", False):
                dids |= {child_id for _, child_id in self.col.decks.children(did)}
        query, args = "select id from notes where csum=?", [csum]
        if note.id:
            query, args = query + " and id!=?", [*args, note.id]
        if not check_all_models:
            query, args = query + " and mid=?", [*args, note.mid]
        assert self.col.db is not None
        for found in self.col.db.list(query, *args):
            if dids is None:
                return 2
            if set(self.col.db.list("select did from cards where nid=?", found)) & dids:
                return 2
        return 0

    # -- actions (names and parameters as in the add-on) -----------------------------

    def action_version(self) -> int:
        return self.api_version

    def action_requestPermission(self, origin: str, allowed: bool) -> dict[str, Any]:
        if not allowed:
            return {"permission": "denied"}
        return {
            "permission": "granted",
            "requireApikey": bool(self.api_key),
            "version": self.api_version,
        }

    def action_getActiveProfile(self) -> str:
        return self.profile

    def action_sync(self) -> None:
        if not self.sync_configured:
            raise Exception("sync: auth not configured")
        self.syncs += 1

    def action_multi(self, actions: list[dict[str, Any]]) -> list[Any]:
        return [self.handler(a) for a in actions]

    def action_deckNamesAndIds(self) -> dict[str, int]:
        return {d.name: int(d.id) for d in self.col.decks.all_names_and_ids()}

    def action_createDeck(self, deck: str) -> int:
        return int(self.col.decks.id(deck))  # type: ignore[arg-type]

    def action_changeDeck(self, cards: list[int], deck: str) -> None:
        did = self.col.decks.id(deck)
        mod = anki.utils.int_time()
        usn = self.col.usn()
        scids = anki.utils.ids2str(cards)
        self.col.sched.remFromDyn(cards)  # type: ignore[arg-type]
        self.col.db.execute(  # type: ignore[union-attr]
            "update cards set usn=?, mod=?, did=? where id in " + scids, usn, mod, did
        )

    def action_deleteDecks(self, decks: list[str], cardsToo: bool = False) -> None:
        if not cardsToo:
            raise Exception(
                "Since Anki 2.1.28 it's not possible to delete decks without deleting cards as well"
            )
        for deck in decks:
            # the add-on filters lazily: a subdeck already removed with its parent is
            # skipped rather than re-created by decks.id()
            if deck in {d.name for d in self.col.decks.all_names_and_ids()}:
                did = self.col.decks.id(deck)
                self.col.decks.remove([did])  # type: ignore[list-item]

    def action_getDeckConfig(self, deck: str) -> Any:
        if deck not in {d.name for d in self.col.decks.all_names_and_ids()}:
            return False
        did = self.col.decks.id(deck)
        return self.col.decks.config_dict_for_deck_id(did)  # type: ignore[arg-type]

    def action_setDeckConfigId(self, decks: list[str], configId: int) -> bool:
        names = {d.name for d in self.col.decks.all_names_and_ids()}
        if any(deck not in names for deck in decks):
            return False
        for deck in decks:
            deck_dict = self.col.decks.get(DeckId(self.col.decks.id(deck) or 0))
            assert deck_dict is not None
            deck_dict["conf"] = int(configId)
            self.col.decks.save(deck_dict)
        return True

    def action_findNotes(self, query: str | None = None) -> list[int]:
        if query is None:
            return []
        return [int(n) for n in self.col.find_notes(query)]

    def action_findCards(self, query: str | None = None) -> list[int]:
        if query is None:
            return []
        return [int(c) for c in self.col.find_cards(query)]

    def action_notesInfo(
        self, notes: list[int] | None = None, query: str | None = None
    ) -> list[dict[str, Any]]:
        if notes is None and query is None:
            raise Exception('Must provide either "notes" or a "query"')
        if query is not None:
            notes = self.action_findNotes(query)
        assert notes is not None
        nid_to_card_ids: dict[int, list[int]] = {}
        for start in range(0, len(notes), 999):  # 999: sqlite's variable limit
            batch = notes[start : start + 999]
            rows = self.col.db.all(  # type: ignore[union-attr]
                "select id, nid from cards where nid in ({}) order by ord".format(
                    ",".join("?" * len(batch))
                ),
                *batch,
            )
            for cid, nid in rows:
                nid_to_card_ids.setdefault(nid, []).append(cid)
        result: list[dict[str, Any]] = []
        for nid in notes:
            try:
                note = self._get_note(nid)
            except NotFoundError:
                result.append({})
                continue
            model = note.note_type()
            assert model is not None
            fields = {
                info["name"]: {"value": note.fields[info["ord"]], "order": info["ord"]}
                for info in model["flds"]
            }
            result.append(
                {
                    "noteId": note.id,
                    "profile": self.profile,
                    "tags": note.tags,
                    "fields": fields,
                    "modelName": model["name"],
                    "mod": note.mod,
                    "cards": nid_to_card_ids[nid],
                }
            )
        return result

    def action_notesModTime(self, notes: list[int]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for nid in notes:
            try:
                note = self._get_note(nid)
            except NotFoundError:
                result.append({})
                continue
            result.append({"noteId": note.id, "mod": note.mod})
        return result

    def action_getDecks(self, cards: list[int]) -> dict[str, list[int]]:
        decks: dict[str, list[int]] = {}
        for card in cards:
            did = self.col.db.scalar("select did from cards where id=?", card)  # type: ignore[union-attr]
            deck = self.col.decks.get(did)
            assert deck is not None
            decks.setdefault(deck["name"], []).append(card)
        return decks

    def action_cardsInfo(self, cards: list[int]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for cid in cards:
            try:
                card = self.col.get_card(cid)  # type: ignore[arg-type]
            except NotFoundError:
                result.append({})  # as the add-on: an empty entry for a missing card
                continue
            model = card.note_type()
            note = card.note()
            fields = {
                info["name"]: {"value": note.fields[info["ord"]], "order": info["ord"]}
                for info in model["flds"]
            }
            states = self.col._backend.get_scheduling_states(card.id)
            result.append(
                {
                    "cardId": card.id,
                    "fields": fields,
                    "fieldOrder": card.ord,
                    "question": card.question(),
                    "answer": card.answer(),
                    "modelName": model["name"],
                    "ord": card.ord,
                    "deckName": self.col.decks.name(card.did),
                    "css": model["css"],
                    "factor": card.factor,
                    "interval": card.ivl,
                    "note": card.nid,
                    "type": card.type,
                    "queue": card.queue,
                    "due": card.due,
                    "reps": card.reps,
                    "lapses": card.lapses,
                    "left": card.left,
                    "mod": card.mod,
                    "nextReviews": list(self.col._backend.describe_next_states(states)),
                    "flags": card.flags,
                }
            )
        return result

    def action_getReviewsOfCards(self, cards: list[int]) -> dict[int, list[dict[str, Any]]]:
        # the add-on: every card asked for, its revlog rows in the table's order; JSON
        # makes the card ids strings
        columns = ["id", "usn", "ease", "ivl", "lastIvl", "factor", "time", "type"]
        rows: dict[int, list[dict[str, Any]]] = {}
        for cid, *row in self.col.db.all(
            f"select cid, {', '.join(columns)} from revlog where cid in {anki.utils.ids2str(cards)}"
        ):
            rows.setdefault(cid, []).append(dict(zip(columns, row, strict=True)))
        return {card: rows.get(card, []) for card in cards}

    def action_getDeckStats(self, decks: list[str]) -> dict[int, dict[str, Any]]:
        wanted = [self.col.decks.id(d) for d in decks]
        nodes: dict[int, Any] = {}

        def collect(node: Any) -> None:
            nodes[node.deck_id] = node
            for child in node.children:
                collect(child)

        collect(self.col.sched.deck_due_tree())
        return {
            deck_id: {
                "deck_id": node.deck_id,
                "name": node.name,
                "new_count": node.new_count,
                "learn_count": node.learn_count,
                "review_count": node.review_count,
                "total_in_deck": node.total_in_deck,
            }
            for deck_id, node in nodes.items()
            if deck_id in wanted
        }

    def action_addNote(self, note: dict[str, Any]) -> int:
        anki_note = self._create_note(note)
        self.col.add_note(anki_note, anki_note.note_type()["did"])  # type: ignore[index]
        if len(anki_note.cards()) < 1:
            raise Exception(
                "The field values you have provided would make an empty question on all cards."
            )
        return int(anki_note.id)

    def action_addNotes(self, notes: list[dict[str, Any]]) -> list[int]:
        results: list[int] = []
        errs: list[str] = []
        for note in notes:
            try:
                results.append(self.action_addNote(note))
            except Exception as e:
                errs.append(str(e))
        if errs:
            self.action_deleteNotes(results)  # roll back: on error nothing happens
            raise Exception(str(errs))
        return results

    def action_updateNoteFields(self, note: dict[str, Any]) -> None:
        anki_note = self._get_note(note["id"])
        if int(note["id"]) in self.ignore_field_updates:
            return  # as when the note is open in Anki's browser: silently not applied
        for name, value in note["fields"].items():
            if name in anki_note:
                anki_note[name] = value
        self.col.update_note(anki_note, skip_undo_entry=True)

    def action_updateNote(self, note: dict[str, Any]) -> None:
        updated = False
        if "fields" in note:
            self.action_updateNoteFields(note)
            updated = True
        if "tags" in note:
            self.action_updateNoteTags(note["id"], note["tags"])
            updated = True
        if not updated:
            raise Exception('Must provide a "fields" or "tags" property.')

    def action_updateNoteTags(self, note: int, tags: list[str] | str) -> None:
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise Exception("Must provide tags as a list of strings")
        for old_tag in self._get_note(note).tags:
            self.col.tags.bulk_remove([NoteId(note)], old_tag)
        for new_tag in tags:
            self.col.tags.bulk_add([NoteId(note)], new_tag)

    def action_deleteNotes(self, notes: list[int]) -> None:
        self.col.remove_notes([NoteId(n) for n in notes])

    def action_storeMediaFile(
        self,
        filename: str,
        data: str | None = None,
        path: str | None = None,
        url: str | None = None,
        skipHash: str | None = None,
        deleteExisting: bool = True,
    ) -> str | None:
        if not (data or path or url):
            raise Exception('You must provide a "data", "path", or "url" field.')
        if data:
            media_data = base64.b64decode(data)
        elif path:
            media_data = Path(path).read_bytes()
        else:
            raise Exception("url downloads are not supported by the loopback server")
        if skipHash is not None and skipHash == hashlib.md5(media_data).hexdigest():
            return None
        if deleteExisting:
            self.col.media.trash_files([filename])
        # the add-on calls the legacy writeData, which keeps only the base name
        return self.col.media.write_data(os.path.basename(filename), media_data)

    def action_deleteMediaFile(self, filename: str) -> None:
        self.col.media.trash_files([filename])

    def action_getMediaFilesNames(self, pattern: str = "*") -> list[str]:
        path = os.path.join(self.col.media.dir(), pattern)
        return [os.path.basename(p) for p in glob.glob(path)]

    def action_retrieveMediaFile(self, filename: str) -> str | bool:
        filename = os.path.basename(filename)
        filename = unicodedata.normalize("NFC", filename)
        filename = self.col.media.stripIllegal(filename)  # type: ignore[attr-defined]
        path = os.path.join(self.col.media.dir(), filename)
        if os.path.exists(path):
            with open(path, "rb") as file:
                return base64.b64encode(file.read()).decode("ascii")
        return False

    def action_modelNames(self) -> list[str]:
        return [n.name for n in self.col.models.all_names_and_ids()]

    def action_modelFieldNames(self, modelName: str) -> list[str]:
        model = self.col.models.by_name(modelName)
        if model is None:
            raise Exception(f"model was not found: {modelName}")
        return [field["name"] for field in model["flds"]]

    def action_findModelsByName(self, modelNames: list[str]) -> list[dict[str, Any]]:
        models = []
        for name in modelNames:
            model = self.col.models.by_name(name)
            if model is None:
                raise Exception(f"model was not found: {name}")
            models.append(dict(model))
        return models

    def _model(self, name: str) -> Any:
        model = self.col.models.by_name(name)
        if model is None:
            raise Exception(f"model was not found: {name}")
        return model

    def action_updateModelTemplates(self, model: dict[str, Any]) -> None:
        anki_model = self._model(model["name"])
        templates = model["templates"]
        for template in anki_model["tmpls"]:
            wanted = templates.get(template["name"])
            if wanted:
                if wanted.get("Front"):
                    template["qfmt"] = wanted["Front"]
                if wanted.get("Back"):
                    template["afmt"] = wanted["Back"]
        self.col.models.update_dict(anki_model)

    def action_updateModelStyling(self, model: dict[str, Any]) -> None:
        anki_model = self._model(model["name"])
        anki_model["css"] = model["css"]
        self.col.models.update_dict(anki_model)

    def action_modelFieldAdd(
        self, modelName: str, fieldName: str, index: int | None = None
    ) -> None:
        mm = self.col.models
        model = self._model(modelName)
        if fieldName not in mm.field_map(model):
            mm.add_field(model, mm.new_field(fieldName))
        if index is not None:
            mm.reposition_field(model, mm.field_map(model)[fieldName][1], index)
        mm.update_dict(model)

    def action_modelFieldRemove(self, modelName: str, fieldName: str) -> None:
        mm = self.col.models
        model = self._model(modelName)
        found = mm.field_map(model).get(fieldName)
        if found is None:
            raise Exception(f"field was not found in {modelName}: {fieldName}")
        mm.remove_field(model, found[1])
        mm.update_dict(model)

    def action_createModel(
        self,
        modelName: str,
        inOrderFields: list[str],
        cardTemplates: list[dict[str, str]],
        css: str | None = None,
        isCloze: bool = False,
    ) -> dict[str, Any]:
        if len(inOrderFields) == 0:
            raise Exception("Must provide at least one field for inOrderFields")
        if len(cardTemplates) == 0:
            raise Exception("Must provide at least one card for cardTemplates")
        mm = self.col.models
        if modelName in [n.name for n in mm.all_names_and_ids()]:
            raise Exception("Model name already exists")
        m = mm.new(modelName)
        if isCloze:
            m["type"] = MODEL_CLOZE
        for field in inOrderFields:
            mm.add_field(m, mm.new_field(field))
        if css is not None:
            m["css"] = css
        for count, card in enumerate(cardTemplates, start=1):
            t = mm.new_template(card.get("Name", f"Card {count}"))
            t["qfmt"] = card["Front"]
            t["afmt"] = card["Back"]
            mm.add_template(m, t)
        mm.add(m)
        return dict(m)


# web.py request_schema: every request is checked against it (jsonschema.validate)
_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "minLength": 1},
        "version": {"type": "integer"},
        "params": {"type": "object"},
    },
    "required": ["action"],
}
_JSON_TYPES = {"object": dict, "string": str, "integer": int}


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[name])


def _schema_error(request: Any) -> str | None:
    """What web.py answers for a request that fails _REQUEST_SCHEMA: the first error
    (in the schema's order), worded as str(jsonschema.ValidationError) words it
    (jsonschema 4, which Anki ships; this process does not have it)."""

    def pretty(value: Any) -> str:
        return pprint.pformat(value, width=72, sort_dicts=False).replace("\n", "\n    ")

    def error(message: str, validator: str, key: str | None, schema: Any, instance: Any) -> str:
        schema_path = f"schema['properties'][{key!r}]" if key else "schema"
        instance_path = f"instance[{key!r}]" if key else "instance"
        return (
            f"{message}\n\nFailed validating {validator!r} in {schema_path}:\n"
            f"    {pretty(schema)}\n\nOn {instance_path}:\n    {pretty(instance)}"
        )

    if not _is_type(request, "object"):
        return error(f"{request!r} is not of type 'object'", "type", None, _REQUEST_SCHEMA, request)
    for key, schema in _REQUEST_SCHEMA["properties"].items():
        if key not in request:
            continue
        value = request[key]
        if not _is_type(value, schema["type"]):
            message = f"{value!r} is not of type {schema['type']!r}"
            return error(message, "type", key, schema, value)
        if "minLength" in schema and len(value) < schema["minLength"]:
            return error(f"{value!r} should be non-empty", "minLength", key, schema, value)
    for key in _REQUEST_SCHEMA["required"]:
        if key not in request:
            message = f"{key!r} is a required property"
            return error(message, "required", None, _REQUEST_SCHEMA, request)
    return None


def _parse_request(data: bytes) -> bytes | None:
    """The body once headers and Content-Length bytes are in (web.py parseRequest)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if len(rest) < length:
        return None
    return rest[:length]
