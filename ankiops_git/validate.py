"""Diagnostics for deck files: one file's text, or a whole collection with cross-file checks.

Every diagnostic has a position and says what to do. Errors block a commit (the
pre-commit hook) and a push; warnings are advice. What the parser cannot read comes
from `deckfile.scan`; the checks here are about notes that read fine but are wrong
for Anki (missing required fields, a cloze without deletions, a bad choice answer),
and about identity across files (note ids, deck ids, deck names).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ankiops_git import config as config_mod
from ankiops_git import deckfile
from ankiops_git.errors import AnkiOpsError, printable
from ankiops_git.media import reference_problems
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, CHOICE_FIELDS, NoteTypes

ERROR = deckfile.ERROR
WARNING = deckfile.WARNING

CLOZE_RE = re.compile(r"\{\{c\d+::")
CHOICE_ANSWER_RE = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*$")


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        where = f"{printable(self.path)}:{self.line}:{self.col}"
        return f"{where}: {self.severity}: {printable(self.message)}"


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == ERROR for d in diagnostics)


# --- one note -------------------------------------------------------------------------


def _note_problems(
    note: Note, lines: Sequence[str], types: NoteTypes = BUILTIN
) -> list[deckfile.Problem]:
    """What is wrong with a readable note, as Anki would see it."""
    note_type = types.by_key[note.note_type]
    out: list[deckfile.Problem] = []

    def at(name: str) -> int:
        return note.field_lines.get(name, note.line)

    for prefix in note_type.required:
        name = note_type.field_for_prefix(prefix)
        if note.field(name):
            continue
        if name in note.field_lines:
            message = (
                f"{prefix}: ({name}) is empty; a {note_type.key} note needs it, write its text"
            )
        else:
            message = f"{note_type.key} note has no {prefix}: ({name}); add a line `{prefix}: ...`"
            if note_type.key == "QA" and prefix == "A":
                message += " (or `I: ` for a typed-answer Input note)"
        out.append(deckfile.Problem(at(name), 1, deckfile.ERROR, message))

    for name in note.field_lines:
        if not note.field(name) and note_type.prefix_for_field(name) not in note_type.required:
            prefix = note_type.prefix_for_field(name)
            out.append(
                deckfile.Problem(
                    at(name),
                    1,
                    deckfile.WARNING,
                    f"{prefix}: ({name}) is empty and is dropped; write its text or delete "
                    "the line",
                )
            )

    if note_type.is_cloze and note.fields and not any(map(CLOZE_RE.search, note.fields.values())):
        name = note_type.fields[0][1]
        out.append(
            deckfile.Problem(
                at(name),
                1,
                deckfile.ERROR,
                "cloze note has no cloze deletion; mark the text to hide as `{{c1::text}}`",
            )
        )

    if note_type.key == "Choice" and note.field("Answer"):
        out += _choice_answer_problems(note, lines)

    for name, text in note.fields.items():
        for offset, message in reference_problems(text):
            out.append(deckfile.Problem(at(name) + offset, 1, deckfile.ERROR, message))

    seen: dict[str, str] = {}
    for tag in note.tags:
        if tag.casefold() in seen:
            out.append(
                deckfile.Problem(
                    note.line,
                    1,
                    deckfile.WARNING,
                    f"tag `{tag}` is given twice (Anki ignores case: `{seen[tag.casefold()]}`); "
                    "delete one",
                )
            )
        else:
            seen[tag.casefold()] = tag
    return out


def note_warnings(path: str, notes: Iterable[Note], types: NoteTypes = BUILTIN) -> list[Diagnostic]:
    """The problems validate reports for these notes of `path` (parsed, so no column),
    all as warnings: what a push says of the notes it sends that Anki accepts all the
    same (one set of rules: a commit past the pre-commit hook is not checked less)."""
    return [
        Diagnostic(path, p.line, 1, WARNING, p.message)
        for note in notes
        for p in _note_problems(note, (), types)
    ]


def _choice_answer_problems(note: Note, lines: Sequence[str]) -> list[deckfile.Problem]:
    answer = note.field("Answer")
    line = note.field_lines.get("Answer", note.line)
    given = [i for i in range(1, CHOICE_FIELDS + 1) if note.field(f"Choice {i}")]
    listed = ", ".join(f"C{i}:" for i in given)

    def col_of(token: str) -> int:
        # The column of the token on the A: line, when the answer is written there.
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        found = text.find(token, 2)
        return found + 1 if found >= 0 else 1

    if not CHOICE_ANSWER_RE.match(answer):
        shown = answer.split("\n")[0][:40]
        return [
            deckfile.Problem(
                line,
                col_of(shown),
                deckfile.ERROR,
                f"choice answer must list the numbers of the correct choices, like `A: 1, 3`; "
                f"found `{shown}`",
            )
        ]
    out = []
    numbers = [int(x) for x in answer.split(",")]
    for number in dict.fromkeys(numbers):
        if number not in given:
            out.append(
                deckfile.Problem(
                    line,
                    col_of(str(number)),
                    deckfile.ERROR,
                    f"choice answer names choice {number}, but this note has no C{number}: "
                    f"(it has {listed}); fix the answer or add the choice",
                )
            )
    if len(set(numbers)) < len(numbers):
        out.append(
            deckfile.Problem(
                line, 1, deckfile.WARNING, "choice answer lists a number twice; list it once"
            )
        )
    return out


# --- one file -------------------------------------------------------------------------


def anki_deck_name(name: str) -> str:
    """A deck name as Anki stores it: NFC, no control characters, components trimmed,
    an empty component as `blank` (checked against the anki package)."""
    if name.isascii() and name.isprintable():  # most names, and the pre-commit hook
        # asks this of every deck file: NFC and control characters are no concern here
        return "::".join(part.strip() or "blank" for part in name.split("::"))
    parts = []
    for part in unicodedata.normalize("NFC", name).split("::"):
        part = "".join(c for c in part if unicodedata.category(c) != "Cc").strip()
        parts.append(part or "blank")
    return "::".join(parts)


def _anki_deck_key(name: str) -> str:
    """Deck names Anki treats as the same deck have the same key (it ignores case)."""
    return anki_deck_name(name).casefold()


@dataclass
class _Checked:
    path: str
    deck: Deck
    diagnostics: list[Diagnostic]


NoteKey = tuple[int | None, str, tuple[tuple[str, str], ...], tuple[str, ...]]


def note_key(note: Note) -> NoteKey:
    """A note as written: id, type, fields and tags (what "untouched" compares)."""
    return (note.note_id, note.note_type, tuple(sorted(note.fields.items())), tuple(note.tags))


def untouched_keys(text: str | None, types: NoteTypes = BUILTIN) -> set[NoteKey]:
    """The notes of a file's earlier version (nothing if it had none or does not read)."""
    if text is None:
        return set()
    try:
        return {note_key(n) for n in deckfile.parse(text, types=types).notes}
    except AnkiOpsError:
        return set()


