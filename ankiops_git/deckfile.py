"""Deck files: Markdown text <-> Deck, plus deck name <-> file name.

The one reader and writer of the format (see docs/format.md). `parse` keeps line
numbers for diagnostics and raises `DeckFileError` for what it cannot read;
`write` gives the canonical text, so `write(parse(t)) == t` for canonical `t`.
`scan` is the forgiving variant the validator uses: it reports every problem it
finds and keeps the notes it could read.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ankiops_git import notetypes
from ankiops_git.config import DEFAULT_EXCLUDE, Config
from ankiops_git.config import load as load_config
from ankiops_git.errors import AnkiOpsError, DeckFileError
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteType, NoteTypes

# --- line grammar ---------------------------------------------------------------------

# A prefix is followed by a space, or by nothing but blanks (`A:` + tab is an empty A:):
# every structural pattern reads a line the same with or without trailing blanks,
# since a field's last line loses them.
# The built-in types' prefixes; a repository's own (Config.note_types) add to them:
# the functions below take `types` and use `types.prefix_re`.
PREFIX_RE = BUILTIN.prefix_re
SEPARATOR_RE = re.compile(r"^---[ \t]*$")
DECK_ID_RE = re.compile(r"^<!--[ \t]*deck_id:[ \t]*(\d+)[ \t]*-->[ \t]*$")
NOTE_ID_RE = re.compile(r"^<!--[ \t]*note_id:[ \t]*(\d+)[ \t]*-->[ \t]*$")
TAGS_RE = re.compile(r"^<!--[ \t]*tags:(.*)-->[ \t]*$")
# Any comment line that means to be one of ours, well-formed or not.
COMMENT_RE = re.compile(r"^<!--[ \t]*(deck_id|note_id|tags)\b")
# Something shaped like a field prefix that is not one (`X: `, `Q:text`, `C8:`).
PREFIX_LIKE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,2}):")
# A fence opens at the start of a line or of a list item (`- ````, `1. ````); the
# closing fence of a list item's code is indented like the item's content.
FENCE_OPEN_RE = re.compile(r"^( {0,3}(?:(?:[-+*]|\d{1,9}[.)]) {1,4})?)(`{3,}|~{3,})(.*)$")
FENCE_CLOSE_RE = re.compile(r"^( *)(`{3,}|~{3,})[ \t]*$")
CONFLICT_START_RE = re.compile(r"^<{7}(?:[ \t]|$)")
CONFLICT_END_RE = re.compile(r"^>{7}(?:[ \t]|$)")

BLANKS = " \t"  # what trimming removes: never other characters, see PREFIX_RE
PREFIX_LIST = BUILTIN.prefix_list

# (fence character, length, how far its closing fence may be indented) of an open fence
Fence = tuple[str, int, int]


def fence_opener(line: str) -> Fence | None:
    """The fence a line opens, per CommonMark (backtick info strings have no backtick),
    at the start of the line or of a list item."""
    m = FENCE_OPEN_RE.match(line)
    if not m:
        return None
    lead, marker, info = m.group(1), m.group(2), m.group(3)
    if marker[0] == "`" and "`" in info:
        return None
    in_item = lead.strip() != ""
    return marker[0], len(marker), (len(lead) if in_item else 0) + 3


def closes_fence(line: str, fence: Fence) -> bool:
    m = FENCE_CLOSE_RE.match(line)
    return (
        m is not None
        and len(m.group(1)) <= fence[2]
        and m.group(2)[0] == fence[0]
        and len(m.group(2)) >= fence[1]
    )


def step_fence(fence: Fence | None, line: str) -> Fence | None:
    """The fence state after `line`, given the state before it."""
    if fence is None:
        return fence_opener(line)
    return None if closes_fence(line, fence) else fence


def is_conflict_marker(line: str) -> bool:
    """A line git's `<<<<<<<` / `>>>>>>>` markers would be read as, even in a code block."""
    return bool(CONFLICT_START_RE.match(line) or CONFLICT_END_RE.match(line))


def _comment_kind(line: str) -> str | None:
    m = COMMENT_RE.match(line)
    return m.group(1) if m else None


