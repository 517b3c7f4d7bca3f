"""Properties of the deck merge over generated decks and edits (hypothesis)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ankiops_git import deckfile
from ankiops_git.errors import DeckFileError
from ankiops_git.merge import merge_decks, merge_texts
from ankiops_git.model import Deck, Note

WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]
TAGS = ["t1", "t2", "t3", "t4"]
FIELDS = ("Question", "Answer", "Extra")
SETTINGS = settings(
    max_examples=int(os.environ.get("MERGE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

line_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
field_text = st.lists(line_text, min_size=1, max_size=4).map("\n".join)


@st.composite
def notes(draw: st.DrawFn, note_id: int | None) -> Note:
    fields = {"Question": draw(field_text), "Answer": draw(field_text)}
    if draw(st.booleans()):
        fields["Extra"] = draw(field_text)
    tags = draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=3))
    return Note("QA", fields, note_id, tags)


@st.composite
def decks(draw: st.DrawFn, distinct: bool = False) -> Deck:
    """A deck; `distinct`: every note has a first line of its own (else notes without
    ids may be equal, and then which of them an edit belongs to is anybody's guess)."""
    count = draw(st.integers(0, 8))
    result = []
    for i in range(count):
        with_id = draw(st.integers(0, 9)) > 0
        note = draw(notes(i + 1 if with_id else None))
        if distinct:
            for name in ("Question", "Answer"):
                note.fields[name] = f"{name} of card {i} {'xyzq' * i}\n{note.fields[name]}"
        result.append(note)
    return Deck(result, draw(st.sampled_from([None, 1])))


@st.composite
def edited_field(draw: st.DrawFn, text: str, keep_first: bool = False) -> str:
    lines = text.split("\n")
    at = draw(st.integers(1 if keep_first else 0, len(lines) - 1))
    kind = draw(st.sampled_from(["replace", "insert", "delete"]))
    if kind == "replace":
        lines[at] = draw(line_text)
    elif kind == "insert":
        lines.insert(at, draw(line_text))
    elif len(lines) > 1:
        del lines[at]
    else:
        lines[at] = draw(line_text)
    return "\n".join(lines)


@st.composite
def edit(draw: st.DrawFn, base: Deck, side: int, only: set[int] | None = None) -> Deck:
    return draw(edit_tracked(base, side, only))[0]


@st.composite
def edit_tracked(
    draw: st.DrawFn, base: Deck, side: int, only: set[int] | None = None
) -> tuple[Deck, list[Note | None]]:
    """A version of `base` after random edits on one side, with each note's base version
    (None: new); `only`: note positions it may touch (None: any). New notes get ids of
    their own range, or none."""
    out: list[Note] = []
    origins: list[Note | None] = []
    for pos, note in enumerate(base.notes):
        if only is not None and pos not in only:
            out.append(note)
            origins.append(note)
            continue
        action = draw(st.sampled_from(["keep", "keep", "field", "field", "tags", "delete"]))
        if action == "delete":
            continue
        if action == "field":
            name = draw(st.sampled_from([n for n in FIELDS if n in note.fields]))
            fields = {**note.fields, name: draw(edited_field(note.fields[name]))}
            note = replace(note, fields=fields)
        elif action == "tags":
            note = replace(
                note, tags=draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=3))
            )
        out.append(note)
        origins.append(base.notes[pos])
    if only is None:
        for n in range(draw(st.integers(0, 2))):
            new = draw(notes(side * 1000 + n if draw(st.booleans()) else None))
            # A new note equal to a deleted one would be that note again (by rule).
            new.fields["Question"] = f"fresh {side} {n}\n" + new.fields["Question"]
            at = draw(st.integers(0, len(out)))
            out.insert(at, new)
            origins.insert(at, None)
    return Deck(out, base.deck_id), origins


def same(a: Deck, b: Deck) -> bool:
    return a.deck_id == b.deck_id and a.notes == b.notes


@SETTINGS
@given(st.data())
def test_one_sided_changes_are_taken_as_they_are(data: st.DataObject) -> None:
    base = data.draw(decks())
    changed = data.draw(edit(base, 1))
    ours_only = merge_decks(base, changed, base)
    theirs_only = merge_decks(base, base, changed)
    both = merge_decks(base, changed, changed)
    for result in (ours_only, theirs_only, both):
        assert result.clean and result.deck is not None
        assert same(result.deck, changed), result.text


