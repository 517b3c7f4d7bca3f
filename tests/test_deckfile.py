"""Deck file parser/writer and file naming: round trips, canonical form, positions."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ankiops_git import deckfile
from ankiops_git.config import Config
from ankiops_git.errors import AnkiOpsError, DeckFileError
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import NOTE_TYPES

CANONICAL = """\
<!-- deck_id: 1700000000000 -->

<!-- note_id: 1700000000001 -->
<!-- tags: spanish verbs::irregular -->
Q: What is *ser*?
A: To be (permanent).
E: Compare *estar*.

---

T: The capital of France is {{c1::Paris}}.

---

<!-- note_id: 3 -->
Q:
```python
---
A: inside a fence
<!-- note_id: 9 -->
```
A: Fenced code keeps its `---` and prefixes.

---

F: perro
B: dog
M: more

---

Q: 2 + 2?
I: 4

---

Q: Which are primes?
C1: 2
C2: 4
C3: 5
A: 1, 3
"""


def test_canonical_example_parses_to_the_expected_notes() -> None:
    deck = deckfile.parse(CANONICAL, "Spanish__Verbs.md")
    assert deck.deck_id == 1700000000000
    assert deck.name == "Spanish::Verbs"
    assert [n.note_type for n in deck.notes] == ["QA", "Cloze", "QA", "Reversed", "Input", "Choice"]
    first = deck.notes[0]
    assert first.note_id == 1700000000001
    assert first.tags == ["spanish", "verbs::irregular"]
    assert first.fields == {
        "Question": "What is *ser*?",
        "Answer": "To be (permanent).",
        "Extra": "Compare *estar*.",
    }
    assert first.line == 3
    assert first.field_lines == {"Question": 5, "Answer": 6, "Extra": 7}
    fenced = deck.notes[2]
    assert fenced.fields["Question"] == (
        "```python\n---\nA: inside a fence\n<!-- note_id: 9 -->\n```"
    )
    assert fenced.fields["Answer"] == "Fenced code keeps its `---` and prefixes."
    assert fenced.field_lines == {"Question": 16, "Answer": 22}
    assert deck.notes[5].fields["Choice 3"] == "5"
    assert deck.notes[5].fields["Answer"] == "1, 3"


def test_canonical_text_round_trips_byte_for_byte() -> None:
    assert deckfile.write(deckfile.parse(CANONICAL)) == CANONICAL


def test_crlf_bom_and_missing_final_newline_are_read_and_normalised() -> None:
    messy = "\ufeff" + CANONICAL.replace("\n", "\r\n").rstrip("\r\n")
    deck = deckfile.parse(messy)
    assert deck == deckfile.parse(CANONICAL)
    assert deck.notes[1].line == 11  # line numbers count CRLF lines the same
    assert deckfile.write(deck) == CANONICAL


NON_CANONICAL = """

<!-- deck_id: 5 -->


<!-- tags: b a -->

<!-- note_id: 12 -->
A:   kept leading spaces   \t\nQ:
Question on the next line

E:
---
Q:
~~~~
Q: fenced in tildes
~~~
still fenced
~~~~~
---\t  \n\n\n\nT: {{c1::x}}  \n"""

NON_CANONICAL_WRITTEN = """\
<!-- deck_id: 5 -->

<!-- note_id: 12 -->
<!-- tags: b a -->
Q: Question on the next line
A:   kept leading spaces

---

Q:
~~~~
Q: fenced in tildes
~~~
still fenced
~~~~~

---

