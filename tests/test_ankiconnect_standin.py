"""The AnkiConnect stand-in (tests/ankiconnect_server.py) held to the real add-on.

Every action ankiops-git's client sends (ankiops_git/anki/connect.py), plus the
protocol's corners (API 4 bare results, unsupported actions, errors inside `multi`),
goes to both, as the same requests in the same order: the stand-in, and real Anki
desktop 26.9.3 with the real AnkiConnect add-on (tests/realanki.py). Both start from a
new profile's collection with the AnkiOps note types made the same way
(`ConnectBackend.ensure_note_types`). The replies must be equal once the values that
legitimately differ are replaced: ids (notes, cards, decks, note types, deck options)
by "<kind>#n", n their order of first appearance among ids of that kind on that side,
and modification times by their type; search results, which Anki gives in no set
order, compare as sets. Error strings must be equal word for word. Each group of
steps ends by reading the state back (decks, every note, every card's deck and
template, note types; media files) the same way, so effects are compared too.

A step is one line of a table: `act(label, action, params)`; a parameter may be a
`ref` to an earlier step's result on the same side (ids differ between the sides) or
a `fmt` of such refs (search queries). A fast test checks that the table has a step
for every action connect.py sends. Where the stand-in differs, the stand-in is what
gets fixed, after the add-on's source (/work/shared/real-anki/addon/__init__.py).
"""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from ankiconnect_server import LoopbackAnkiConnect
from conftest import PROFILE
from realanki import RealAnki, in_anki

from ankiops_git.anki import connect
from ankiops_git.anki.connect import MANAGED_QUERY, ConnectBackend

# -- the step table's vocabulary ---------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """An earlier step's result on the side being run, at `path`, through `then`."""

    step: str
    path: tuple[str | int, ...] = ()
    then: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Fmt:
    """A string built from refs (and plain values): `template.format(*args)`."""

    template: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Step:
    label: str
    request: dict[str, Any] | None = None  # an AnkiConnect request
    body: bytes | None = None  # or a raw HTTP body, not necessarily a valid request
    fn: Callable[..., Any] | None = None  # or an @in_anki function (setup the API lacks)
    args: tuple[Any, ...] = ()
    fails: bool = False  # the real add-on answers an error (guards against vacuous passes)
    kind: str = "id"  # the kind of ids an @in_anki function returns


def ref(step: str, *path: str | int, then: Callable[[Any], Any] | None = None) -> Ref:
    return Ref(step, path, then)


def fmt(template: str, *args: Any) -> Fmt:
    return Fmt(template, args)


def req(action: str, params: dict[str, Any] | None = None, *, version: int | None = 6) -> Any:
    """An AnkiConnect request; `version=None` leaves the key out (API 4)."""
    request: dict[str, Any] = {"action": action}
    if version is not None:
        request["version"] = version
    if params is not None:
        request["params"] = params
    return request


def act(
    label: str,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    version: int | None = 6,
    fails: bool = False,
) -> Step:
    return Step(label, req(action, params, version=version), fails=fails)


def raw(label: str, body: bytes) -> Step:
    return Step(label, body=body, fails=body != b"")


def py(label: str, fn: Callable[..., Any], *args: Any, kind: str = "id") -> Step:
    return Step(label, fn=fn, args=args, kind=kind)


def csv(ids: Sequence[int]) -> str:
    return ",".join(map(str, ids))


def all_cards(infos: Sequence[dict[str, Any]]) -> list[int]:
    return [c for info in infos for c in info.get("cards", ())]


def non_cloze_cards(infos: Sequence[dict[str, Any]]) -> list[int]:
    return [c for i in infos if "Cloze" not in i.get("modelName", "") for c in i.get("cards", ())]


def plus_unknown(ids: Sequence[int]) -> list[int]:
    return [*ids, UNKNOWN_ID]


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


UNKNOWN_ID = 4242  # no note, card or deck has it; small, so never taken for an id
OPTIONS = {"allowDuplicate": True, "duplicateScope": "deck"}  # what connect.py sends


def note(
    deck: str,
    model: str,
    fields: dict[str, str],
    tags: Sequence[str] = (),
    options: dict[str, Any] | None = OPTIONS,
) -> dict[str, Any]:
    out: dict[str, Any] = {"deckName": deck, "modelName": model, "fields": fields}
    out["tags"] = list(tags)  # connect.py always sends tags
    if options is not None:
        out["options"] = options
    return out


def qa(deck: str, question: str, **kw: Any) -> dict[str, Any]:
    return note(deck, "AnkiOpsQA", {"Question": question, "Answer": "a"}, **kw)