@SETTINGS
@given(st.data())
def test_edits_to_different_notes_merge_clean_and_keep_both(data: st.DataObject) -> None:
    base = data.draw(decks())
    positions = list(range(len(base.notes)))
    mine = set(data.draw(st.lists(st.sampled_from(positions), unique=True)) if positions else [])
    ours = data.draw(edit(base, 1, mine))
    theirs = data.draw(edit(base, 2, set(positions) - mine))
    result = merge_decks(base, ours, theirs)
    assert result.clean and result.deck is not None, result.text
    expected = []  # every base note as the side that could touch it left it
    for pos in positions:
        side = ours if pos in mine else theirs
        key = base.notes[pos]
        survivor = [n for n in side.notes if n.note_id == key.note_id and key.note_id is not None]
        if key.note_id is None:
            continue  # no id to follow; covered by the no-loss property
        expected += survivor
    got = [n for n in result.deck.notes if n.note_id is not None]
    assert got == expected


@SETTINGS
@given(st.data())
def test_edits_to_different_fields_of_the_same_notes_merge_clean(data: st.DataObject) -> None:
    base = data.draw(decks(distinct=True))
    ours = Deck(
        [
            replace(
                n,
                fields={
                    **n.fields,
                    "Question": data.draw(edited_field(n.fields["Question"], True)),
                },
            )
            for n in base.notes
        ],
        base.deck_id,
    )
    theirs = Deck(
        [
            replace(
                n, fields={**n.fields, "Answer": data.draw(edited_field(n.fields["Answer"], True))}
            )
            for n in base.notes
        ],
        base.deck_id,
    )
    result = merge_decks(base, ours, theirs)
    assert result.clean and result.deck is not None, result.text
    for got, o, t in zip(result.deck.notes, ours.notes, theirs.notes, strict=True):
        assert got.fields["Question"] == o.fields["Question"]
        assert got.fields["Answer"] == t.fields["Answer"]


@SETTINGS
@given(st.data())
def test_no_edit_is_lost(data: st.DataObject) -> None:
    base = data.draw(decks())
    (ours, ours_from), (theirs, theirs_from) = (
        data.draw(edit_tracked(base, 1)),
        data.draw(edit_tracked(base, 2)),
    )
    texts = [deckfile.write(d) for d in (base, ours, theirs)]
    result = merge_texts(*texts, path="Deck.md")
    out_lines = result.text.split("\n")
    present = set(out_lines) | {line[3:] for line in out_lines}  # with or without `Q: `
    for side, origins in ((ours, ours_from), (theirs, theirs_from)):
        for note, old in zip(side.notes, origins, strict=True):
            if old == note:
                continue  # unchanged: the other side may delete it
            for name, value in note.fields.items():
                known = set(old.field(name).split("\n")) if old is not None else set()
                for line in value.split("\n"):
                    if line not in known:  # a line this side wrote: it must be in the result
                        assert line in present, (line, result.text)
            if old is None or sorted(old.tags) != sorted(note.tags):
                for tag in set(note.tags) - set(old.tags if old else []):
                    assert tag in result.text
    if result.clean:
        deckfile.parse(result.text)  # a clean result is a valid deck file
    else:
        with pytest.raises(DeckFileError):  # a conflict is seen by the validator and hook
            deckfile.parse(result.text)


lines_lists = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=8)


@SETTINGS
@given(lines_lists, lines_lists, lines_lists)
def test_line_merge_keeps_every_new_line_and_one_sided_changes(
    base: list[str], ours: list[str], theirs: list[str]
) -> None:
    from ankiops_git.merge import lines

    assert lines.marked(lines.diff3(base, ours, base)) == ours
    assert lines.marked(lines.diff3(base, base, theirs)) == theirs
    assert lines.marked(lines.diff3(base, ours, ours)) == ours
    parts = lines.diff3(base, ours, theirs)
    out = lines.marked(parts)
    for line in set(ours + theirs) - set(base):
        assert line in out
    text, count = lines.merge_file_lines(
        "".join(x + "\n" for x in base),
        "".join(x + "\n" for x in ours),
        "".join(x + "\n" for x in theirs),
    )
    assert count == sum(isinstance(p, lines.Conflict) for p in parts)
    assert text == "".join(x + "\n" for x in out)
