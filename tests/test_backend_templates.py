"""The AnkiOps note types as Anki renders them (card.question() / card.answer())."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from anki.cards import Card
from anki.notes import NoteId

from ankiops_git.anki.base import NewNote
from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.anki.templates import NoteTypeSpec, all_specs, css
from ankiops_git.convert.highlight import stylesheet


def _cards(backend: CollectionBackend, new: NewNote) -> list[Card]:
    (nid,) = backend.add_notes([new])
    return sorted(backend.col.get_note(NoteId(nid)).cards(), key=lambda c: c.ord)


def _text(html: str) -> str:
    """What the card shows as text: no CSS, scripts, tags or attributes."""
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)


def _more_block(html: str) -> str:
    match = re.search(r"<details[^>]*>.*?</details>", html, re.S)
    assert match, "no <details> block"
    return match.group(0)


def test_qa_card(collection_backend: CollectionBackend) -> None:
    fields = {"Question": "What is <i>ser</i>?", "Answer": "To be", "Extra": "Compare estar"}
    fields["More"] = "Latin <b>esse</b>"
    (card,) = _cards(collection_backend, NewNote("AnkiOpsQA", "D", fields))
    q, a = card.question(), card.answer()
    assert "What is <i>ser</i>?" in q and "To be" not in _text(q) and "esse" not in _text(q)
    assert "What is <i>ser</i>?" in a and "To be" in a and "Compare estar" in a
    more = _more_block(a)
    assert "Latin <b>esse</b>" in more and "<summary>More</summary>" in more


def test_empty_more_and_extra_leave_no_trace(collection_backend: CollectionBackend) -> None:
    (card,) = _cards(
        collection_backend, NewNote("AnkiOpsQA", "D", {"Question": "q", "Answer": "a"})
    )
    assert "<details" not in card.answer() and 'class="ankiops-extra"' not in card.answer()


def test_reversed_has_two_cards(collection_backend: CollectionBackend) -> None:
    fields = {"Front": "perro", "Back": "dog", "More": "m"}
    forward, backward = _cards(collection_backend, NewNote("AnkiOpsReversed", "D", fields))
    assert "perro" in forward.question() and "dog" not in _text(forward.question())
    assert "dog" in forward.answer()
    assert "dog" in backward.question() and "perro" not in _text(backward.question())
    assert "perro" in backward.answer() and "m" in _more_block(backward.answer())


def test_cloze_renders_the_deletion(collection_backend: CollectionBackend) -> None:
    text = "The capital of {{c1::France}} is {{c2::Paris::city}}."
    c1, c2 = _cards(collection_backend, NewNote("AnkiOpsCloze", "D", {"Text": text}))
    assert "Paris" in _text(c1.question()) and "France" not in _text(c1.question())
    assert re.search(r'class="cloze"[^>]*>\s*\[\.\.\.\]', c1.question())
    assert re.search(r'class="cloze"[^>]*>\s*France', c1.answer())
    assert "[city]" in _text(c2.question()) and "Paris" not in _text(c2.question())


def test_input_card_asks_for_typed_answer(collection_backend: CollectionBackend) -> None:
    fields = {"Question": "Capital of Spain?", "Input": "Madrid"}
    (card,) = _cards(collection_backend, NewNote("AnkiOpsInput", "D", fields))
    assert "Capital of Spain?" in card.question()
    assert "[[type:Input]]" in card.question()  # the reviewer turns this into a text box
    assert "[[type:Input]]" in card.answer()  # ... and into the comparison here
    assert "Madrid" not in _text(card.question())


def test_choice_card_shows_every_choice_without_javascript(
    collection_backend: CollectionBackend,
) -> None:
    fields = {
        "Question": "Which are rivers?",
        "Choice 1": "Rhine",
        "Choice 2": "Alps",
        "Choice 3": "Danube",
        "Answer": "1, 3",
        "More": "Both flow into seas.",
    }
    (card,) = _cards(collection_backend, NewNote("AnkiOpsChoice", "D", fields))
    q, a = card.question(), card.answer()
    for side in (q, a):
        items = re.findall(r'<li class="ankiops-choice" data-choice="(\d)">([^<]*)</li>', side)
        assert items == [("1", "Rhine"), ("2", "Alps"), ("3", "Danube")]  # empty 4-7 omitted
        assert "<script>" in side
    assert "1, 3" not in _text(q)
    assert '<span class="ankiops-choice-answer">1, 3</span>' in a
    assert "Both flow into seas." in _more_block(a)


def test_note_types_carry_highlighting_css_and_no_external_resources() -> None:
    sheet = css()
    assert stylesheet() in sheet and ".highlight" in sheet
    for spec in all_specs():
        assert spec.css == sheet
        for template in spec.templates:
            for text in (template.front, template.back):
                assert not re.search(r"https?:|//[a-z]|<link|@import|src=", text), spec.name
    assert not re.search(r"https?:|@import|url\(", sheet)


def test_existing_note_type_is_used_as_it_is(collection_backend: CollectionBackend) -> None:
    mm = collection_backend.col.models
    model = mm.by_name("AnkiOpsQA")
    assert model is not None
    model["tmpls"][0]["qfmt"] = "<h1>{{Question}}</h1>"
    model["css"] = ".card { color: red; }"
    mm.update_dict(model)
    collection_backend.ensure_note_types()
    again = mm.by_name("AnkiOpsQA")
    assert again is not None
    assert again["tmpls"][0]["qfmt"] == "<h1>{{Question}}</h1>"
    assert again["css"] == ".card { color: red; }"


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.name)
def test_created_note_type_matches_spec(
    collection_backend: CollectionBackend, spec: NoteTypeSpec
) -> None:
    model = collection_backend.col.models.by_name(spec.name)
    assert model is not None
    assert [f["name"] for f in model["flds"]] == list(spec.fields)
    assert [(t["name"], t["qfmt"], t["afmt"]) for t in model["tmpls"]] == [
        (t.name, t.front, t.back) for t in spec.templates
    ]
    assert (model["type"] == 1) == spec.is_cloze


# The Choice card's script, run by Node over a minimal DOM holding exactly the
# elements the rendered card has. Skipped where Node is not installed.
_DOM_JS = r"""
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
function makeItem(n, text) {
  const classes = new Set(), handlers = {};
  return {
    textContent: text, handlers,
    getAttribute: (name) => (name === "data-choice" ? n : null),
    classList: { add: (...c) => c.forEach((x) => classes.add(x)),
                 remove: (c) => classes.delete(c), list: () => [...classes].sort() },
    addEventListener: (ev, fn) => { handlers[ev] = fn; },
  };
}
function makeDocument(key) {
  const items = input.choices.map(([n, t]) => makeItem(n, t));
  const list = { children: items.slice(),
    querySelectorAll: () => items.slice(),
    appendChild(li) { this.children = this.children.filter((x) => x !== li).concat([li]); } };
  const answer = key === null ? null : { textContent: key };
  return { list, items, querySelector: (sel) =>
    sel === ".ankiops-choices" ? list : sel === ".ankiops-choice-answer" ? answer : null };
}
const store = {};
const storage = input.storage_works
  ? { getItem: (k) => (k in store ? store[k] : null), setItem: (k, v) => { store[k] = v; } }
  : { getItem: () => { throw new Error("denied"); },
      setItem: () => { throw new Error("denied"); } };
