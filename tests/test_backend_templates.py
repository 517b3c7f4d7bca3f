"""The AnkiOps note types as Anki renders them (card.question() / card.answer())."""

from __future__ import annotations

import re

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