UNTOUCHED = " (the note is as it was before this commit: fix it when you edit it)"


def _check(
    text: str,
    path: str,
    untouched: set[NoteKey] | frozenset[NoteKey] = frozenset(),
    types: NoteTypes = BUILTIN,
) -> _Checked:
    """`untouched`: notes as they were before (note_key); their problems are warnings,
    so a note that came from Anki does not stop commits of the user's own edits."""
    result = deckfile.scan(text, types)
    lines = deckfile.split_lines(text)
    problems = list(result.problems)
    for note in result.deck.notes:
        found = _note_problems(note, lines, types)
        if untouched and note_key(note) in untouched:
            found = [
                deckfile.Problem(p.line, p.col, deckfile.WARNING, p.message + UNTOUCHED)
                for p in found
            ]
        problems += found

    by_id: dict[int, list[Note]] = defaultdict(list)
    for note in result.deck.notes:
        if note.note_id is not None:
            by_id[note.note_id].append(note)
    for note_id, same in by_id.items():
        for note in same[1:]:
            problems.append(
                deckfile.Problem(
                    note.line,
                    1,
                    deckfile.ERROR,
                    f"note_id {note_id} appears twice in this file (first at line "
                    f"{same[0].line}); a note exists once: keep one copy and delete the other",
                )
            )

    if deckfile.is_deck_file_name(Path(path).name):
        name = deckfile.deck_name_for_path(path)
        result.deck.name = name
        stored = anki_deck_name(name)
        if stored != name:
            problems.append(
                deckfile.Problem(
                    1,
                    1,
                    deckfile.WARNING,
                    f"Anki stores the deck this file names (`{name}`) as `{stored}`; rename the "
                    f"file to `{deckfile.filename_for_deck(stored)}` (git mv) so that syncing "
                    "does not make a second file",
                )
            )
    diagnostics = [Diagnostic(path, p.line, p.col, p.severity, p.message) for p in problems]
    return _Checked(path, result.deck, sorted(diagnostics, key=lambda d: (d.line, d.col)))