def cloze(deck: str, text: str, extra: str = "", **kw: Any) -> dict[str, Any]:
    return note(deck, "AnkiOpsCloze", {"Text": text, "Extra": extra}, **kw)


def reversed_(deck: str, front: str, **kw: Any) -> dict[str, Any]:
    return note(deck, "AnkiOpsReversed", {"Front": front, "Back": "b"}, **kw)


def effects(tag: str) -> list[Step]:
    """Read the state back: decks, every note, every card's deck, note types."""
    return [
        act(f"{tag}: decks", "deckNamesAndIds"),
        act(f"{tag}: notes", "findNotes", {"query": "deck:*"}),
        act(f"{tag}: notesInfo", "notesInfo", {"notes": ref(f"{tag}: notes")}),
        act(f"{tag}: cards", "findCards", {"query": "deck:*"}),
        act(f"{tag}: getDecks", "getDecks", {"cards": ref(f"{tag}: cards")}),
        act(f"{tag}: filtered", "findCards", {"query": "deck:filtered"}),
        act(f"{tag}: first cards", "findCards", {"query": "card:1"}),  # by ord: which is which
        act(f"{tag}: second cards", "findCards", {"query": "card:2"}),
        act(f"{tag}: models", "modelNames"),
    ]


@in_anki
def make_filtered_deck(col: Any, name: str, search: str) -> int:
    """A filtered deck pulling in the cards `search` finds (no AnkiConnect action
    makes one); its id."""
    from anki.decks import DeckId

    deck = col.sched.get_or_create_filtered_deck(deck_id=DeckId(0))
    deck.name = name
    deck.config.search_terms[0].search = search
    deck.config.search_terms[0].limit = 100
    return int(col.sched.add_or_update_filtered_deck(deck).id)


@in_anki
def answer_first_card(col: Any, search: str) -> int:
    """Answer "Good" on the first card `search` finds, as a review in Anki does; its id."""
    card = col.get_card(sorted(col.find_cards(search))[0])
    card.start_timer()
    col.sched.answerCard(card, 3)
    return int(card.id)


@in_anki
def add_deck_config(col: Any, name: str) -> int:
    """A second options group (the client only copies existing ones); its id."""
    return int(col.decks.add_config_returning_id(name))


FRESH_MODEL = {
    "modelName": "Fresh",
    "inOrderFields": ["One", "Two"],
    "css": ".card { color: red; }",
    "isCloze": False,
    "cardTemplates": [
        {"Name": "Forward", "Front": "{{One}}", "Back": "{{FrontSide}}<hr>{{Two}}"},
        {"Front": "{{Two}}", "Back": "{{One}}"},
    ],
}
FRESH_CLOZE = {
    "modelName": "Fresh Cloze",
    "inOrderFields": ["Text", "Back Extra"],
    "isCloze": True,
    "cardTemplates": [{"Front": "{{cloze:Text}}", "Back": "{{cloze:Text}}{{Back Extra}}"}],
}
MEDIA_NAMES = [
    "plain.png",
    "UPPER.PNG",
    "what?.png",
    "a:b.png",
    "x y.png",
    'quote".png',
    "back\\slash.png",
    "e\u0301.png",  # decomposed é
    "sub/dir.png",
]

# -- the steps, in groups; each group starts from a new collection ------------------------