def split_lines(text: str) -> list[str]:
    """Lines without terminators; CRLF/CR accepted, a leading BOM dropped."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --- problems -------------------------------------------------------------------------


ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    """Something wrong in a deck file, at a 1-based line and column."""

    line: int
    col: int
    severity: str  # ERROR or WARNING
    message: str


@dataclass
class Scan:
    """What `scan` could read, and every problem it found."""

    deck: Deck
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]


# --- note types -----------------------------------------------------------------------


def _describe(t: NoteType) -> str:
    return f"{t.key} ({', '.join(p + ':' for p in t.prefixes)})"


def note_type_for(prefixes: Iterable[str], types: NoteTypes = BUILTIN) -> NoteType | str:
    """The note type the given field prefixes make, or a message saying why none fits.

    T -> Cloze, F/B -> Reversed, I -> Input, C1..C8 -> Choice, a declared type's
    identifying prefixes -> that type, otherwise QA. Every prefix must then be a field
    of that type.
    """
    given = tuple(dict.fromkeys(prefixes))
    cache = types._type_for
    found = cache.get(given)
    if found is None:
        if len(cache) > 512:
            cache.clear()
        found = cache[given] = _note_type_for(given, types)
    return found


def _note_type_for(given: tuple[str, ...], registry: NoteTypes) -> NoteType | str:
    types = [t for t in registry.all if any(p in t.identifying for p in given)]
    if len(types) > 1:
        names = " and ".join(
            f"{t.key} ({', '.join(p + ':' for p in given if p in t.identifying)})" for t in types
        )
        return (
            f"this note mixes fields of two note types: {names}; "
            "split it into separate notes with a `---` line between them"
        )
    chosen = types[0] if types else notetypes.QA
    foreign = [p for p in given if p not in chosen.prefixes]
    if foreign:
        why = (
            f"{', '.join(p + ':' for p in given if p in chosen.identifying)} makes it a "
            if types
            else "Q:/A: make it a "
        )
        return (
            f"{', '.join(p + ':' for p in foreign)} cannot be used here: {why}"
            f"{_describe(chosen)} note; remove the field or move it to its own note"
        )
    return chosen


# --- parsing --------------------------------------------------------------------------


def normalize_field(text: str) -> str:
    """Field text as stored: no leading blank lines, no trailing whitespace."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip(BLANKS):
        lines.pop(0)
    return "\n".join(lines).rstrip(BLANKS + "\n")


@dataclass
class _Line:
    number: int  # 1-based line in the file
    text: str
    structural: bool  # outside any code fence, so it may be a prefix/separator/comment


def _unknown_start(line: _Line, types: NoteTypes) -> str:
    m = PREFIX_LIKE_RE.match(line.text)
    if m and types.prefix_re.match(line.text[: len(m.group(0))] + " "):
        return (
            f"field prefix `{m.group(0)}` needs a space after the colon; "
            f"write `{m.group(0)} {line.text[len(m.group(0)) :].lstrip()}`"
        )
    if m:
        return (
            f"unknown field prefix `{m.group(0)}`; a field starts with one of "
            f"{types.prefix_list} "
            "followed by a space"
        )
    shown = line.text if len(line.text) <= 40 else line.text[:37] + "..."
    return (
        f"expected a field prefix ({types.prefix_list}) at the start of the note, found "
        f"`{shown}`; "
        "begin the line with a prefix such as `Q: `"
    )