global.window = { sessionStorage: storage };
const run = (script, doc) => { global.document = doc; eval(script); };
const front = makeDocument(null);
run(input.front, front);
const frontOrder = front.list.children.map((li) => li.getAttribute("data-choice"));
const byNumber = (doc, n) => doc.items.find((li) => li.getAttribute("data-choice") === n);
for (const n of input.click) { byNumber(front, n).handlers.click(); }
const back = makeDocument(input.key);
run(input.back, back);
console.log(JSON.stringify({
  front: frontOrder,
  back: back.list.children.map((li) => li.getAttribute("data-choice")),
  classes: Object.fromEntries(
    back.items.map((li) => [li.getAttribute("data-choice"), li.classList.list()])),
}));
"""


def _script(html: str) -> str:
    match = re.search(r"<script>(.*?)</script>", html, re.S)
    assert match
    return match.group(1)


@pytest.mark.parametrize("storage_works", [True, False], ids=["sessionStorage", "no-storage"])
def test_choice_script_shuffles_and_marks_the_answer(
    collection_backend: CollectionBackend, storage_works: bool
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    choices = [(str(i), f"choice {i}") for i in range(1, 6)]
    fields = {"Question": "Pick", "Answer": "1, 3"} | {f"Choice {n}": t for n, t in choices}
    (card,) = _cards(collection_backend, NewNote("AnkiOpsChoice", "D", fields))
    payload = {
        "front": _script(card.question()),
        "back": _script(card.answer()),
        "choices": choices,
        "key": "1, 3",
        "click": ["1", "2"],
        "storage_works": storage_works,
    }
    orders = set()
    for _ in range(6):
        done = subprocess.run(
            [node, "-e", _DOM_JS], input=json.dumps(payload), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert sorted(result["front"]) == ["1", "2", "3", "4", "5"]
        assert result["back"] == result["front"]  # the back keeps the front's order
        assert result["classes"] == {
            "1": ["correct"],  # chosen and right
            "2": ["wrong"],  # chosen, not right
            "3": ["correct", "missed"],  # right, not chosen
            "4": [],
            "5": [],
        }
        orders.add(tuple(result["front"]))
    assert len(orders) > 1  # shuffled, not a fixed order