GROUPS: dict[str, list[Step]] = {
    "protocol": [
        act("requestPermission", "requestPermission"),
        act("requestPermission, API 4", "requestPermission", version=None),
        act("version", "version"),
        act("version, API 4", "version", version=None),
        act("getActiveProfile", "getActiveProfile"),
        act("deckNamesAndIds, API 4", "deckNamesAndIds", version=None),
        act("findNotes, API 4", "findNotes", {"query": "deck:*"}, version=None),
        act("error, API 4", "modelFieldNames", {"modelName": "Nope"}, version=None, fails=True),
        act("unsupported action", "renameDeck", {"deck": "x"}, fails=True),
        act("unsupported action, API 4", "renameDeck", version=None, fails=True),
        act("a helper, not an action", "createNote", {"note": {}}, fails=True),
        act("missing parameter", "modelFieldNames", {}, fails=True),
        act("unexpected parameter", "deckNamesAndIds", {"deck": "x"}, fails=True),
        act("findNotes without query", "findNotes"),
        act("sync without AnkiWeb login", "sync", fails=True),
        raw("empty body", b""),
        raw("not JSON", b"{nonsense"),
        raw("not UTF-8", b"\xff"),
        raw("not an object", b"[1]"),
        raw("no action", b"{}"),
        raw("empty action", b'{"action": ""}'),
        raw("action not text", b'{"action": 1}'),
        raw("version as text", b'{"action": "version", "version": "6"}'),
        raw("version true", b'{"action": "version", "version": true}'),
        raw("params not an object", b'{"action": "version", "params": []}'),
        act("multi, an action not an object", "multi", {"actions": ["x"]}, fails=True),
        act(
            "multi",
            "multi",
            {
                "actions": [
                    req("version"),
                    req("modelFieldNames", {"modelName": "Nope"}),
                    req("findNotes", {"query": "deck:*"}, version=None),
                    req("renameDeck"),
                    req("createDeck", {"deck": "Made in multi"}),
                    req("multi", {"actions": [req("getActiveProfile"), req("sync")]}),
                    req("modelFieldNames", {}),
                ]
            },
        ),
        act("multi, empty", "multi", {"actions": []}),
        act("multi, API 4", "multi", {"actions": [req("version"), req("nope")]}, version=None),
        act("multi, missing actions", "multi", {}, fails=True),
        *effects("protocol"),
    ],
    "decks": [
        act("deckNamesAndIds", "deckNamesAndIds"),
        act("createDeck", "createDeck", {"deck": "A"}),
        act("createDeck, existing", "createDeck", {"deck": "A"}),
        act("createDeck, nested", "createDeck", {"deck": "A::B::C"}),
        act("createDeck, Default", "createDeck", {"deck": "Default"}),
        act("createDeck, spaces and case", "createDeck", {"deck": " a::b "}),
        act("createDeck, case only", "createDeck", {"deck": "a"}),
        act("getDeckConfig, case only", "getDeckConfig", {"deck": "a"}),
        act("setDeckConfigId, case only", "setDeckConfigId", {"decks": ["a"], "configId": 1}),
        act("deckNamesAndIds, after", "deckNamesAndIds"),
        act("getDeckConfig", "getDeckConfig", {"deck": "A::B"}),
        act("getDeckConfig, Default", "getDeckConfig", {"deck": "Default"}),
        act("getDeckConfig, missing", "getDeckConfig", {"deck": "Nope"}),
        py("second options group", add_deck_config, "Other", kind="options"),
        act(
            "setDeckConfigId",
            "setDeckConfigId",
            {"decks": ["A::B", "A"], "configId": ref("second options group")},
        ),
        act("getDeckConfig, changed", "getDeckConfig", {"deck": "A::B"}),
        act(
            "setDeckConfigId, unknown deck",
            "setDeckConfigId",
            {"decks": ["A", "Nope"], "configId": 1},
        ),
        act("setDeckConfigId, id as text", "setDeckConfigId", {"decks": ["A"], "configId": "1"}),
        act("getDeckConfig, back", "getDeckConfig", {"deck": "A"}),
        act(
            "addNotes",
            "addNotes",
            {"notes": [qa("A::B::C", "q1"), qa("A", "q2"), qa("Default", "q3")]},
        ),
        act(
            "findNotes, did: no subdecks", "findNotes", {"query": fmt("did:{}", ref("createDeck"))}
        ),
        act("deleteDecks, cards kept", "deleteDecks", {"decks": ["A"]}, fails=True),
        act("deleteDecks, case only", "deleteDecks", {"decks": ["a"], "cardsToo": True}),
        act(
            "deleteDecks",
            "deleteDecks",
            {"decks": ["A::B", "A::B::C", "Nope", "Default"], "cardsToo": True},
        ),
        act("deleteDecks, none", "deleteDecks", {"decks": [], "cardsToo": True}),
        *effects("decks"),
    ],
    "add": [
        act("createDeck D", "createDeck", {"deck": "D"}),
        act("createDeck E", "createDeck", {"deck": "E"}),
        act(
            "addNotes",
            "addNotes",
            {
                "notes": [
                    qa("D", "q1", tags=["t1", "t2"]),
                    cloze("D", "{{c1::x}} {{c2::y}}"),
                    reversed_("E", "f1"),
                    note("D", "AnkiOpsChoice", {"Question": "q", "Choice 1": "c", "Answer": "1"}),
                ]
            },
        ),
        act("addNotes, empty list", "addNotes", {"notes": []}),
        act("duplicate, allowed", "addNotes", {"notes": [qa("D", "q1")]}),
        act(
            "duplicate in the deck",
            "addNotes",
            {"notes": [qa("D", "q1", options={"duplicateScope": "deck"})]},
            fails=True,
        ),
        act(
            "duplicate in another deck",
            "addNotes",
            {"notes": [qa("E", "q1", options={"duplicateScope": "deck"})]},
        ),
        act(
            "duplicate, no options",
            "addNotes",
            {"notes": [qa("D", "q1", options=None)]},
            fails=True,
        ),
        act(
            "empty first field",
            "addNotes",
            {"notes": [qa("D", "fine"), qa("D", ""), qa("D", " "), qa("D", "fine too")]},
            fails=True,
        ),
        act(
            "empty first field, no options",
            "addNotes",
            {"notes": [qa("D", "", options=None)]},
            fails=True,
        ),
        act("cloze marker in a QA note", "addNotes", {"notes": [qa("D", "{{c1::x}}")]}),
        act(
            "cloze marker in a QA note, no scope",
            "addNotes",
            {"notes": [qa("D", "ok"), qa("D", "{{c1::z}}", options={"allowDuplicate": True})]},
            fails=True,
        ),
        act(
            "cloze marker in Extra of a cloze note, no scope",
            "addNotes",
            {"notes": [cloze("D", "{{c1::a}}", extra="{{c2::b}}", options={})]},
            fails=True,
        ),
        act("cloze note without a cloze", "addNotes", {"notes": [cloze("D", "no markers")]}),
        act(
            "cloze note without a cloze, no scope",
            "addNotes",
            {"notes": [cloze("D", "none here", options={})]},
            fails=True,
        ),
        act("unknown deck", "addNotes", {"notes": [qa("Nope", "x")]}, fails=True),
        act(
            "unknown note type",
            "addNotes",
            {"notes": [note("D", "Nope", {"Question": "x"})]},
            fails=True,
        ),
        act(
            "allowDuplicate not a boolean",
            "addNotes",
            {"notes": [qa("D", "x", options={"allowDuplicate": "yes"})]},
            fails=True,
        ),
        act(
            "checkChildren not a boolean",
            "addNote",
            {"note": qa("D", "x", options={"duplicateScopeOptions": {"checkChildren": 1}})},
            fails=True,
        ),
        act(
            "checkAllModels: a duplicate of another type",
            "addNote",
            {
                "note": note(
                    "D",
                    "AnkiOpsInput",
                    {"Question": "q1", "Input": "i"},
                    options={"duplicateScopeOptions": {"checkAllModels": True}},
                )
            },
            fails=True,
        ),
        act(
            "duplicateScopeOptions.deckName, unknown deck",
            "addNote",
            {
                "note": qa(
                    "D",
                    "q1",
                    options={
                        "duplicateScope": "deck",
                        "duplicateScopeOptions": {"deckName": "Nope"},
                    },
                )
            },
        ),
        act("addNote", "addNote", {"note": qa("E", "single")}),
        act(
            "addNote, field names in any case",
            "addNote",
            {
                "note": qa("E", "x")
                | {"fields": {"question": "lower", "ANSWER": "up", "Unknown": "u"}}
            },
        ),
        act("addNote, empty first field", "addNote", {"note": qa("E", "")}, fails=True),
        act("addNote, unknown deck", "addNote", {"note": qa("Nope", "x")}, fails=True),
        *effects("add"),
    ],
    "notes": [
        act("createDeck D", "createDeck", {"deck": "D"}),
        act("createDeck E", "createDeck", {"deck": "E"}),
        act(
            "addNotes",
            "addNotes",
            {
                "notes": [
                    qa("D", "q1"),
                    reversed_("D", "f1"),
                    cloze("E", "{{c1::x}}{{c2::y}}"),
                    qa("E", "q2", tags=["old"]),
                ]
            },
        ),
        act(
            "an unmanaged note",
            "addNote",
            {"note": note("D", "Basic", {"Front": "b", "Back": "b"}, options=None)},
        ),
        act("notesInfo", "notesInfo", {"notes": ref("addNotes", then=plus_unknown)}),
        act("notesInfo, query", "notesInfo", {"query": "deck:D"}),
        act("notesInfo, neither", "notesInfo", {}, fails=True),
        act("notesModTime", "notesModTime", {"notes": ref("addNotes", then=plus_unknown)}),
        act("findNotes, managed", "findNotes", {"query": MANAGED_QUERY}),
        act("findNotes, did", "findNotes", {"query": fmt("did:{}", ref("createDeck D"))}),
        act(
            "findNotes, did managed",
            "findNotes",
            {"query": fmt("did:{} ({})", ref("createDeck D"), MANAGED_QUERY)},
        ),
        act(
            "findNotes, nid managed",
            "findNotes",
            {"query": fmt("nid:{},{} ({})", ref("addNotes", then=csv), UNKNOWN_ID, MANAGED_QUERY)},
        ),
        act("findNotes, bad query", "findNotes", {"query": "did:"}, fails=True),
        act(
            "findCards, strays",
            "findCards",
            {"query": fmt("nid:{} -did:{}", ref("addNotes", then=csv), ref("createDeck D"))},
        ),
        act("findCards, did", "findCards", {"query": fmt("did:{}", ref("createDeck D"))}),
        act("findCards, no filtered deck", "findCards", {"query": "deck:filtered"}),
        # export-apkg --include-scheduling reads cards' states (a filtered deck's order
        # is random: read before there is one; which of a cloze note's cards gets the
        # lower id varies, and cardsInfo answers in the order asked)
        act("cardsInfo", "cardsInfo", {"cards": ref("notesInfo", then=non_cloze_cards)}),
        act("cardsInfo, unknown card", "cardsInfo", {"cards": [UNKNOWN_ID]}),
        act("getDecks", "getDecks", {"cards": ref("notesInfo", then=all_cards)}),
        act("getDecks, unknown card", "getDecks", {"cards": [UNKNOWN_ID]}),
        py("a filtered deck", make_filtered_deck, "F", "deck:E", kind="deck"),
        act("findCards, filtered", "findCards", {"query": "deck:filtered"}),
        act("getDecks, filtered", "getDecks", {"cards": ref("findCards, filtered")}),
        act(
            "findCards, home deck",
            "findCards",
            {
                "query": fmt(
                    "did:{} cid:{}", ref("createDeck E"), ref("findCards, filtered", then=csv)
                )
            },
        ),
        # export-apkg --include-scheduling: review history, and the search that finds
        # a card to count Anki's day number from
        py("answer a card", answer_first_card, "deck:D", kind="card"),
        act("getReviewsOfCards", "getReviewsOfCards", {"cards": ref("notesInfo", then=all_cards)}),
        act("findCards, prop:due", "findCards", {"query": "prop:due>=-100000 -deck:filtered"}),
        act("changeDeck", "changeDeck", {"cards": ref("notesInfo", 0, "cards"), "deck": "E"}),
        act(
            "changeDeck, out of the filtered deck",
            "changeDeck",
            {"cards": ref("findCards, filtered"), "deck": "D"},
        ),
        act(
            "changeDeck, new deck",
            "changeDeck",
            {"cards": ref("notesInfo", 1, "cards"), "deck": "New::Sub"},
        ),
        act(
            "changeDeck, one card",
            "changeDeck",
            {"cards": [ref("notesInfo", 1, "cards", 1)], "deck": "D"},
        ),
        act(
            "updateNote, fields",
            "updateNote",
            {
                "note": {
                    "id": ref("addNotes", 0),
                    "fields": {"Question": "q1b", "Nope": "x", "answer": "y"},
                }
            },
        ),
        act(
            "updateNote, tags",
            "updateNote",
            {"note": {"id": ref("addNotes", 3), "tags": ["new", "t::sub"]}},
        ),
        act(
            "updateNote, both",
            "updateNote",
            {"note": {"id": ref("addNotes", 1), "fields": {"Back": "b2"}, "tags": ["both"]}},
        ),
        act(
            "updateNote, tags as text",
            "updateNote",
            {"note": {"id": ref("addNotes", 2), "tags": "one"}},
        ),
        act(
            "updateNote, bad tags",
            "updateNote",
            {"note": {"id": ref("addNotes", 2), "tags": [1]}},
            fails=True,
        ),
        act("updateNote, neither", "updateNote", {"note": {"id": ref("addNotes", 0)}}, fails=True),
        act(
            "updateNote, unknown note",
            "updateNote",
            {"note": {"id": UNKNOWN_ID, "fields": {"Question": "x"}}},
            fails=True,
        ),
        act(
            "updateNote, unknown note, tags",
            "updateNote",
            {"note": {"id": UNKNOWN_ID, "tags": []}},
            fails=True,
        ),
        act(
            "updateNote, tags like another note's",
            "updateNote",
            {"note": {"id": ref("addNotes", 0), "tags": ["OLD", "Both"]}},
        ),
        act("notesModTime, after", "notesModTime", {"notes": ref("addNotes")}),
        act("notesInfo, after", "notesInfo", {"notes": ref("addNotes")}),
        act("deleteNotes", "deleteNotes", {"notes": [ref("addNotes", 3), UNKNOWN_ID]}),
        act("notesInfo, deleted", "notesInfo", {"notes": [ref("addNotes", 3)]}),
        *effects("notes"),
    ],
    "note types": [
        act("modelNames", "modelNames"),
        act("modelFieldNames", "modelFieldNames", {"modelName": "AnkiOpsChoice"}),
        act("modelFieldNames, unknown", "modelFieldNames", {"modelName": "Nope"}, fails=True),
        act("findModelsByName", "findModelsByName", {"modelNames": ["AnkiOpsQA", "AnkiOpsCloze"]}),
        act(
            "findModelsByName, unknown",
            "findModelsByName",
            {"modelNames": ["AnkiOpsQA", "Nope"]},
            fails=True,
        ),
        act("createModel", "createModel", FRESH_MODEL),
        act("createModel, cloze", "createModel", FRESH_CLOZE),
        act("createModel, existing", "createModel", FRESH_MODEL, fails=True),
        act(
            "createModel, no fields",
            "createModel",
            FRESH_MODEL | {"modelName": "X", "inOrderFields": []},
            fails=True,
        ),
        act(
            "createModel, no cards",
            "createModel",
            FRESH_MODEL | {"modelName": "X", "cardTemplates": []},
            fails=True,
        ),
        act(
            "findModelsByName, created",
            "findModelsByName",
            {"modelNames": ["Fresh", "Fresh Cloze"]},
        ),
        act("modelFieldNames, created", "modelFieldNames", {"modelName": "Fresh"}),
        act(
            "updateModelTemplates",
            "updateModelTemplates",
            {"model": {"name": "Fresh", "templates": {"Forward": {"Front": "<b>{{One}}</b>"}}}},
        ),
        act(
            "updateModelTemplates, unknown",
            "updateModelTemplates",
            {"model": {"name": "Nope", "templates": {}}},
            fails=True,
        ),
        act(
            "updateModelStyling",
            "updateModelStyling",
            {"model": {"name": "Fresh", "css": ".card { color: blue; }"}},
        ),
        act("modelFieldAdd", "modelFieldAdd", {"modelName": "Fresh", "fieldName": "Three"}),
        act(
            "modelFieldAdd, existing, moved",
            "modelFieldAdd",
            {"modelName": "Fresh", "fieldName": "Three", "index": 0},
        ),
        act("modelFieldRemove", "modelFieldRemove", {"modelName": "Fresh", "fieldName": "Two"}),
        act(
            "modelFieldRemove, unknown",
            "modelFieldRemove",
            {"modelName": "Fresh", "fieldName": "Nope"},
            fails=True,
        ),
        act("findModelsByName, changed", "findModelsByName", {"modelNames": ["Fresh"]}),
        *effects("note types"),
    ],
    "media": [
        *(
            act(f"store {name!r}", "storeMediaFile", {"filename": name, "data": b64(name)})
            for name in MEDIA_NAMES
        ),
        act("store, replacing", "storeMediaFile", {"filename": "plain.png", "data": b64("new")}),
        act(
            "store, keeping the old",
            "storeMediaFile",
            {"filename": "plain.png", "data": b64("third"), "deleteExisting": False},
        ),
        act(
            "store, same hash",
            "storeMediaFile",
            {
                "filename": "plain.png",
                "data": b64("x"),
                "skipHash": "9dd4e461268c8034f5c8564e155c67a6",
            },
        ),
        act("store, no data", "storeMediaFile", {"filename": "x.png"}, fails=True),
        act("store, empty data", "storeMediaFile", {"filename": "x.png", "data": ""}, fails=True),
        *(
            act(f"retrieve {name!r}", "retrieveMediaFile", {"filename": name})
            for name in MEDIA_NAMES
        ),
        *(
            act(
                f"retrieve {name!r} as stored",
                "retrieveMediaFile",
                {"filename": ref(f"store {name!r}")},
            )
            for name in MEDIA_NAMES
        ),
        act("retrieve, kept", "retrieveMediaFile", {"filename": ref("store, keeping the old")}),
        act("retrieve, missing", "retrieveMediaFile", {"filename": "missing.png"}),
        act("names", "getMediaFilesNames"),
        act("delete as stored", "deleteMediaFile", {"filename": ref("store 'UPPER.PNG'")}),
        act("delete as asked", "deleteMediaFile", {"filename": "what?.png"}),
        act("delete, missing", "deleteMediaFile", {"filename": "missing.png"}),
        act("delete, in a folder", "deleteMediaFile", {"filename": "sub/dir.png"}),
        act("retrieve, deleted", "retrieveMediaFile", {"filename": ref("store 'UPPER.PNG'")}),
        act("names, after", "getMediaFilesNames"),
        act("names, pattern", "getMediaFilesNames", {"pattern": "*.PNG"}),
    ],
}