T: {{c1::x}}
"""


def test_non_canonical_input_reaches_canonical_form_in_one_step() -> None:
    # Note 2 has only a fenced Q: (an incomplete QA note is readable; validate flags it).
    once = deckfile.write(deckfile.parse(NON_CANONICAL))
    assert once == NON_CANONICAL_WRITTEN
    assert deckfile.write(deckfile.parse(once)) == once


def test_prefix_line_that_opens_a_fence_is_written_with_the_prefix_alone() -> None:
    deck = deckfile.parse("Q: ```\n---\n```\nA: a\n")
    assert deck.notes[0].fields["Question"] == "```\n---\n```"
    assert deckfile.write(deck) == "Q:\n```\n---\n```\nA: a\n"


def test_closing_fence_must_match_character_and_length() -> None:
    text = "Q:\n````\n```\n~~~~\n---\nA: x\n````\nA: done\n"
    note = deckfile.parse(text).notes[0]
    assert note.fields == {"Question": "````\n```\n~~~~\n---\nA: x\n````", "Answer": "done"}


def test_a_code_block_in_a_list_item_is_a_fence_closed_at_the_items_indent() -> None:
    """`- ```` opens a fence in the list item; its closing fence is indented like the
    item's text. Anki's editor makes such lists (a code block in a bullet), and the
    converter writes them so; before, the closing line read as a new, unclosed fence."""
    text = (
        "Q: install?\nA: Steps:\n- ```\n  pip install x\n  ```\n1. ```sh\n   ---\n   ```\n"
        "\n---\n\nQ: second\nA: two\n"
    )
    deck = deckfile.parse(text)
    assert [n.fields["Question"] for n in deck.notes] == ["install?", "second"]
    assert deck.notes[0].fields["Answer"].endswith("1. ```sh\n   ---\n   ```")
    assert deckfile.write(deck) == text
    # at the start of a line, a closing fence may be indented three spaces at most
    assert deckfile.parse("Q: a\n```\n    ```\n---\n```\nA: b\n").notes[0].fields == {
        "Question": "a\n```\n    ```\n---\n```",
        "Answer": "b",
    }


def test_backtick_fence_info_with_backtick_is_not_a_fence() -> None:
    # CommonMark: ``` followed by text containing ` is inline code, not a fence.
    deck = deckfile.parse("Q: a\n``` x`y\nA: b\n")
    assert deck.notes[0].fields == {"Question": "a\n``` x`y", "Answer": "b"}


def test_trailing_blanks_never_change_what_a_line_is() -> None:
    # A field's last line loses its trailing blanks, so `A:` + tab must already be a prefix.
    note = deckfile.parse("Q: a\nA:\t\nE: x\n").notes[0]
    assert note.fields == {"Question": "a", "Extra": "x"}
    assert note.field_lines == {"Question": 1, "Answer": 2, "Extra": 3}
    with pytest.raises(DeckFileError, match="merge conflict"):
        deckfile.parse("Q: a\n<<<<<<<\t\n")
    # Only spaces and tabs are trimmed: a no-break space is text.
    note = deckfile.parse("Q: a\n\u00a0\nA: b \t\n").notes[0]
    assert note.fields == {"Question": "a\n\u00a0", "Answer": "b"}


def test_empty_file_and_deck_id_only() -> None:
    assert deckfile.parse("") == Deck()
    assert deckfile.write(Deck()) == ""
    assert deckfile.parse("<!-- deck_id: 7 -->\n") == Deck(deck_id=7)
    assert deckfile.parse("", ".md").name is None
    assert deckfile.parse("", "dir/A__B.md").name == "A::B"
    assert deckfile.write(Deck(deck_id=7)) == "<!-- deck_id: 7 -->\n"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("Q: a\nA: b\n<<<<<<< ours\nA: c\n=======\nA: d\n>>>>>>> theirs\n", 3, "lines 3-7"),
        ("Q: a\nA: b\n\n---\n\nX: c\n", 6, "unknown field prefix `X:`"),
        ("Q:a\nA: b\n", 1, "needs a space after the colon"),
        ("hello\nQ: a\nA: b\n", 1, "expected a field prefix"),
        ("<!-- note_id: 12x -->\nQ: a\nA: b\n", 1, "malformed note_id comment"),
        ("<!-- tags: a b\nQ: a\nA: b\n", 1, "malformed tags comment"),
        ("<!-- deck_id: x -->\n\nQ: a\nA: b\n", 1, "malformed deck_id comment"),
        ("Q: a\nA: b\n\n---\n\n<!-- deck_id: 1 -->\nT: {{c1::a}}\n", 6, "first line of the file"),
        ("T: {{c1::a}}\nF: b\n", 2, "mixes fields of two note types"),
        ("Q: a\nA: b\nT: {{c1::c}}\n", 3, "T: makes it a Cloze"),
        ("Q: a\nA: b\nQ: c\nA: d\n", 3, "field Q: appears twice"),
        ("Q: a\nA: b\n<!-- note_id: 4 -->\nQ: c\nA: d\n", 3, "after the fields of a note"),
        ("Q: a\nA: b\n\n---\n\n---\n\nT: {{c1::x}}\n", 4, "empty note"),
        ("Q: a\nA: b\n\n---\n", 4, "empty note"),
        ("<!-- note_id: 4 -->\n<!-- tags: x -->\n", 1, "note has no fields"),
        ("Q: a\n```\nA: b\n", 2, "code fence opened here is never closed"),
        ("Q: a\nI:\n", 2, "I: is empty, but I: makes this Input note"),
        ("E: x\nT:\n", 2, "T: is empty"),
        ("F:\nB:\nE: x\n", 1, "F:, B: are empty"),
        ("A:\n\n", 1, "empty note: all its fields are empty"),
    ],
)
def test_unreadable_input_raises_with_position(text: str, line: int, fragment: str) -> None:
    with pytest.raises(DeckFileError) as info:
        deckfile.parse(text, "Deck.md")
    assert info.value.line == line
    assert info.value.col == 1
    assert fragment in info.value.message
    assert str(info.value).startswith(f"Deck.md:{line}:1: error: ")