def _parse_note(block: list[_Line], problems: list[Problem], types: NoteTypes) -> Note | None:
    """One note from its lines (blank lines around it already trimmed)."""
    prefix_re = types.prefix_re
    note_id: int | None = None
    tags: list[str] | None = None
    start = block[0].number
    i = 0
    ok = True
    lost = False  # after a line that is not a field start, skip to the next prefix
    # Header: id and tags comments before the first field.
    while i < len(block) and not (block[i].structural and prefix_re.match(block[i].text)):
        line = block[i]
        text = line.text
        if not text.strip(BLANKS) or lost:
            pass
        elif NOTE_ID_RE.match(text):
            if note_id is not None:
                problems.append(
                    Problem(
                        line.number,
                        1,
                        ERROR,
                        "second note_id comment in one note; a note has one id. "
                        "Delete one, or separate the notes with a `---` line",
                    )
                )
                ok = False
            note_id = int(NOTE_ID_RE.match(text).group(1))  # type: ignore[union-attr]
        elif TAGS_RE.match(text):
            if tags is not None:
                problems.append(
                    Problem(
                        line.number,
                        1,
                        ERROR,
                        "second tags comment in one note; put all tags in one "
                        "`<!-- tags: a b -->` line",
                    )
                )
                ok = False
            tags = (tags or []) + TAGS_RE.match(text).group(1).split()  # type: ignore[union-attr]
        elif COMMENT_RE.match(text):
            problems.append(_malformed_comment(line))
            ok = False
        else:
            problems.append(Problem(line.number, 1, ERROR, _unknown_start(line, types)))
            ok, lost = False, True
        i += 1

    # Fields: each runs from its prefix line to the next prefix line outside a fence.
    sections: list[tuple[str, int, list[str]]] = []  # (prefix, line, texts)
    for line in block[i:]:
        m = prefix_re.match(line.text) if line.structural else None
        if m:
            sections.append((m.group(1), line.number, [line.text[len(m.group(0)) :]]))
        elif line.structural and COMMENT_RE.match(line.text):
            kind = COMMENT_RE.match(line.text).group(1)  # type: ignore[union-attr]
            problems.append(
                Problem(
                    line.number,
                    1,
                    ERROR,
                    f"{kind} comment after the fields of a note; it belongs before the first "
                    "field. If a new note starts here, put a `---` line (with blank lines "
                    "around it) before it",
                )
            )
            ok = False
        else:
            sections[-1][2].append(line.text)

    if not sections:
        if ok:
            problems.append(
                Problem(
                    start,
                    1,
                    ERROR,
                    "note has no fields; write its fields (for example `Q: ` and `A: `) "
                    "or delete the note",
                )
            )
        return None

    seen: dict[str, int] = {}
    for prefix, number, _ in sections:
        if prefix in seen:
            problems.append(
                Problem(
                    number,
                    1,
                    ERROR,
                    f"field {prefix}: appears twice in this note (first at line {seen[prefix]}); "
                    "merge the two, or if a new note starts here put a `---` line before it",
                )
            )
            ok = False
        else:
            seen[prefix] = number
    note_type = note_type_for((p for p, _, _ in sections), types)
    if isinstance(note_type, str):
        # Point at the first field that does not fit with the ones before it.
        where = next(
            number
            for k, (_, number, _) in enumerate(sections)
            if isinstance(note_type_for((p for p, _, _ in sections[: k + 1]), types), str)
        )
        problems.append(Problem(where, 1, ERROR, note_type))
        return None
    if not ok:
        return None

    fields: dict[str, str] = {}
    field_lines: dict[str, int] = {}
    for prefix, number, texts in sections:
        name = note_type.field_for_prefix(prefix)
        field_lines[name] = number
        value = normalize_field("\n".join(texts))
        if value:
            fields[name] = value
    # A note Anki has (it has an id) may have been emptied there: it reads as it is, with
    # a warning. A new note like that is a mistake.
    severity = WARNING if note_id is not None else ERROR
    marks = [(p, n) for p, n, _ in sections if p in note_type.identifying]
    if fields and marks and not any(note_type.field_for_prefix(p) in fields for p, _ in marks):
        # Written out without these fields the note would read back as another type.
        given = ", ".join(f"{p}:" for p, _ in marks)
        names = ", ".join(note_type.field_for_prefix(p) for p, _ in marks)
        problems.append(
            Problem(
                marks[0][1],
                1,
                severity,
                f"{given} {'is' if len(marks) == 1 else 'are'} empty, but {given} "
                f"{'makes' if len(marks) == 1 else 'make'} this {note_type.key} note; "
                f"write the {names} text, or remove the line",
            )
        )
        if severity == ERROR:
            return None
    if not fields:
        problems.append(
            Problem(
                start,
                1,
                severity,
                "empty note: all its fields are empty; fill them in or delete the note",
            )
        )
        if severity == ERROR:
            return None
    return Note(
        note_type=note_type.key,
        fields=fields,
        note_id=note_id,
        tags=tags or [],
        line=start,
        field_lines=field_lines,
    )