# -- running and comparing ---------------------------------------------------------------


class Side:
    """One AnkiConnect to send the steps to, and its collection for @in_anki setup."""

    def __init__(self, name: str, url: str, col: Any, lock: AbstractContextManager[Any]) -> None:
        self.name, self.url, self.col, self.lock = name, url, col, lock

    def post(self, request: dict[str, Any] | bytes) -> Any:
        reply = requests.post(
            self.url,
            data=request if isinstance(request, bytes) else json.dumps(request),
            headers={"Content-Type": "application/json", "Connection": "close"},
            timeout=60,
        )
        assert reply.status_code == 200, f"{self.name}: HTTP {reply.status_code}"
        return reply.json()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.lock:
            # through JSON, as the real side's answer comes
            return json.loads(json.dumps(fn(self.col, *args)))


def _is_envelope(reply: Any) -> bool:
    return isinstance(reply, dict) and set(reply) == {"result", "error"}


def _failed(reply: Any) -> bool:
    return _is_envelope(reply) and reply["error"] is not None


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        out = results[value.step]
        for key in value.path:
            out = out[key]
        return value.then(out) if value.then else out
    if isinstance(value, Fmt):
        return value.template.format(*(_resolve(a, results) for a in value.args))
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(v, results) for v in value]
    return value


