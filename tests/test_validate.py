"""Validator: every error and warning, with its exact message and position; the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ankiops_git import deckfile, validate
from ankiops_git.cli import cli
from ankiops_git.errors import DeckFileError
from ankiops_git.validate import Diagnostic

FIX_CONFLICT = (
    "keep the text you want, delete the marker lines (<<<<<<<, |||||||, =======, >>>>>>>), "
    "then `git add` the file"
)

# (file text, the diagnostics check_text gives for it as "line:col: severity: message")
CASES = {
    "unknown prefix": (
        "Q: a\nA: b\n\n---\n\nX: c\nA: d\n",
        [
            "6:1: error: unknown field prefix `X:`; a field starts with one of "
            + deckfile.PREFIX_LIST
            + " followed by a space"
        ],
    ),
    "prefix without space": (
        "Q:what\nA: b\n",
        ["1:1: error: field prefix `Q:` needs a space after the colon; write `Q: what`"],
    ),
    "text before the first field": (
        "Just some text\nQ: a\nA: b\n",
        [
            "1:1: error: expected a field prefix ("
            + deckfile.PREFIX_LIST
            + ") at the start of the note, found `Just some text`; begin the line with a "
            "prefix such as `Q: `"
        ],
    ),
    "Q without A": (
        "Q: a\nE: b\n",
        [
            "1:1: error: QA note has no A: (Answer); add a line `A: ...` "
            "(or `I: ` for a typed-answer Input note)"
        ],
    ),
    "A given but empty": (
        "Q: a\nA:\nE: b\n",
        ["2:1: error: A: (Answer) is empty; a QA note needs it, write its text"],
    ),
    "F without B": (
        "<!-- note_id: 3 -->\nF: front\n",
        ["1:1: error: Reversed note has no B: (Back); add a line `B: ...`"],
    ),
    "T empty": (
        "T:\nE: extra\n",
        [
            "1:1: error: T: is empty, but T: makes this Cloze note; write the Text text, "
            "or remove the line"
        ],
    ),
    "Input without Q": (
        "I: 4\n",
        ["1:1: error: Input note has no Q: (Question); add a line `Q: ...`"],
    ),
    "Input with empty I": (
        "Q: 2 + 2?\nI:\n",
        [
            "2:1: error: I: is empty, but I: makes this Input note; write the Input text, "
            "or remove the line"
        ],
    ),
    "Choice without C1": (
        "Q: pick\nC2: x\nA: 2\n",
        ["1:1: error: Choice note has no C1: (Choice 1); add a line `C1: ...`"],
    ),
    "Choice without A": (
        "Q: pick\nC1: x\nC2: y\n",
        ["1:1: error: Choice note has no A: (Answer); add a line `A: ...`"],
    ),
    "two note types": (
        "Q: a\nI: b\nC1: c\nA: 1\n",
        [
            "3:1: error: this note mixes fields of two note types: Input (I:) and Choice (C1:); "
            "split it into separate notes with a `---` line between them"
        ],
    ),
    "field of another type": (
        "F: a\nB: b\nA: c\n",
        [
            "3:1: error: A: cannot be used here: F:, B: makes it a Reversed "
            "(F:, B:, D:, E:, M:, S:, AI:) note; remove the field or move it to its own note"
        ],
    ),
    "cloze without deletion": (
        "T: Paris is the capital of France.\n",
        ["1:1: error: cloze note has no cloze deletion; mark the text to hide as `{{c1::text}}`"],
    ),
    "choice answer not numbers": (
        "Q: pick\nC1: x\nC2: y\nA: x and y\n",
        [
            "4:4: error: choice answer must list the numbers of the correct choices, like "
            "`A: 1, 3`; found `x and y`"
        ],
    ),
    "choice answer out of range": (
        "Q: pick\nC1: x\nC2: y\nA: 2, 5, 9\n",
        [
            "4:7: error: choice answer names choice 5, but this note has no C5: "
            "(it has C1:, C2:); fix the answer or add the choice",
            "4:10: error: choice answer names choice 9, but this note has no C9: "
            "(it has C1:, C2:); fix the answer or add the choice",
        ],
    ),
    "malformed note_id": (
        "<!-- note_id: 12ab -->\nQ: a\nA: b\n",
        [
            "1:1: error: malformed note_id comment; it must look exactly like "
            "`<!-- note_id: 1700000000001 -->` (digits only)"
        ],
    ),
    "malformed tags": (
        "<!-- tags: a b ->\nQ: a\nA: b\n",
        [
            "1:1: error: malformed tags comment; it must look exactly like "
            "`<!-- tags: tag1 tag2 -->` (tags separated by spaces)"
        ],
    ),
    "malformed deck_id": (
        "<!-- deck_id -->\n\nQ: a\nA: b\n",
        [
            "1:1: error: malformed deck_id comment; it must look exactly like "
            "`<!-- deck_id: 1700000000000 -->` (digits only)"
        ],
    ),
    "same note_id twice in one file": (
        "<!-- note_id: 7 -->\nQ: a\nA: b\n\n---\n\n<!-- note_id: 7 -->\nQ: c\nA: d\n",
        [
            "7:1: error: note_id 7 appears twice in this file (first at line 1); a note exists "
            "once: keep one copy and delete the other"
        ],
    ),
    "conflict markers": (
        "Q: a\n<<<<<<< HEAD\nA: ours\n=======\nA: theirs\n>>>>>>> anki/main\n\n---\n\n"
        ">>>>>>> stray\n",
        [
            f"2:1: error: unresolved merge conflict (lines 2-6); {FIX_CONFLICT}",
            f"10:1: error: merge conflict end marker `>>>>>>>` left in file; {FIX_CONFLICT}",
        ],
    ),
    "empty note between separators": (
        "Q: a\nA: b\n\n---\n\n---\n\nQ: c\nA: d\n",
        [
            "4:1: error: empty note: nothing between two `---` separators (or before the "
            "first / after the last); delete the extra `---` line"
        ],
    ),
    "note with only empty fields": (
        "Q:\nA:\n",
        ["1:1: error: empty note: all its fields are empty; fill them in or delete the note"],
    ),
    # one Anki has (an id), emptied there: it reads, and the rules say what is missing
    "note from Anki with only empty fields": (
        "<!-- note_id: 4 -->\nQ:\nA:\n",
        [
            "1:1: warning: empty note: all its fields are empty; fill them in or delete the note",
            "2:1: error: Q: (Question) is empty; a QA note needs it, write its text",
            "3:1: error: A: (Answer) is empty; a QA note needs it, write its text",
        ],
    ),
    "note with only an id": (
        "Q: a\nA: b\n\n---\n\n<!-- note_id: 4 -->\n",
        [
            "6:1: error: note has no fields; write its fields (for example `Q: ` and `A: `) "
            "or delete the note"
        ],
    ),
    "same field twice": (
        "Q: a\nA: b\nQ: c\nA: d\n",
        [
            "3:1: error: field Q: appears twice in this note (first at line 1); merge the two, "
            "or if a new note starts here put a `---` line before it",
            "4:1: error: field A: appears twice in this note (first at line 2); merge the two, "
            "or if a new note starts here put a `---` line before it",
        ],
    ),
    "note_id among fields (lost separator)": (
        "Q: a\nA: b\n<!-- note_id: 9 -->\nQ: c\nA: d\n",
        [
            "3:1: error: note_id comment after the fields of a note; it belongs before the "
            "first field. If a new note starts here, put a `---` line (with blank lines around "
            "it) before it",
            "4:1: error: field Q: appears twice in this note (first at line 1); merge the two, "
            "or if a new note starts here put a `---` line before it",
            "5:1: error: field A: appears twice in this note (first at line 2); merge the two, "
            "or if a new note starts here put a `---` line before it",
        ],
    ),
    "deck_id not first": (
        "Q: a\nA: b\n\n---\n\n<!-- deck_id: 5 -->\nQ: c\nA: d\n",
        [
            "6:1: error: deck_id comment must be the first line of the file; move it there "
            "(one per file)"
        ],
    ),
    "unclosed fence": (
        "Q: a\n~~~\ncode\nA: b\n\n---\n\nT: x\n",
        [
            # Reported, then read as if it were not a fence, so the rest is still checked.
            "2:1: error: code fence opened here is never closed; close it with a line "
            "containing only ~~~",
            "8:1: error: cloze note has no cloze deletion; mark the text to hide as `{{c1::text}}`",
        ],
    ),
    "warnings: empty optional field, duplicate tag, repeated choice": (
        "<!-- tags: Verbs verbs -->\nQ: pick\nC1: x\nC2: y\nA: 1, 1\nE:\n",
        [
            "1:1: warning: tag `verbs` is given twice (Anki ignores case: `Verbs`); delete one",
            "5:1: warning: choice answer lists a number twice; list it once",
            "6:1: warning: E: (Extra) is empty and is dropped; write its text or delete the line",
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_check_text_reports_exact_message_and_position(case: str) -> None:
    text, expected = CASES[case]
    found = validate.check_text(text, "Deck.md")
    assert sorted(str(d) for d in found) == sorted(f"Deck.md:{e}" for e in expected)


LINES = st.one_of(
    st.text(max_size=15),
    st.sampled_from(
        ["Q: q", "A: 1, 2", "T: {{c1::x}}", "C1: c", "I:", "---", "```", "~~~~", "<<<<<<< a"]
        + ["=======", ">>>>>>> b", "<!-- note_id: 1 -->", "<!-- tags: a -->", "<!-- deck_id"]
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_any_text_gives_diagnostics_or_a_deck_never_a_crash(lines: list[str], eol: str) -> None:
    text = eol.join(lines)
    found = validate.check_text(text, "Fuzz.md")
    assert all(d.line >= 1 and d.col >= 1 and d.message for d in found)
    errors = validate.has_errors(found)
    try:
        deck = deckfile.parse(text, "Fuzz.md")
    except DeckFileError as e:
        # What parse refuses, the validator reports at the same place.
        assert (e.line, e.col, e.message) in {(d.line, d.col, d.message) for d in found}
        return
    if not errors:  # valid files are written and read back unchanged
        assert deckfile.parse(deckfile.write(deck)) == deck


def test_all_errors_of_a_file_are_reported_not_only_the_first() -> None:
    text = (
        "X: bad\n\n---\n\nT: no cloze\n\n---\n\nQ: fine\nA: fine\n\n---\n\n"
        "Q: pick\nC1: a\nA: 4\n\n---\n\nQ: no answer\n"
    )
    found = validate.check_text(text, "Deck.md")
    assert [(d.line, d.severity) for d in found] == [
        (1, "error"),
        (5, "error"),
        (16, "error"),
        (20, "error"),
    ]


def test_clean_file_has_no_diagnostics_and_diagnostic_prints_clickably() -> None:
    good = "<!-- deck_id: 1 -->\n\nQ: a\nA: b\n\n---\n\nT: {{c1::x}}\n"
    assert validate.check_text(good, "Good.md") == []
    d = Diagnostic("a/b.md", 3, 7, "error", "what to do")
    assert str(d) == "a/b.md:3:7: error: what to do"


def test_file_name_anki_would_store_differently_is_a_warning() -> None:
    found = validate.check_text("Q: a\nA: b\n", "Verbs%20__Irregular.md")
    assert [str(d) for d in found] == [
        "Verbs%20__Irregular.md:1:1: warning: Anki stores the deck this file names "
        "(`Verbs ::Irregular`) as `Verbs::Irregular`; rename the file to "
        "`Verbs__Irregular.md` (git mv) so that syncing does not make a second file"
    ]
    # Hand-made names that decode to a name Anki keeps as is are fine.
    assert validate.check_text("Q: a\nA: b\n", "my_deck_.md") == []
    assert validate.check_text("Q: a\nA: b\n", "50%.md") == []
    assert validate.check_text("Q: a\nA: b\n", "dir/.md") == []


def test_anki_deck_name_matches_what_anki_stores() -> None:
    assert validate.anki_deck_name(" a :: b ") == "a::b"
    assert validate.anki_deck_name("x::::y") == "x::blank::y"
    assert validate.anki_deck_name("a\tb") == "ab"
    assert validate.anki_deck_name("Cafe\u0301") == "Caf\u00e9"


def test_check_texts_checks_given_texts_across_files() -> None:
    files = {
        "A.md": "<!-- note_id: 4 -->\nQ: a\nA: b\n",
        "B.md": "<!-- note_id: 4 -->\nQ: a\nA: b\n\n---\n\nT: no cloze\n",
    }
    assert [(d.path, d.line) for d in validate.check_texts(files)] == [
        ("A.md", 1),
        ("B.md", 1),
        ("B.md", 7),
    ]
    assert [(d.path, d.line) for d in validate.check_texts(files, report=["A.md"])] == [("A.md", 1)]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")


def test_check_tree_finds_clashes_between_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "Spanish.md": "<!-- deck_id: 10 -->\n\n<!-- note_id: 1 -->\nQ: a\nA: b\n",
            "spanish.md": "<!-- note_id: 2 -->\nQ: c\nA: d\n",
            "French.md": "<!-- deck_id: 10 -->\n\n<!-- note_id: 1 -->\nQ: e\nA: f\n",
            "Ok.md": "<!-- note_id: 3 -->\nQ: g\nA: h\n",
            "README.md": "# not a deck\n\nX: whatever\n",
        },
    )
    found = [str(d).replace(str(tmp_path) + os.sep, "") for d in validate.check_tree(tmp_path)]
    assert found == [
        "French.md:1:1: error: deck_id 10 is also in Spanish.md; two files cannot be one deck: "
        "merge them into one file, or delete the deck_id line of the new one",
        "French.md:3:1: error: note_id 1 is also in Spanish.md:3; a note lives in one deck "
        "file: keep one copy and delete the other",
        "Spanish.md:1:1: error: deck_id 10 is also in French.md; two files cannot be one deck: "
        "merge them into one file, or delete the deck_id line of the new one",
        "Spanish.md:1:1: error: this file and spanish.md name the same Anki deck (Anki "
        "ignores case and spaces around `::`); merge them into one file or rename one",
        "Spanish.md:3:1: error: note_id 1 is also in French.md:3; a note lives in one deck "
        "file: keep one copy and delete the other",
        "spanish.md:1:1: error: this file and Spanish.md name the same Anki deck (Anki "
        "ignores case and spaces around `::`); merge them into one file or rename one",
    ]


def test_deck_names_compare_as_anki_does(tmp_path: Path) -> None:
    _write(tmp_path, {"A__b.md": "Q: a\nA: b\n", "a%20__B.md": "Q: c\nA: d\n"})
    found = validate.check_tree(tmp_path)
    assert {Path(d.path).name for d in found if "same Anki deck" in d.message} == {
        "A__b.md",
        "a%20__B.md",
    }


def test_check_tree_uses_config_excludes(tmp_path: Path) -> None:
    _write(tmp_path, {"Notes.md": "free text\n", "Deck.md": "Q: a\nA: b\n"})
    assert [Path(d.path).name for d in validate.check_tree(tmp_path)] == ["Notes.md"]
    (tmp_path / "ankiops.toml").write_text('exclude = ["Notes.md"]\n', encoding="utf-8")
    assert validate.check_tree(tmp_path) == []


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Latin.md").write_bytes("Q: a\nA: caf\xe9\n".encode("latin-1"))
    assert [str(d).split(os.sep)[-1] for d in validate.check_tree(tmp_path)] == [
        "Latin.md:2:7: error: not UTF-8 text; save the file as UTF-8"
    ]


# --- CLI ------------------------------------------------------------------------------

BAD = "Q: a\nA: b\n\n---\n\nT: no cloze\n"
GOOD = "Q: a\nA: b\n\n---\n\nT: {{c1::cloze}}\n"


@pytest.fixture
def collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"Good.md": GOOD, "Bad.md": BAD, "README.md": "X: not a deck\n"})
    (tmp_path / "docs").mkdir()
    _write(tmp_path / "docs", {"guide.md": "X: not a deck either\n"})
    return tmp_path


CLOZE_ERROR = (
    "Bad.md:6:1: error: cloze note has no cloze deletion; mark the text to hide as `{{c1::text}}`"
)


def test_cli_validate_whole_collection_fails_on_errors(collection: Path) -> None:
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [CLOZE_ERROR]


def test_cli_validate_passes_when_clean(collection: Path) -> None:
    (collection / "Bad.md").write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate"])
    # one line on success, so that a check of nothing is never mistaken for a pass
    assert (result.exit_code, result.output) == (
        0,
        f"validate: 2 deck file(s) in {collection}: no errors\n",
    )


def test_cli_validate_warnings_do_not_fail(collection: Path) -> None:
    (collection / "Bad.md").write_text(GOOD + "E:\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.output == (
        "Bad.md:7:1: warning: E: (Extra) is empty and is dropped; write its text or delete "
        f"the line\nvalidate: 2 deck file(s) in {collection}: no errors, 1 warning(s)\n"
    )


def test_cli_validate_named_files_skips_non_decks(collection: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "README.md", "docs/guide.md", "Good.md"])
    assert (result.exit_code, result.output) == (0, "")
    result = CliRunner().invoke(cli, ["validate", "README.md", "Bad.md"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [CLOZE_ERROR]


def test_cli_validate_named_file_is_checked_against_unnamed_ones(collection: Path) -> None:
    _write(collection, {"Other.md": "<!-- note_id: 8 -->\nQ: x\nA: y\n"})
    _write(collection, {"Good.md": "<!-- note_id: 8 -->\nQ: x\nA: y\n"})
    result = CliRunner().invoke(cli, ["validate", "Good.md"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Good.md:1:1: error: note_id 8 is also in Other.md:1; a note lives in one deck file: "
        "keep one copy and delete the other"
    ]


@pytest.mark.parametrize(
    ("arg", "what"), [("Missing.md", "does not exist"), ("docs", "is a folder")]
)
def test_cli_validate_path_that_is_not_a_file(collection: Path, arg: str, what: str) -> None:
    result = CliRunner().invoke(cli, ["validate", arg])
    assert result.exit_code == 1
    assert result.output == (
        f"ankiops-git: {arg} {what}; name deck files (*.md), or give no path to check every "
        "deck file in the current folder\n"
    )


def test_installed_console_script(collection: Path) -> None:
    script = Path(sys.executable).parent / "ankiops-git"
    assert script.exists(), "run inside the project's .venv"
    bad = subprocess.run([script, "validate"], capture_output=True, text=True, check=False)
    assert (bad.returncode, bad.stdout.splitlines(), bad.stderr) == (1, [CLOZE_ERROR], "")
    (collection / "Bad.md").write_text(GOOD, encoding="utf-8")
    good = subprocess.run([script, "validate"], capture_output=True, text=True, check=False)
    assert (good.returncode, good.stdout, good.stderr) == (
        0,
        f"validate: 2 deck file(s) in {collection}: no errors\n",
        "",
    )


def test_cli_validate_bad_config_is_one_clear_line(collection: Path) -> None:
    (collection / "ankiops.toml").write_text("exclude = [\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.startswith("ankiops-git: ")
    assert "ankiops.toml: not valid TOML" in result.output
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def test_named_files_belong_to_the_folder_with_ankiops_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ankiops.toml").write_text('exclude = ["Notes.md"]\n', encoding="utf-8")
    _write(tmp_path, {"Notes.md": "free text\n", "Deck.md": BAD})
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", {"Other.md": "free text\n"})
    monkeypatch.chdir(tmp_path / "sub")
    found = validate.check_paths([Path("Other.md"), Path("../Notes.md"), Path("../Deck.md")])
    assert [(d.path, d.line) for d in found] == [("../Deck.md", 6)]