def _malformed_comment(line: _Line) -> Problem:
    kind = COMMENT_RE.match(line.text).group(1)  # type: ignore[union-attr]
    example = {
        "deck_id": "<!-- deck_id: 1700000000000 -->",
        "note_id": "<!-- note_id: 1700000000001 -->",
        "tags": "<!-- tags: tag1 tag2 -->",
    }[kind]
    return Problem(
        line.number,
        1,
        ERROR,
        f"malformed {kind} comment; it must look exactly like `{example}`"
        + (" (digits only)" if kind != "tags" else " (tags separated by spaces)"),
    )


def _conflicts(lines: list[str]) -> list[Problem]:
    """One problem per merge conflict left by git (or by the merge driver)."""
    problems: list[Problem] = []
    start: int | None = None
    for number, text in enumerate(lines, 1):
        if CONFLICT_START_RE.match(text):
            if start is not None:
                problems.append(_conflict_problem(start, None))
            start = number
        elif CONFLICT_END_RE.match(text):
            problems.append(_conflict_problem(start, number))
            start = None
    if start is not None:
        problems.append(_conflict_problem(start, None))
    return problems


def _conflict_problem(start: int | None, end: int | None) -> Problem:
    fix = (
        "keep the text you want, delete the marker lines (<<<<<<<, |||||||, =======, >>>>>>>), "
        "then `git add` the file"
    )
    if start is None:
        assert end is not None
        return Problem(end, 1, ERROR, f"merge conflict end marker `>>>>>>>` left in file; {fix}")
    span = f"lines {start}-{end}" if end else f"line {start}, no end marker"
    return Problem(start, 1, ERROR, f"unresolved merge conflict ({span}); {fix}")


def _mark_fences(
    lines: list[str], problems: list[Problem], types: NoteTypes = BUILTIN
) -> list[_Line]:
    """Lines with the fence state known; an unclosed fence is reported and ignored."""
    ignored: set[int] = set()
    while True:
        marked: list[_Line] = []
        fence: Fence | None = None
        opened_at = 0
        for number, text in enumerate(lines, 1):
            body = text
            if fence is None:
                m = types.prefix_re.match(text)
                body = text[len(m.group(0)) :] if m else text  # `Q: ```` opens a fence too
            marked.append(_Line(number, text, fence is None))
            before = fence
            fence = step_fence(fence, body) if number not in ignored or fence else None
            if before is None and fence is not None:
                opened_at = number
        if fence is None:
            return marked
        problems.append(
            Problem(
                opened_at,
                1,
                ERROR,
                "code fence opened here is never closed; close it with a line "
                f"containing only {fence[0] * fence[1]}",
            )
        )
        ignored.add(opened_at)


def scan(text: str, types: NoteTypes = BUILTIN) -> Scan:
    """Read a deck file as far as possible: the notes that parse, and all problems.
    `types`: the repository's note types (Config.note_types)."""
    problems: list[Problem] = []
    raw = split_lines(text)
    conflicts = _conflicts(raw)
    if conflicts:
        # The two sides of a conflict make no sense together; report only the conflicts.
        return Scan(Deck(), conflicts)
    lines = _mark_fences(raw, problems, types)

    deck = Deck()
    pos = 0
    while pos < len(lines) and not lines[pos].text.strip(BLANKS):
        pos += 1
    if pos < len(lines) and DECK_ID_RE.match(lines[pos].text):
        deck.deck_id = int(DECK_ID_RE.match(lines[pos].text).group(1))  # type: ignore[union-attr]
        pos += 1

    blocks: list[list[_Line]] = [[]]
    separators: list[int] = []
    for line in lines[pos:]:
        if line.structural and SEPARATOR_RE.match(line.text):
            blocks.append([])
            separators.append(line.number)
        elif line.structural and _comment_kind(line.text) == "deck_id":
            problems.append(
                Problem(
                    line.number,
                    1,
                    ERROR,
                    "deck_id comment must be the first line of the file; "
                    "move it there (one per file)"
                    if DECK_ID_RE.match(line.text)
                    else _malformed_comment(line).message,
                )
            )
        else:
            blocks[-1].append(line)

    for index, block in enumerate(blocks):
        while block and not block[0].text.strip(BLANKS):
            block.pop(0)
        while block and not block[-1].text.strip(BLANKS):
            block.pop()
        if not block:
            if len(blocks) == 1:
                break  # a file with no notes at all
            where = separators[index - 1] if index else separators[0]
            problems.append(
                Problem(
                    where,
                    1,
                    ERROR,
                    "empty note: nothing between two `---` separators (or before the first / "
                    "after the last); delete the extra `---` line",
                )
            )
            continue
        note = _parse_note(block, problems, types)
        if note is not None:
            deck.notes.append(note)
    problems.sort(key=lambda p: (p.line, p.col))
    return Scan(deck, problems)