def test_conflict_marker_inside_a_fence_is_still_a_conflict() -> None:
    with pytest.raises(DeckFileError, match="unresolved merge conflict") as info:
        deckfile.parse("Q:\n```\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b\n```\nA: a\n")
    assert info.value.line == 3


def test_scan_reports_every_problem_and_keeps_good_notes() -> None:
    text = "X: a\n\n---\n\nQ: ok\nA: ok\n\n---\n\nT: a\nF: b\n\n---\n\n<!-- note_id: y -->\nQ: c\n"
    result = deckfile.scan(text)
    assert [(p.line, p.severity) for p in result.problems] == [
        (1, "error"),
        (11, "error"),
        (15, "error"),
    ]
    assert [n.fields for n in result.deck.notes] == [{"Question": "ok", "Answer": "ok"}]


def test_parse_note_reads_one_note_with_offset_lines() -> None:
    note = deckfile.parse_note("<!-- note_id: 5 -->\nF: a\nB: b\n", first_line=10)
    assert note == Note("Reversed", {"Front": "a", "Back": "b"}, note_id=5)
    assert note.line == 10 and note.field_lines == {"Front": 11, "Back": 12}
    with pytest.raises(DeckFileError) as info:
        deckfile.parse_note("Q: a\nI: b\nC1: c\n", "x.md", first_line=20)
    assert info.value.line == 22


def test_note_type_for_prefix_sets() -> None:
    assert deckfile.note_type_for(["Q", "A", "E"]) is NOTE_TYPES["QA"]
    assert deckfile.note_type_for(["E"]) is NOTE_TYPES["QA"]
    assert deckfile.note_type_for(["F", "B"]) is NOTE_TYPES["Reversed"]
    assert deckfile.note_type_for(["T", "M"]) is NOTE_TYPES["Cloze"]
    assert deckfile.note_type_for(["Q", "I"]) is NOTE_TYPES["Input"]
    assert deckfile.note_type_for(["Q", "C2", "A"]) is NOTE_TYPES["Choice"]
    assert isinstance(deckfile.note_type_for(["I", "C1"]), str)
    assert isinstance(deckfile.note_type_for(["F", "A"]), str)