def run_steps(side: Side, steps: Sequence[Step]) -> list[tuple[Any, Any]]:
    """Each step's request as sent (refs resolved) and reply (or @in_anki result)."""
    results: dict[str, Any] = {}
    out = []
    for step in steps:
        if step.fn is not None:
            sent: Any = [step.fn.__name__, *_resolve(step.args, results)]
            reply = side.run(step.fn, *sent[1:])
        elif step.body is not None:
            sent = step.body
            reply = side.post(sent)
        else:
            sent = _resolve(step.request, results)
            reply = side.post(sent)
        results[step.label] = reply["result"] if _is_envelope(reply) else reply
        out.append((sent, reply))
    return out


ID_MIN = 10**11  # ids are epoch milliseconds (or random 63-bit); anything below is a count
# legitimately different: modification times (seconds), a review's time taken (ms),
# the next intervals cardsInfo shows (Anki fuzzes them), a new card's due (its place
# in the new queue: real Anki's collection counts every card the earlier tests added)
VOLATILE = {"mod", "time", "nextReviews", "due"}
_ID_IN_TEXT = re.compile(r"(?<!\d)\d{12,19}(?!\d)")
# Ids of different kinds share values (a note's first card often has the note's id),
# so each kind is numbered on its own: the kind of the ids in an action's result...
ACTION_IDS = {
    "addNote": "note",
    "addNotes": "note",
    "findNotes": "note",
    "notesInfo": "note",
    "notesModTime": "note",
    "findCards": "card",
    "getDecks": "card",
    "changeDeck": "card",
    "createDeck": "deck",
    "deckNamesAndIds": "deck",
    "getDeckConfig": "options",
    "findModelsByName": "notetype",
    "createModel": "notetype",
}
# ... unless a key says otherwise for the value under it
KEY_IDS = {"noteId": "note", "note": "note", "cardId": "card", "cards": "card", "did": "deck"}