def parse(text: str, path: str = "", types: NoteTypes = BUILTIN) -> Deck:
    """The deck in `text`; raises DeckFileError at the first problem that is an error."""
    result = scan(text, types)
    for problem in result.problems:
        if problem.severity == ERROR:
            raise DeckFileError(problem.message, path, problem.line, problem.col)
    if is_deck_file_name(Path(path).name):
        result.deck.name = deck_name_for_path(path)
    return result.deck


def parse_note(text: str, path: str = "", first_line: int = 1, types: NoteTypes = BUILTIN) -> Note:
    """One note's text (id/tags comments and fields, no separators) as a Note."""
    problems: list[Problem] = []
    lines = _mark_fences(split_lines(text), problems, types)
    for line in lines:
        line.number += first_line - 1
    for problem in problems:
        problem.line += first_line - 1
    while lines and not lines[0].text.strip(BLANKS):
        lines.pop(0)
    while lines and not lines[-1].text.strip(BLANKS):
        lines.pop()
    if not lines:
        raise DeckFileError("empty note; write its fields", path, first_line, 1)
    note = _parse_note(lines, problems, types)
    for problem in sorted(problems, key=lambda p: p.line):
        if problem.severity == ERROR:
            raise DeckFileError(problem.message, path, problem.line, problem.col)
    assert note is not None  # _parse_note reports a problem whenever it returns None
    return note


# --- writing --------------------------------------------------------------------------


def structure_in(text: str, prefix_re: re.Pattern[str] = PREFIX_RE) -> Iterator[tuple[int, str]]:
    """What in a field's `text` the deck parser would read as structure, as (line index,
    kind): "conflict" for a conflict marker (even in a code fence); outside fences
    "prefix" (by `prefix_re`), "separator", "comment"; and last "fence", at the line
    that opens a fence left open. The one place that knows it: the writer refuses such
    a field (field_problem), the converter and export escape such lines."""
    fence: Fence | None = None
    opened = 0
    for index, line in enumerate(text.split("\n")):
        if is_conflict_marker(line):
            yield index, "conflict"
        elif fence is None:
            if prefix_re.match(line):
                yield index, "prefix"
            elif SEPARATOR_RE.match(line):
                yield index, "separator"
            elif COMMENT_RE.match(line):
                yield index, "comment"
        fence, opened = step_fence(fence, line), opened if fence else index
    if fence is not None:
        yield opened, "fence"


def field_problem(text: str, types: NoteTypes = BUILTIN) -> str | None:
    """Why `text` (normalized) cannot be written as a field without changing its
    meaning, if so: a later line that would read as structure, or an unclosed fence."""
    lines = text.split("\n")
    for index, kind in structure_in(text, types.prefix_re):
        if kind == "fence":
            return "it opens a code fence it does not close"
        line = lines[index]
        if index == 0:  # (it follows the prefix)
            continue
        if kind == "conflict":
            return f"line {index + 1} is a merge conflict marker ({line[:7]})"
        if kind == "prefix":
            return f"line {index + 1} starts with a field prefix; escape it as `{line[0]}\\:`"
        if kind == "separator":
            return f"line {index + 1} is `---`, the note separator; use `***`"
        return f"line {index + 1} looks like a deck file comment"
    return None


def deck_safe(markdown: str) -> str:
    """A field's Markdown (from the converter, its text escaped already) with a leading
    space on each line the deck parser would read as structure (in an HTML block or a
    comment, as the converter's own fences close): Markdown shows that line alike. A
    line opening a fence it leaves open gets four, which no fence may have."""
    if _MAYBE_STRUCTURAL.search(markdown) is None and (
        "<" not in markdown or not _FENCE_MARK.search(markdown)
    ):  # (the converter's own fences close: one left open is in HTML, or a comment)
        return markdown  # no line starts as any of the patterns structure_in looks for
    lines = markdown.split("\n")
    found = list(structure_in(markdown))
    while found and found[-1][1] == "fence":
        lines[found[-1][0]] = "    " + lines[found[-1][0]]
        found = list(structure_in("\n".join(lines)))
    for index, _kind in found:
        lines[index] = " " + lines[index]
    return "\n".join(lines)