def check_text(text: str, path: str = "", types: NoteTypes = BUILTIN) -> list[Diagnostic]:
    """Diagnostics for one deck file's text, sorted by position."""
    return _check(text, path, types=types).diagnostics


def _read(path: Path, types: NoteTypes = BUILTIN) -> _Checked:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AnkiOpsError(f"{path}: cannot read: {e.strerror}") from e
    text = decode(data, str(path))
    if isinstance(text, Diagnostic):
        return _Checked(str(path), Deck(), [text])
    return _check(text, str(path), types=types)


def decode(data: bytes, path: str) -> str | Diagnostic:
    """A deck file's bytes as text, or the error at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return Diagnostic(path, line, col, ERROR, "not UTF-8 text; save the file as UTF-8")


# --- across files ---------------------------------------------------------------------


def _cross_file(checked: Sequence[_Checked], report: set[str]) -> list[Diagnostic]:
    """Identity clashes between files, reported in the files named in `report`."""
    out: list[Diagnostic] = []
    notes: dict[int, list[tuple[str, int]]] = defaultdict(list)
    deck_ids: dict[int, list[str]] = defaultdict(list)
    names: dict[str, list[str]] = defaultdict(list)
    for c in checked:
        first_line: dict[int, int] = {}  # note id -> its first line in this file
        for note in c.deck.notes:
            if note.note_id is not None:
                first_line.setdefault(note.note_id, note.line)
        for note_id, line in first_line.items():
            notes[note_id].append((c.path, line))
        if c.deck.deck_id is not None:
            deck_ids[c.deck.deck_id].append(c.path)
        if c.deck.name is not None:
            names[_anki_deck_key(c.deck.name)].append(c.path)

    for note_id, places in notes.items():
        for path, line in places:
            others = [f"{p}:{n}" for p, n in places if p != path]
            if others and path in report:
                out.append(
                    Diagnostic(
                        path,
                        line,
                        1,
                        ERROR,
                        f"note_id {note_id} is also in {', '.join(others)}; a note lives in one "
                        "deck file: keep one copy and delete the other",
                    )
                )
    for deck_id, paths in deck_ids.items():
        out += _one_deck_in_two_files(
            paths,
            report,
            f"deck_id {deck_id} is also in {{rest}}; two files cannot be one deck: "
            "merge them into one file, or delete the deck_id line of the new one",
        )
    for paths in names.values():
        out += _one_deck_in_two_files(
            paths,
            report,
            "this file and {rest} name the same Anki deck (Anki ignores case "
            "and spaces around `::`); merge them into one file or rename one",
        )
    return out


def _one_deck_in_two_files(paths: list[str], report: set[str], message: str) -> list[Diagnostic]:
    """An error at line 1 of each reported file of `paths`, when they are one deck;
    `{rest}` in `message` names the other files."""
    if len(paths) < 2:
        return []
    return [
        Diagnostic(path, 1, 1, ERROR, message.format(rest=", ".join(p for p in paths if p != path)))
        for path in paths
        if path in report
    ]


def check_tree(root: Path) -> list[Diagnostic]:
    """Diagnostics for every deck file of the collection at `root`, with cross-file checks;
    a warning for each Markdown file in a subfolder (deck files live at the top)."""
    config = config_mod.load(root)
    files = deckfile.deck_files(root, config)
    checked = [_read(p, config.note_types) for p in files]
    out = [d for c in checked for d in c.diagnostics]
    out += _cross_file(checked, {c.path for c in checked})
    out += [
        Diagnostic(
            str(p.relative_to(root)),
            1,
            1,
            WARNING,
            SUBFOLDER_DECK,
        )
        for p in sorted(root.glob("*/**/*" + deckfile.SUFFIX))
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
        and _looks_like_a_deck(p)
    ]
    return sorted(out)


_DECK_LINE_RE = re.compile(
    r"^(?:<!--[ \t]*(?:note|deck)_id:|(?:"
    + "|".join(re.escape(p) for p in BUILTIN.prefixes)
    + r"):[ \t])",
    re.MULTILINE,
)


def _looks_like_a_deck(path: Path) -> bool:
    try:
        return path.is_file() and looks_like_a_deck(path.read_text(errors="replace"))
    except OSError:
        return False


def looks_like_a_deck(text: str) -> bool:
    """Markdown with a note or deck id line, or a line opening a note field."""
    return bool(_DECK_LINE_RE.search(text))


SUBFOLDER_DECK = (
    "this looks like a deck file, but deck files live at the top of the repository "
    "(Spanish__Verbs.md is deck Spanish::Verbs): move it there to sync it."
)


# A note_id line, or a line that may open or close a code fence (checked exactly below).
_IDS_OR_FENCES_RE = re.compile(
    r"^(?:(?P<id><!--[ \t]*note_id:[ \t]*(?P<n>\d+)[ \t]*-->[ \t]*$)"
    r"|(?P<fence>(?:[A-Z][A-Za-z0-9_]{0,11}: )?"
    r" *(?:(?:[-+*]|\d{1,9}[.)]) {1,4})?(?:`{3,}|~{3,}).*$))",
    re.MULTILINE,
)
_CONFLICT_RE = re.compile(r"^(?:<{7}|>{7})(?:[ \t]|$)", re.MULTILINE)
_ANY_NOTE_ID_RE = re.compile(r"note_id:[ \t]*(\d+)")  # wherever it is, for a first filter
_FIRST_LINE_RE = re.compile(r"(?:[ \t]*\n)*([^\n]*)")  # the first line not blank


def _identities(
    text: str, path: str, relevant: set[int] | None = None, types: NoteTypes = BUILTIN
) -> _Checked:
    """What the cross-file checks need of a file (deck id, each note id's first line, the
    deck name), found without parsing it: note_id lines outside code fences. Fence state
    changes only on lines the regex finds, and is followed there as the parser does.
    Falls back to the full check where that shortcut could differ (CR line ends,
    conflict markers, a fence never closed). `relevant`: the note ids that
    can clash; a file with none of them on any line gets no notes, only its deck id."""
    body = text.removeprefix("\ufeff")
    deck = Deck()
    first = _FIRST_LINE_RE.match(body)
    if first is not None and (m := deckfile.DECK_ID_RE.match(first.group(1))):
        deck.deck_id = int(m.group(1))
    if deckfile.is_deck_file_name(Path(path).name):
        deck.name = deckfile.deck_name_for_path(path)
    if relevant is not None and relevant.isdisjoint(map(int, _ANY_NOTE_ID_RE.findall(body))):
        return _Checked(path, deck, [])
    if "\r" in body or _CONFLICT_RE.search(body):
        return _check(text, path, types=types)
    fence: deckfile.Fence | None = None
    line, counted = 1, 0
    seen: set[int] = set()
    for match in _IDS_OR_FENCES_RE.finditer(body):
        line += body.count("\n", counted, match.start())
        counted = match.start()
        if match.group("id") is not None:
            note_id = int(match.group("n"))
            if fence is None and note_id not in seen:
                seen.add(note_id)
                deck.notes.append(Note("QA", {}, note_id, line=line))
            continue
        fenced = match.group("fence")
        if fence is None:
            prefix = types.prefix_re.match(fenced)
            fenced = fenced[len(prefix.group(0)) :] if prefix else fenced
        fence = deckfile.step_fence(fence, fenced)
    if fence is not None:
        return _check(text, path, types=types)
    return _Checked(path, deck, [])


@dataclass(frozen=True)
class Identities:
    """What the cross-file checks need of a deck file: a function of its text alone, so
    it can be kept by blob id between commits."""

    deck_id: int | None
    # note id, line where it first appears, note id, line, ...: flat, as kept on disk,
    # so the ids of thousands of files load without a tuple per note
    flat: tuple[int, ...]

    def notes_among(self, wanted: set[int]) -> list[tuple[int, int]]:
        """(note id, line) of the notes whose id is in `wanted`."""
        if wanted.isdisjoint(self.flat[::2]):
            return []  # the common case, at C speed
        pairs = zip(self.flat[::2], self.flat[1::2], strict=True)
        return [(i, line) for i, line in pairs if i in wanted]


def identities(text: str, path: str = "", types: NoteTypes = BUILTIN) -> Identities:
    deck = _identities(text, path, types=types).deck
    first: dict[int, int] = {}
    for note in deck.notes:
        if note.note_id is not None:
            first.setdefault(note.note_id, note.line)
    return Identities(deck.deck_id, tuple(n for pair in first.items() for n in pair))


def check_commit(
    changed: Mapping[str, str],
    others: Mapping[str, Identities],
    before: Mapping[str, str] | None = None,
    types: NoteTypes = BUILTIN,
) -> list[Diagnostic]:
    """Diagnostics for the deck files a commit changes (path -> text), with the cross-file
    checks against the other deck files of the commit, given by their identities.
    `before`: the changed files' texts at HEAD; problems of notes left as they were
    there are warnings."""
    before = before or {}
    checked = {
        path: _check(text, path, untouched_keys(before.get(path), types), types)
        for path, text in changed.items()
    }
    # Only clashes with the changed files are reported: other notes need not take part.
    ids = {n.note_id for c in checked.values() for n in c.deck.notes if n.note_id is not None}
    for path, ident in others.items():
        if path in checked:
            continue
        notes = [Note("QA", {}, i, line=line) for i, line in ident.notes_among(ids)]
        name = deckfile.deck_name_for_path(path) if deckfile.is_deck_file_name(path) else None
        checked[path] = _Checked(path, Deck(notes, ident.deck_id, name), [])
    in_order = [checked[path] for path in sorted(checked)]
    out = [d for c in in_order if c.path in changed for d in c.diagnostics]
    out += _cross_file(in_order, set(changed))
    return sorted(out)


def check_texts(
    files: Mapping[str, str], report: Iterable[str] | None = None, types: NoteTypes = BUILTIN
) -> list[Diagnostic]:
    """Diagnostics for deck files given as texts (path -> text), e.g. the staged blobs of a
    commit, with cross-file checks among them; only for the paths in `report` if given.
    Files not reported on are only scanned for their ids (a commit of one edited file
    costs little more in a large collection)."""
    wanted = set(files) if report is None else set(report)
    full = {path: _check(text, path, types=types) for path, text in files.items() if path in wanted}
    ids = {n.note_id for c in full.values() for n in c.deck.notes if n.note_id is not None}
    checked = [
        full[path] if path in full else _identities(text, path, ids, types)
        for path, text in files.items()
    ]
    out = [d for c in checked if c.path in wanted for d in c.diagnostics]
    out += _cross_file(checked, wanted)
    return sorted(out)


def _absolute(path: Path) -> Path:
    """Absolute and with `..` resolved (symlinks kept), so one file has one spelling."""
    return Path(os.path.abspath(path))


def collection_root(path: Path) -> Path:
    """The collection a file belongs to: the nearest folder up with ankiops.toml,
    else the current folder if the file is inside it, else the file's own folder."""
    folder = _absolute(path).parent
    for candidate in (folder, *folder.parents):
        if (candidate / config_mod.CONFIG_NAME).is_file():
            return candidate
    cwd = Path.cwd()
    return cwd if folder == cwd or cwd in folder.parents else folder