@pytest.mark.parametrize(
    ("note", "fragment"),
    [
        (Note("QA", {"Question": "a\nA: b"}), "starts with a field prefix"),
        (Note("QA", {"Question": "a\n---\nb"}), "note separator"),
        (Note("QA", {"Question": "a\n<!-- tags: x -->"}), "deck file comment"),
        (Note("QA", {"Question": "```\ncode"}), "does not close"),
        (Note("QA", {"Question": "a\n<<<<<<< x"}), "conflict marker"),
        (Note("QA", {"Question": ""}), "all its fields are empty"),
        (Note("QA", {"Text": "x"}), "not a field of QA"),
        (Note("QA", {"Question": "x"}, tags=["a b"]), "has spaces"),
        (Note("QA", {"Question": "x"}, tags=[""]), "is empty"),
        (Note("Nope", {"Question": "x"}), "unknown type"),
        (Note("QA", {"Question": "x"}, note_id=-1), "cannot be negative"),
        (Note("Input", {"Question": "x", "Input": ""}), "would read back as another"),
        (Note("Reversed", {"Extra": "x"}), "F:, B: are all empty"),
    ],
)
def test_write_refuses_what_it_cannot_write_faithfully(note: Note, fragment: str) -> None:
    with pytest.raises(AnkiOpsError, match=re.escape(fragment)):
        deckfile.write(Deck([note]))


# --- property tests -------------------------------------------------------------------

_ALPHABET = "abQATFBICEM17:-*_ `~<!>={}#\té\xa0\f"


def _plain(line: str) -> bool:
    """A line that means nothing structural anywhere in a field."""
    return not (
        deckfile.PREFIX_RE.match(line)
        or deckfile.SEPARATOR_RE.match(line)
        or deckfile.COMMENT_RE.match(line)
        or deckfile.is_conflict_marker(line)
        or deckfile.fence_opener(line)
    )


plain_lines = st.text(_ALPHABET, max_size=12).filter(_plain)
tricky_lines = st.sampled_from(
    ["---", "Q: x", "A:", "T: {{c1::y}}", "<!-- note_id: 5 -->", "<!-- tags: a -->", "======="]
)


@st.composite
def fenced_blocks(draw: st.DrawFn) -> str:
    char = draw(st.sampled_from("`~"))
    size = draw(st.integers(3, 5))
    info = draw(st.sampled_from(["", "python", " js"]))
    fence = (char, size)
    inner = draw(
        st.lists(
            st.one_of(plain_lines, tricky_lines).filter(
                lambda s: not deckfile.closes_fence(s, fence)
            ),
            max_size=4,
        )
    )
    return "\n".join([char * size + info, *inner, char * size])


@st.composite
def field_texts(draw: st.DrawFn) -> str:
    first = draw(
        st.one_of(
            plain_lines,
            st.sampled_from(["---", "A: z", "<!-- note_id: 1 -->", "<<<<<<< x", ">>>>>>>"]),
        )
    )
    chunks = draw(st.lists(st.one_of(plain_lines, fenced_blocks()), max_size=4))
    if draw(st.booleans()) and chunks and chunks[0].startswith(("```", "~~~")):
        first = ""  # a field that starts with a fence
    return deckfile.normalize_field("\n".join([first, *chunks]))


tags = st.lists(st.text("abc:_-é>", min_size=1, max_size=6), max_size=3)


@st.composite
def notes(draw: st.DrawFn) -> Note:
    note_type = draw(st.sampled_from(list(NOTE_TYPES.values())))
    names = list(note_type.field_names)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
    if note_type.identifying:  # the type must follow from the prefixes
        chosen.append(note_type.field_for_prefix(note_type.identifying[0]))
    fields = {n: draw(field_texts()) for n in chosen}
    fields = {n: v for n, v in fields.items() if v}
    assume(fields)
    if note_type.identifying:
        assume(any(note_type.prefix_for_field(n) in note_type.identifying for n in fields))
    note_id = draw(st.none() | st.integers(0, 2**62))
    return Note(note_type.key, fields, note_id=note_id, tags=draw(tags))


decks = st.builds(
    Deck, notes=st.lists(notes(), max_size=5), deck_id=st.none() | st.integers(0, 2**62)
)