_FENCE_MARK = re.compile("```|~~~")


# The first characters of every line structure_in finds (the built-in prefixes,
# SEPARATOR_RE, COMMENT_RE, the conflict markers): a line starting otherwise is safe.
_MAYBE_STRUCTURAL = re.compile(
    f"^(?:[{''.join(sorted({p[0] for p in notetypes.BUILTIN_PREFIXES}))}]|---|<!--|<{{7}}|>{{7}})",
    re.MULTILINE,
)


def write_note(note: Note, types: NoteTypes = BUILTIN) -> str:
    """One note in canonical form, ending with a newline."""
    if note.note_type not in types.by_key:
        raise AnkiOpsError(f"cannot write note {note.note_id}: unknown type {note.note_type!r}")
    note_type = types.by_key[note.note_type]
    which = f"note {note.note_id}" if note.note_id is not None else "a new note"
    unknown = set(note.fields) - set(note_type.field_names)
    if unknown:
        raise AnkiOpsError(
            f"cannot write {which}: {', '.join(sorted(unknown))} not a field of {note_type.key}"
        )
    out: list[str] = []
    if note.note_id is not None:
        if note.note_id < 0:
            raise AnkiOpsError(f"cannot write {which}: a note id cannot be negative")
        out.append(f"<!-- note_id: {note.note_id} -->")
    if note.tags:
        bad = [t for t in note.tags if not t or any(c.isspace() for c in t)]
        if bad:
            raise AnkiOpsError(f"cannot write {which}: tag {bad[0]!r} is empty or has spaces")
        out.append(f"<!-- tags: {' '.join(note.tags)} -->")
    values = {prefix: normalize_field(note.field(name)) for prefix, name in note_type.fields}
    given = [prefix for prefix, value in values.items() if value]
    marks: set[str] = set()
    if not given or note_type_for(given, types) is not note_type:
        # Emptied in Anki: its type's identifying prefixes (or its first) are written
        # empty, so that it reads back as itself. Only a note Anki has can be so.
        if note.note_id is None:
            raise AnkiOpsError(
                f"cannot write {which}: "
                + (
                    "all its fields are empty"
                    if not given
                    else f"its {note_type.key} fields "
                    f"{', '.join(p + ':' for p in note_type.identifying)} are all empty, so "
                    "it would read back as another note type"
                )
            )
        marks = {(note_type.identifying or (note_type.fields[0][0],))[0]}
    for prefix, name in note_type.fields:
        value = values[prefix]
        if not value:
            if prefix in marks:
                out.append(f"{prefix}:")
            continue
        why = field_problem(value, types)
        if why:
            raise AnkiOpsError(f"cannot write field {name} of {which}: {why}")
        if fence_opener(value.split("\n", 1)[0]):
            out.append(f"{prefix}:")
            out.append(value)
        else:
            out.append(f"{prefix}: {value}")
    return "\n".join(out) + "\n"


def write(deck: Deck, types: NoteTypes = BUILTIN) -> str:
    """The canonical text of a deck file: `\\n` line ends, one final newline."""
    parts: list[str] = []
    if deck.deck_id is not None:
        if deck.deck_id < 0:
            raise AnkiOpsError(f"cannot write deck {deck.name or ''}: deck id {deck.deck_id} < 0")
        parts.append(f"<!-- deck_id: {deck.deck_id} -->\n")
    notes = "\n---\n\n".join(write_note(n, types) for n in deck.notes)
    if notes:
        parts.append(notes)
    return "\n".join(parts)


# --- file names -----------------------------------------------------------------------

SUFFIX = ".md"
_FORBIDDEN = set('<>:"/\\|?*%') | {chr(c) for c in range(32)} | {"\x7f"}
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(10)}
_RESERVED |= {f"{d}{s}" for d in ("COM", "LPT") for s in "\u00b9\u00b2\u00b3"}


def _enc(c: str) -> str:
    return "".join(f"%{b:02X}" for b in c.encode("utf-8"))