def check_paths(paths: Sequence[Path]) -> list[Diagnostic]:
    """Diagnostics for the named files, with cross-file checks against their collections.

    A named file that is not a deck file of its collection (excluded like README.md,
    or in a subfolder) is skipped, so hooks can pass every changed *.md file.
    """
    for path in paths:
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise AnkiOpsError(
                f"{path} {what}; name deck files (*.md), or give no path to check every "
                "deck file in the current folder"
            )
    named: dict[str, tuple[Path, NoteTypes]] = {}
    roots: dict[Path, config_mod.Config] = {}
    for path in paths:
        root = collection_root(path)
        config = roots.setdefault(root, config_mod.load(root))
        in_root = _absolute(path).parent == root
        if in_root and deckfile.is_deck_file_name(path.name, config):
            named[os.path.normcase(_absolute(path))] = (path, config.note_types)
    checked = {key: _read(path, types) for key, (path, types) in named.items()}
    # Files of the same collections that were not named, for the cross-file checks.
    for root, config in roots.items():
        for path in deckfile.deck_files(root, config):
            key = os.path.normcase(_absolute(path))
            if key not in checked:
                checked[key] = _read_quietly(_display(path), config.note_types)
    out = [d for key in named for d in checked[key].diagnostics]
    out += _cross_file(list(checked.values()), {checked[key].path for key in named})
    return sorted(out)


def _display(path: Path) -> Path:
    """A path as short as possible for messages: relative to the current folder if inside."""
    try:
        return _absolute(path).relative_to(Path.cwd())
    except ValueError:
        return path


def _read_quietly(path: Path, types: NoteTypes = BUILTIN) -> _Checked:
    """An unnamed file, read only for what it contributes to cross-file checks."""
    try:
        return _read(path, types)
    except AnkiOpsError:
        return _Checked(str(path), Deck(), [])