# results that are sets: the add-on's searches ask Anki for no order, and the order
# Anki gives them in varies (which of a cloze note's cards gets the lower id varies)
UNORDERED = {"findNotes", "findCards", "getDecks", "getMediaFilesNames"}


def _raw_order(item: Any) -> Any:
    return item if isinstance(item, int) and not isinstance(item, bool) else None


def _number_order(item: Any) -> Any:
    """An id's number; a name itself."""
    if not isinstance(item, str):
        return None
    match = re.fullmatch(r"[a-z]+#(\d+)", item)
    return (0, int(match.group(1)), "") if match else (1, 0, item)


def _sort_lists(value: Any, key: Callable[[Any], Any]) -> Any:
    """`value` with every list whose items all have a `key` sorted by it."""
    if isinstance(value, dict):
        return {k: _sort_lists(v, key) for k, v in value.items()}
    if isinstance(value, list):
        keys = [key(v) for v in value]
        if value and None not in keys:
            return [v for _, v in sorted(zip(keys, value, strict=True), key=lambda kv: kv[0])]
        return [_sort_lists(v, key) for v in value]
    return value


class Normaliser:
    """Ids become "<kind>#n", n their order of first appearance on this side among ids
    of that kind; modification times become their type."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, int], str] = {}

    def _id(self, kind: str, value: int) -> str:
        n = sum(k == kind for k, _ in self.ids)
        return self.ids.setdefault((kind, value), f"{kind}#{n}")

    def reply(self, request: dict[str, Any] | None, reply: Any, kind: str = "id") -> Any:
        """A reply to `request` (None: an @in_anki result, its ids of `kind`)."""
        if request is None:
            return self(reply, kind)
        action = request.get("action")
        if action == "multi" and _is_envelope(reply) and isinstance(reply["result"], list):
            nested = request["params"]["actions"]
            results = [self.reply(r, x) for r, x in zip(nested, reply["result"], strict=True)]
            return {"result": results, "error": self(reply["error"], "id")}
        if action == "multi" and isinstance(reply, list):  # API 4
            return [
                self.reply(r, x) for r, x in zip(request["params"]["actions"], reply, strict=True)
            ]
        kind = ACTION_IDS.get(str(action), "id")
        if action not in UNORDERED:
            return self(reply, kind)
        # a set: number new ids in id order, then list them in number order
        return _sort_lists(self(_sort_lists(reply, _raw_order), kind), _number_order)

    def __call__(self, value: Any, kind: str, key: str | None = None) -> Any:
        kind = KEY_IDS.get(key or "", kind)
        if key in VOLATILE:
            return f"<{type(value).__name__}>"
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if isinstance(value, int):
            return self._id(kind, value) if abs(value) >= ID_MIN else value
        if isinstance(value, str):
            return _ID_IN_TEXT.sub(lambda m: self._id(kind, int(m.group())), value)
        if isinstance(value, list):
            return [self(v, kind) for v in value]
        if isinstance(value, dict):  # keys that are ids (getReviewsOfCards) numbered too
            return {
                (self._id(kind, int(k)) if _ID_IN_TEXT.fullmatch(k) else k): self(value[k], kind, k)
                for k in sorted(value)
            }
        return value


@pytest.fixture
def standin(empty_collection_path: Path) -> Iterator[LoopbackAnkiConnect]:
    """The stand-in over a new collection, the AnkiOps note types made through it as
    the real side's are (createModel), and, like the real profile, no AnkiWeb login."""
    server = LoopbackAnkiConnect(empty_collection_path, profile=PROFILE)
    server.sync_configured = False
    server.start()
    try:
        ConnectBackend(server.url, profile=PROFILE).ensure_note_types()
        yield server
    finally:
        server.stop()