def _encode_component(part: str) -> str:
    chars = [_enc(c) if c in _FORBIDDEN else c for c in part]
    # Underscores next to the `__` separator, or in runs, would make splitting ambiguous.
    for i, c in enumerate(part):
        if c == "_" and (
            i == 0
            or i == len(part) - 1
            or part[i - 1] == "_"
            or (i + 1 < len(part) and part[i + 1] == "_")
        ):
            chars[i] = "%5F"
    # Windows drops trailing dots and spaces.
    i = len(part) - 1
    while i >= 0 and part[i] in ". ":
        chars[i] = _enc(part[i])
        i -= 1
    # Windows reserves device names, with any extension, in any case.
    if part.split(".")[0].rstrip(" ").upper() in _RESERVED:
        chars[0] = _enc(part[0])
    return "".join(chars)


def filename_for_deck(name: str) -> str:
    """The file name (with `.md`) for a deck name; reversible by deck_name_for_path."""
    if not name:
        raise AnkiOpsError("a deck name cannot be empty")
    stem = "__".join(_encode_component(p) for p in name.split("::"))
    if stem.startswith("."):
        stem = "%2E" + stem[1:]  # no hidden files
    if (stem + SUFFIX).casefold() in _NOT_DECK_FILES:
        # README.md and the like are not deck files: deck README is %52EADME.md
        stem = _enc(stem[0]) + stem[1:]
    return stem + SUFFIX


_NOT_DECK_FILES = {name.casefold() for name in DEFAULT_EXCLUDE}
MAX_FILE_NAME_BYTES = 255  # what ext4, APFS, NTFS allow (NTFS counts UTF-16 units)


def file_name_too_long(name: str) -> int | None:
    """The byte length of deck `name`'s file name if file systems refuse it, else None."""
    size = len(filename_for_deck(name).encode("utf-8")) if name else 0
    return size if size > MAX_FILE_NAME_BYTES else None


def deck_name_for_path(filename: str | Path) -> str:
    """The deck name a deck file stands for: `A__B.md` -> `A::B`, `%XX` decoded."""
    # os.path on a str: a sync asks this of every file in the tree, and Path() is slow
    name = filename.name if isinstance(filename, Path) else os.path.basename(filename)
    return _deck_name(name)


@functools.lru_cache(maxsize=65536)
def _deck_name(name: str) -> str:
    if not name.endswith(SUFFIX) or name == SUFFIX:
        raise ValueError(f"{name}: a deck file name ends with {SUFFIX}")
    stem = name[: -len(SUFFIX)]

    return "::".join(unquote(p, errors="replace") for p in stem.split("__"))


def is_deck_file_name(name: str, config: Config | None = None) -> bool:
    """Whether a file name (in the collection root) is a deck file's: `*.md`, not
    hidden, not excluded by `config` (when given)."""
    return (
        name.endswith(SUFFIX)
        and not name.startswith(".")
        and (config is None or not is_excluded(name, config))
    )


def is_deck_path(path: str, config: Config) -> bool:
    """A tree path of a deck file: in the root (no folder), named as is_deck_file_name says."""
    return "/" not in path and is_deck_file_name(path, config)


def deck_paths(paths: Iterable[str], config: Config) -> dict[str, str] | None:
    """Deck name -> path for the deck files among a tree's `paths`; None if two of them
    stand for one deck name. A sync asks this of whole trees: one cached lookup a path."""
    out: dict[str, str] = {}
    for path in paths:
        name = _deck_name_of_path(path, config.exclude)
        if name is not None and out.setdefault(name, path) != path:
            return None
    return out


@functools.lru_cache(maxsize=65536)
def _deck_name_of_path(path: str, exclude: tuple[str, ...]) -> str | None:
    if "/" in path or not is_deck_file_name(path, Config(exclude=exclude)):
        return None
    return deck_name_for_path(path)


def is_excluded(name: str, config: Config) -> bool:
    """Whether a root-level *.md file is not a deck (README.md and the like)."""
    return name.casefold() in _casefolded(config.exclude)


@functools.lru_cache(maxsize=16)
def _casefolded(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(x.casefold() for x in names)


def deck_files(root: Path, config: Config | None = None) -> list[Path]:
    """The deck files of a collection: *.md directly in `root`, minus exclusions, sorted."""
    config = config if config is not None else load_config(root)
    return sorted(
        p
        for p in Path(root).glob("*" + SUFFIX)
        if p.is_file() and is_deck_file_name(p.name, config)
    )