def sloppy_write(deck: Deck, draw: Callable[[st.SearchStrategy[Any]], Any]) -> str:
    """The same deck written in a legal but non-canonical way."""
    blank = st.sampled_from(["", "\n", "\n\n", "  \n"])
    out = draw(blank)
    if deck.deck_id is not None:
        out += f"<!--deck_id:{deck.deck_id}-->  \n" + draw(blank)
    notes_text = []
    for note in deck.notes:
        note_type = NOTE_TYPES[note.note_type]
        header = []
        if note.note_id is not None:
            header.append(f"<!--   note_id: {note.note_id} -->")
        if note.tags:
            header.append("<!-- tags:  " + "   ".join(note.tags) + " -->")
        header = draw(st.permutations(header))
        body = "\n".join(header) + "\n" + draw(blank) if header else ""
        names = draw(st.permutations(list(note.fields)))
        for name in names:
            value = note.fields[name]
            first, _, rest = value.partition("\n")
            prefix = note_type.prefix_for_field(name)
            if (deckfile.fence_opener(first) or not _plain(first) or first.startswith(" ")) or draw(
                st.booleans()
            ):
                body += f"{prefix}: {value}\n"
            else:
                body += f"{prefix}:" + draw(st.sampled_from(["", " ", "  "])) + "\n"
                body += draw(blank) + value + "\n"
            body += draw(blank)
        notes_text.append(body)
    separator = draw(st.sampled_from(["\n---\n", "---\n", "\n\n---  \n\n\n"]))
    out += separator.join(notes_text)
    if draw(st.booleans()):
        out = out.replace("\n", "\r\n")
    if draw(st.booleans()):
        out = "\ufeff" + out
    if draw(st.booleans()):
        out = out.rstrip("\r\n")
    return out


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(decks)
def test_write_then_parse_gives_the_same_deck(deck: Deck) -> None:
    text = deckfile.write(deck)
    assert deckfile.parse(text) == deck
    assert deckfile.write(deckfile.parse(text)) == text
    assert text == "" or (text.endswith("\n") and not text.endswith("\n\n"))


@PROPERTY
@given(decks, st.data())
def test_sloppy_text_reaches_canonical_form_in_one_step(deck: Deck, data: st.DataObject) -> None:
    text = sloppy_write(deck, data.draw)
    assert deckfile.parse(text) == deck
    assert deckfile.write(deckfile.parse(text)) == deckfile.write(deck)


@st.composite
def loose_texts(draw: st.DrawFn) -> str:
    """Text that is often, not always, a readable deck: notes of fields with stray lines."""
    pool = st.one_of(plain_lines, tricky_lines, st.sampled_from(["```", "~~~", "", "   "]))
    notes_text = []
    for _ in range(draw(st.integers(0, 4))):
        note_type = draw(st.sampled_from(list(NOTE_TYPES.values())))
        prefixes = draw(st.lists(st.sampled_from(note_type.prefixes), min_size=1, max_size=3))
        lines = []
        for prefix in prefixes:
            first = draw(st.sampled_from(["", " ", " x", " ```", " <<<<<<< a", " ---"]))
            lines.append(prefix + ":" + first)
            lines += draw(st.lists(pool, max_size=3))
        notes_text.append("\n".join(lines))
    return draw(st.sampled_from(["", "<!-- deck_id: 3 -->\n"])) + "\n---\n".join(notes_text)


@settings(PROPERTY, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(loose_texts())
def test_any_readable_text_is_canonical_after_one_write(text: str) -> None:
    result = deckfile.scan(text)
    assume(not result.errors)
    once = deckfile.write(result.deck)  # reading succeeded, so writing must too
    assert deckfile.parse(once) == result.deck
    assert deckfile.write(deckfile.parse(once)) == once


# --- file names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deck", "filename"),
    [
        ("Spanish", "Spanish.md"),
        ("Spanish::Verbs::Irregular", "Spanish__Verbs__Irregular.md"),
        ("snake_case", "snake_case.md"),
        ("a__b", "a%5F%5Fb.md"),
        ("_lead::trail_", "%5Flead__trail%5F.md"),
        ("What? <No>", "What%3F %3CNo%3E.md"),
        ('a/b\\c:d|e*f"g', "a%2Fb%5Cc%3Ad%7Ce%2Af%22g.md"),
        ("50%", "50%25.md"),
        ("Dots...::x ", "Dots%2E%2E%2E__x%20.md"),
        ("CON", "%43ON.md"),
        ("Parent::nul.txt", "Parent__%6Eul.txt.md"),
        ("Com1 ", "%43om1%20.md"),
        ("CONSOLE", "CONSOLE.md"),
        (".hidden", "%2Ehidden.md"),
        ("tab\there", "tab%09here.md"),
        ("日本語::テスト", "日本語__テスト.md"),
        # README.md, LICENSE.md, CHANGELOG.md are not deck files (ankiops.toml exclude)
        ("README", "%52EADME.md"),
        ("license", "%6Cicense.md"),
        ("ChangeLog::Old", "ChangeLog__Old.md"),
    ],
)
def test_filename_for_deck_examples(deck: str, filename: str) -> None:
    assert deckfile.filename_for_deck(deck) == filename
    assert deckfile.deck_name_for_path(filename) == deck
    assert deckfile.deck_name_for_path(Path("/some/dir") / filename) == deck