def _client_actions() -> set[str]:
    """Every action connect.py sends: the first argument of each `_call`, the name in
    each (action, params, about) tuple, and the read-only set."""
    tree = ast.parse(Path(connect.__file__).read_text(encoding="utf-8"))
    found = set(connect._READ_ONLY)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "_call":
            first = node.args[0] if node.args else None
        elif isinstance(node, ast.Tuple) and len(node.elts) == 3:
            first = node.elts[0] if isinstance(node.elts[1], ast.Dict | ast.DictComp) else None
        else:
            continue
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def _table_actions() -> set[str]:
    found: set[str] = set()

    def walk(request: Any) -> None:
        if isinstance(request, dict):
            found.add(request["action"])
            for nested in request.get("params", {}).get("actions", []):
                walk(nested)

    for steps in GROUPS.values():
        for step in steps:
            walk(step.request)
    return found


def test_the_table_covers_every_action_the_client_sends() -> None:
    client = _client_actions()
    assert {"addNotes", "notesInfo", "multi", "createModel"} <= client  # the parse works
    assert client - _table_actions() == set(), "add steps for these actions to GROUPS"


@pytest.mark.real_anki
@pytest.mark.parametrize("group", list(GROUPS))
def test_standin_answers_like_the_real_addon(
    group: str,
    standin: LoopbackAnkiConnect,
    real_anki: RealAnki,
    real_backend: ConnectBackend,
) -> None:
    steps = GROUPS[group]
    labels = [s.label for s in steps]
    assert len(set(labels)) == len(labels), "step labels must be unique"
    sides = [
        Side("stand-in", standin.url, standin.col, standin._lock),
        Side("real", real_anki.url, real_anki.col, nullcontext()),
    ]
    with ThreadPoolExecutor(2) as pool:  # real Anki's ~20 ms per request overlaps the stand-in's
        stand, real = pool.map(lambda side: run_steps(side, steps), sides)
    norm_stand, norm_real = Normaliser(), Normaliser()
    differences = []
    for step, (sent, s_reply), (_, r_reply) in zip(steps, stand, real, strict=True):
        s_norm = norm_stand.reply(step.request, s_reply, step.kind)
        r_norm = norm_real.reply(step.request, r_reply, step.kind)
        if s_norm != r_norm:
            shown = repr(sent) if isinstance(sent, bytes) else json.dumps(sent)
            differences.append(
                f"{step.label}:\n  sent      {shown[:300]}\n  stand-in  "
                f"{json.dumps(s_norm)[:1500]}\n  real      {json.dumps(r_norm)[:1500]}"
            )
        if step.fn is None and _failed(r_reply) != step.fails:
            differences.append(
                f"{step.label}: the real add-on {'failed' if _failed(r_reply) else 'succeeded'}, "
                f"the table says it {'fails' if step.fails else 'succeeds'}: {r_reply}"[:1500]
            )
    assert not differences, "\n\n".join(differences)