def test_deck_name_for_path_is_lenient_with_hand_made_names() -> None:
    assert deckfile.deck_name_for_path("50%.md") == "50%"
    assert deckfile.deck_name_for_path("my_deck_.md") == "my_deck_"
    with pytest.raises(ValueError):
        deckfile.deck_name_for_path("notes.txt")
    with pytest.raises(AnkiOpsError):
        deckfile.filename_for_deck("")


_WINDOWS_BAD = set('<>:"/\\|?*') | {chr(c) for c in range(32)}


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_every_deck_name_maps_to_a_portable_file_name_and_back(name: str) -> None:
    filename = deckfile.filename_for_deck(name)
    stem = filename.removesuffix(".md")
    assert deckfile.deck_name_for_path(filename) == name
    assert not (_WINDOWS_BAD & set(filename))
    assert not stem.startswith(".")
    assert len(stem.split("__")) == len(name.split("::"))
    for part in stem.split("__"):
        assert not part.endswith((".", " "))
        assert part.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


def test_file_names_can_be_created_on_disk(tmp_path: Path) -> None:
    names = ["A::B", "x/y", "CON", "a\x01b", "..", "a::", "%2F"]
    for name in names:
        path = tmp_path / deckfile.filename_for_deck(name)
        path.write_text("", encoding="utf-8")
        assert deckfile.deck_name_for_path(path) == name
    assert len(list(tmp_path.iterdir())) == len(names)


def test_deck_files_lists_root_decks_minus_exclusions(tmp_path: Path) -> None:
    for name in ["B.md", "A__x.md", "README.md", "changelog.md", "Notes.md", ".swap.md", "x.txt"]:
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "C.md").write_text("", encoding="utf-8")
    (tmp_path / "dir.md").mkdir()
    found = deckfile.deck_files(tmp_path, Config())
    assert [p.name for p in found] == ["A__x.md", "B.md", "Notes.md"]
    assert [p.name for p in deckfile.deck_files(tmp_path, Config(exclude=("Notes.md",)))] == [
        "A__x.md",
        "B.md",
        "README.md",
        "changelog.md",
    ]
    (tmp_path / "ankiops.toml").write_text('exclude = ["B.md"]\n', encoding="utf-8")
    assert [p.name for p in deckfile.deck_files(tmp_path)] == [
        "A__x.md",
        "Notes.md",
        "README.md",
        "changelog.md",
    ]


@pytest.mark.parametrize(
    ("note", "written"),
    [
        (Note("QA", {}, 5), "Q:\n"),
        (Note("Reversed", {"Extra": "e"}, 6), "F:\nE: e\n"),
        (Note("Cloze", {}, 7), "T:\n"),
        (Note("Choice", {"Answer": "1"}, 8), "C1:\nA: 1\n"),
        (Note("Input", {"Question": "q"}, 9), "Q: q\nI:\n"),
    ],
)
def test_a_note_emptied_in_anki_is_written_so_that_it_reads_back_as_itself(
    note: Note, written: str
) -> None:
    """Its type's first identifying prefix (or its first) is written empty. Such notes
    stopped every pull ("all its fields are empty", "read back as another type")."""
    text = deckfile.write(Deck([note], 1))
    assert text.endswith(f"<!-- note_id: {note.note_id} -->\n{written}")
    (back,) = deckfile.parse(text).notes
    assert (back.note_type, back.fields, back.note_id) == (
        note.note_type,
        note.fields,
        note.note_id,
    )
    assert deckfile.write(deckfile.parse(text)) == text
