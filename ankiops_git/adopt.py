r"""Deck files written by AnkiOps, converted to ours (`ankiops-git init` runs this).

AnkiOps 0.6 and later mark a note with `<!-- note_key: K -->` and `<!-- note_type:
AnkiOpsQA -->` lines, and keep the key -> Anki note id map in `.ankiops.db` (its
`note_state` table; the key is also in the note's `AnkiOps Key` field in Anki).

Earlier releases (0.3, 0.4; their folder has the marker file `.ankiops`, and init
converts it until it wrote ankiops.toml) wrote `<!-- deck_id: N -->` and `<!-- note_id:
N -->`, our comments already. What differs, each made as AnkiOps 0.3/0.4 sent it to
Anki so that the file means what Anki holds (tests/test_adopt_ankiops_old.py runs
their own converter on samples):
- their Markdown: `$x$` and `$$x$$` in a field became `\(x\)` and `\[x\]` before
  rendering, and a `\[x\]` with no math in it became `[x]` (the same lines kept);
- an image in a subfolder of media/ (their VS Code set-up pasted into
  media/AnkiOpsMedia/) is `AnkiOpsMedia/x.png` in Anki, so in the file too; the
  set-up (.vscode/settings.json) now pastes into media/;
- their export (`ankiops am`) dropped sub/superscripts, colours and other inline
  tags: such a field is written as Anki has it (`restore_formatting`, reading Anki);
- their `media` is a link to Anki's media folder (committed by their git snapshots):
  it is replaced by a folder of our own, which the first fetch fills with the files
  the notes show.

Both: AnkiOps' fields beyond ours on the five types (`AI:`, `S:`, `D:`, `C8:`) are
the built-ins' optional fields, synced where the type in Anki has them; `check`
refuses, at its file:line, a note filling one the type in Anki lacks. 0.6's other
types (ClozeHideAll, ImageOcclusion, its users' own) are declared in ankiops.toml
(adopt_types.py); a line starting with one of their prefixes while the type is not
declared is refused at its file:line, as AnkiOps read it as a field of its own.

`plan` reads the folder and changes nothing: each key becomes the `note_id` comment
of the note id the map gives, each note_type line naming one of the five built-in
types goes (the prefixes say the type). A key the map lacks loses its line; the
first fetch then matches the note to Anki's by content. `check` parses every deck
file as it will be, so init refuses before writing anything.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.adopt_types import Declared
from ankiops_git.anki.base import Backend
from ankiops_git.config import CONFIG_NAME, Config
from ankiops_git.convert.ankiops import same_meaning
from ankiops_git.errors import AnkiOpsError, DeckFileError
from ankiops_git.export import field_markdown
from ankiops_git.model import Note
from ankiops_git.notetypes import NoteTypes
from ankiops_git.push import lacking_fields, optional_used

DB_NAME = ".ankiops.db"
MARKER = ".ankiops"  # AnkiOps 0.3/0.4's marker file ([ankiops] profile, media_dir)
MEDIA_LINK = "media"  # AnkiOps 0.3/0.4: a link to Anki's media folder
# AnkiOps 0.3/0.4's VS Code set-up: pictures pasted into a deck file land in
# media/AnkiOpsMedia/; ankiops-git's media/ is flat, so they go to media/ instead.
VSCODE_SETTINGS = ".vscode/settings.json"
PASTE_SETTING = "markdown.copyFiles.destination"
OLD_PASTE_TARGET = {"**/*.md": "media/AnkiOpsMedia/"}
NOTE_KEY_RE = re.compile(r"^\s*<!--\s*note_key:\s*([a-zA-Z0-9-]+)\s*-->\s*$")
NOTE_TYPE_RE = re.compile(r"^\s*<!--\s*note_type:\s*(.*?)\s*-->\s*$")
# Prefixes of AnkiOps 0.6's own types beyond the five (hide-all cloze, image
# occlusion): a line starting with one is a field to AnkiOps (it matched `P: ` or `P`
# alone, unindented), refused unless the type is declared (init declares those in use).
UNSYNCED_RE = re.compile(r"^(THA|IO_[A-Z0-9]+):(?: |$)")
# An image in a subfolder of media/ (0.3/0.4's VS Code set-up pastes into
# media/AnkiOpsMedia/, inside Anki's media folder): AnkiOps sent it to Anki without
# the `media/`; ankiops-git's `media/` is one flat folder, so the file says it as Anki has it.
_SUBFOLDER_IMAGE = re.compile(r"(!\[[^\]\n]*\]\(<?)media/([^()<>\s]+/[^()<>\s]+)(>?[ )])")
# AnkiOps 0.3/0.4's math rewriting, in its order, on a field's whole Markdown.
_DOLLAR_BLOCK = re.compile(r"\$\$(.*?)\$\$", re.DOTALL)
_DOLLAR_INLINE = re.compile(r"(?<!\$)\$(?!\$)(.*?)(?<!\$)\$(?!\$)")
# Then, on the HTML, `\[x\]` whose x does not look like math became `[x]`.
_BRACKETS = re.compile(r"\\\[(.*?)\\\]", re.DOTALL)
_MATH_HINT = re.compile(r"[\\_{}\^]|\\[a-zA-Z]+")


@dataclass
class Migration:
    """What converting the folder changes: path -> (text to write, text with removed
    lines left blank, for diagnostics at the lines the user sees)."""

    texts: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    keys: int = 0  # note_key comments converted to note ids
    unmapped: int = 0  # note_key comments the map lacks (matched by content instead)
    old: bool = False  # a folder of AnkiOps 0.3/0.4 (the note_id format)
    old_notes: int = 0  # its notes that have their note_id comment
    math: int = 0  # fields whose $ math became \( \) / \[ \] (0.3/0.4)
    restored: int = 0  # fields whose formatting AnkiOps' export dropped (0.3/0.4)
    images: int = 0  # media/SUB/x.png images written as SUB/x.png, as Anki has them
    media_link: str | None = None  # where 0.3/0.4's media link pointed (it goes)
    vscode: str | None = None  # .vscode/settings.json pasting into media/, not AnkiOpsMedia/
    declared: Declared | None = None  # AnkiOps 0.6's other types the folder uses

    def empty(self) -> bool:
        return not self.texts and self.media_link is None and self.vscode is None

    def from_ankiops(self, root: Path) -> bool:
        """Whether the folder is AnkiOps' (its Markdown is read as AnkiOps meant it)."""
        return not self.empty() or self.old or (root / DB_NAME).is_file()

    def lines(self) -> list[str]:
        """What init says it did."""
        if self.old:
            out = [
                f"init: AnkiOps folder in the note_id format (0.3/0.4): {self.old_notes} "
                "note(s) keep their note_id comments and Anki note ids"
            ]
            if self.math:
                out.append(
                    f"init: {self.math} field(s) with $ math written as \\( \\) / \\[ \\]"
                    " (and \\[x\\] that is no math as [x]) as AnkiOps sent them to Anki"
                )
            if self.images:
                out.append(
                    f"init: {self.images} image(s) in a subfolder of media/ written without "
                    "`media/` (media/AnkiOpsMedia/x.png -> AnkiOpsMedia/x.png), as AnkiOps "
                    "sent them to Anki: ankiops-git's media/ is one flat folder"
                )
            if self.restored:
                out.append(
                    f"init: {self.restored} field(s) written as Anki has them: AnkiOps' "
                    "export had lost part of them (sub/superscripts as in x^2^, colours, "
                    "line breaks, spaces, table headers)"
                )
            if self.vscode is not None:
                out.append(
                    f"init: {VSCODE_SETTINGS}: VS Code pastes pictures into media/, not "
                    "media/AnkiOpsMedia/"
                )
            if self.media_link is not None:
                out.append(
                    f"init: media/ was a link to {self.media_link} (AnkiOps'); it is a "
                    "folder now, holding the files your notes show (Anki's media folder "
                    "is untouched)"
                )
            return out
        declared = []
        if self.declared is not None:
            declared.append(
                f"init: declared AnkiOps' note type(s) {', '.join(self.declared.names)} in "
                f"{CONFIG_NAME} (mapped: Anki keeps AnkiOps' templates; their labels are the "
                "prefixes)"
            )
        if not self.texts:
            return declared
        out = [
            f"init: converted {len(self.texts)} AnkiOps deck file(s): {self.keys} note_key "
            "comment(s) to note_id (from .ankiops.db)"
        ]
        if self.unmapped:
            out[0] += (
                f"; {self.unmapped} key(s) not in .ankiops.db were dropped, "
                "their notes matched to Anki's by content"
            )
        return out + declared


def key_map(root: Path) -> dict[str, int]:
    """AnkiOps' note_key -> note id map (empty if there is none)."""
    path = root / DB_NAME
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("select note_key, note_id from note_state").fetchall()
        finally:
            db.close()
    except sqlite3.Error as error:
        raise AnkiOpsError(
            f"{path}: cannot read AnkiOps' note map ({error}); nothing changed"
        ) from error
    return {str(key): int(note_id) for key, note_id in rows}


def recorded_profile(root: Path) -> tuple[str | None, str]:
    """The Anki profile AnkiOps linked the folder to, and where it says so: 0.5 on in
    .ankiops.db (app_state), 0.3/0.4 in `.ankiops` ([ankiops] profile); (None, "")
    when neither says (or cannot be read: init then goes by what Anki has open)."""
    db = root / DB_NAME
    if db.is_file():
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                row = conn.execute("select profile_name from app_state where id = 1").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            row = None
        return (str(row[0]), f"AnkiOps' {DB_NAME}") if row and row[0] else (None, "")
    marker = root / MARKER
    if marker.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(marker, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return None, ""
        name = parser.get("ankiops", "profile", fallback=None)
        return (name, f"AnkiOps' {MARKER}") if name else (None, "")
    return None, ""


def is_old_folder(root: Path) -> bool:
    """A folder of AnkiOps 0.3/0.4 not adopted yet: its marker file, no .ankiops.db (0.5
    on), no ankiops.toml (init's: once adopted, the files are ours, `$` is a dollar)."""
    return (
        (root / MARKER).is_file()
        and not (root / DB_NAME).exists()
        and not (root / CONFIG_NAME).exists()
    )


def plan(root: Path, config: Config) -> Migration:
    """The conversion of the AnkiOps deck files in `root`; reads only."""
    result = Migration(old=is_old_folder(root))
    link = root / MEDIA_LINK
    if result.old and link.is_symlink():
        result.media_link = os.readlink(link)
    if result.old:
        result.vscode = _vscode_settings(root)
    unsynced = UNSYNCED_RE
    types = config.note_types
    keys: dict[str, int] | None = None
    for path in deckfile.deck_files(root, config):
        text = path.read_text(encoding="utf-8")
        if not result.old and "note_key:" not in text and "note_type:" not in text:
            _refuse_unsynced(path, text, unsynced, types)
            continue
        out: list[str] = []
        blanked: list[str] = []
        fence: deckfile.Fence | None = None
        changed = False
        for number, line in enumerate(deckfile.split_lines(text), 1):
            body = line
            if fence is None:
                key = NOTE_KEY_RE.match(line)
                kind = NOTE_TYPE_RE.match(line)
                if key:
                    keys = key_map(root) if keys is None else keys
                    note_id = keys.get(key.group(1))
                    changed = True
                    if note_id is None:
                        result.unmapped += 1
                        blanked.append("")
                        continue
                    result.keys += 1
                    out.append(f"<!-- note_id: {note_id} -->")
                    blanked.append(out[-1])
                    continue
                if kind:
                    if kind.group(1) not in types.by_anki_name:
                        raise DeckFileError(
                            f"note type {kind.group(1)!r} is not one ankiops-git syncs "
                            f"({', '.join(types.by_anki_name)}); declare it in "
                            "ankiops.toml (see docs/format.md), move its notes to another "
                            "folder or convert them in Anki. Nothing changed",
                            path.name,
                            number,
                            1,
                        )
                    changed = True
                    blanked.append("")
                    continue
                _refuse_unsynced_line(path, line, number, unsynced, types)
                if result.old and deckfile.NOTE_ID_RE.match(line):
                    result.old_notes += 1
                if result.old and "](" in line:
                    line, images = _SUBFOLDER_IMAGE.subn(r"\1\2\3", line)
                    result.images += images
                    changed = changed or images > 0
                m = types.prefix_re.match(line)
                body = line[len(m.group(0)) :] if m else line
            fence = deckfile.step_fence(fence, body)
            out.append(line)
            blanked.append(line)
        if result.old and ("$" in text or "\\[" in text):
            fields = _old_math(out, types)
            if fields:
                result.math += fields
                blanked = out
                changed = True
        if changed:
            result.texts[path.name] = "\n".join(out) + "\n"
            result.checked[path.name] = "\n".join(blanked) + "\n"
    return result


def _vscode_settings(root: Path) -> str | None:
    """AnkiOps 0.3/0.4's .vscode/settings.json with pictures pasted into media/, or None
    (no such file, another destination, not JSON we can read: left as it is)."""
    path = root / VSCODE_SETTINGS
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(settings, dict) or settings.get(PASTE_SETTING) != OLD_PASTE_TARGET:
        return None
    settings[PASTE_SETTING] = {"**/*.md": "media/"}
    return json.dumps(settings, indent=4) + "\n"  # as AnkiOps writes it


def _refuse_unsynced_line(
    path: Path, line: str, number: int, pattern: re.Pattern[str], types: NoteTypes
) -> None:
    m = pattern.match(line)
    if m and m.group(1) not in types.prefixes:  # a prefix the repository declares is ours
        raise DeckFileError(
            f"`{m.group(1)}:` is a field of an AnkiOps note type that ankiops-git does "
            "not sync here (its text would join the field above): name the note's type "
            "with a `<!-- note_type: ... -->` line, as AnkiOps writes it, or move the text "
            "into `E:`, then run init again. Nothing changed",
            path.name,
            number,
            1,
        )


def _refuse_unsynced(path: Path, text: str, pattern: re.Pattern[str], types: NoteTypes) -> None:
    fence: deckfile.Fence | None = None
    for number, line in enumerate(deckfile.split_lines(text), 1):
        body = line
        if fence is None:
            _refuse_unsynced_line(path, line, number, pattern, types)
            m = types.prefix_re.match(line)
            body = line[len(m.group(0)) :] if m else line
        fence = deckfile.step_fence(fence, body)


def _old_math(lines: list[str], types: NoteTypes) -> int:
    """AnkiOps 0.3/0.4's `$$x$$` -> `\\[x\\]` and `$x$` -> `\\(x\\)`, then `\\[x\\]`
    -> `[x]` where x does not look like math, made in place on each field's Markdown
    as it made them (the whole field, code too; an inline pair within one line); the
    number of fields it changed. A field runs from its prefix line to the next
    prefix, comment or `---` line outside a code fence."""
    changed = 0
    starts: list[int] = []  # a field's first line (its text after the prefix)
    fence: deckfile.Fence | None = None
    for i, line in enumerate(lines):
        body = line
        if fence is None:
            m = types.prefix_re.match(line)
            if m:
                starts.append(i)
                body = line[len(m.group(0)) :]
            elif deckfile.SEPARATOR_RE.match(line) or line.startswith("<!--"):
                starts.append(i)  # ends the field before; not one itself
        fence = deckfile.step_fence(fence, body)
    bounds = [*starts, len(lines)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        m = types.prefix_re.match(lines[start])
        if not m:
            continue
        prefix = m.group(0)
        field = "\n".join([lines[start][len(prefix) :], *lines[start + 1 : end]])
        if "$" not in field and "\\[" not in field:
            continue
        new = _DOLLAR_BLOCK.sub(r"\\[\1\\]", field)
        new = _DOLLAR_INLINE.sub(r"\\(\1\\)", new)
        new = _BRACKETS.sub(_not_math, new)
        if new != field:
            changed += 1
            first, *rest = new.split("\n")
            lines[start:end] = [prefix + first, *rest]
    return changed


# The tags AnkiOps 0.3/0.4's export (html-to-markdown 2) dropped, keeping their text:
# sub/superscripts, colours and highlights set in Anki's editor, and a few more.
_DIV = re.compile(r"</?div(?:\s[^>]*)?>", re.IGNORECASE)
_TAG = re.compile(r"<(?!br\s*/?>)", re.IGNORECASE)  # any tag but a line break
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_EDGE_BREAKS = re.compile(r"^(?:\s|<br\s*/?>)+|(?:\s|<br\s*/?>)+$", re.IGNORECASE)
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.IGNORECASE | re.DOTALL)
_FIRST_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.IGNORECASE | re.DOTALL)
_DROPPED_TAGS = re.compile(
    r"</?(?:sub|sup|span|font|small|big|abbr|cite|q|tt|strike)(?:\s[^>]*)?>", re.IGNORECASE
)


def exported_from(markdown: str, html: str) -> bool:
    """Whether `markdown` is what AnkiOps 0.3/0.4's export wrote for Anki's `html`: it
    means `html` as the export kept it (as_exported), or `html` is plain text (Anki's
    editor) the export wrote as it was, though it reads as Markdown (`1. step`, `# x`)."""
    bare = as_exported(html)
    if bare != html and same_meaning(markdown, bare):
        return True
    if _TAG.search(html):
        return False
    text = unescape(_BREAK.sub("\n", html)).replace("\xa0", " ").replace("*", "\\*")
    return markdown == text.strip()


def as_exported(html: str) -> str:
    """Anki's HTML as AnkiOps 0.3/0.4's export kept it: the _DROPPED_TAGS unwrapped,
    no-break spaces as spaces, each <div> (Anki's editor makes one a line) a paragraph,
    no line breaks at its start or end (the editor leaves one there), a table's first
    row its header (Markdown tables have one)."""
    bare = _DROPPED_TAGS.sub("", html).replace("&nbsp;", " ").replace("\xa0", " ")
    bare = _EDGE_BREAKS.sub("", _DIV.sub("<br><br>", bare))
    return _TABLE.sub(_header_row, bare)


def _header_row(match: re.Match[str]) -> str:
    """A table with no header cells as a Markdown table has it: its first row's."""
    table = match.group(0)
    row = _FIRST_ROW.search(table)
    if row is None or re.search(r"<th\b", table, re.IGNORECASE):
        return table
    cells = re.sub(r"<(/?)td\b", r"<\1th", row.group(0), flags=re.IGNORECASE)
    return table[: row.start()] + cells + table[row.end() :]


def restore_formatting(root: Path, config: Config, migration: Migration, backend: Backend) -> None:
    """AnkiOps 0.3/0.4's export (`ankiops am`) wrote `<sup>2</sup>` as a bare `2`,
    `<span style="color: red">x</span>` as `x`, `a&nbsp;b` as `a b` and the lines of
    Anki's editor (`<div>a</div><div>b</div>`) as paragraphs (as_exported): a field
    whose Markdown means Anki's HTML as it exported it is written as Anki has it
    (ankiops-git's Markdown of the field), as the other side of a difference AnkiOps
    made, not the user. Reads Anki; writes nothing."""
    if not migration.old:
        return
    for path in deckfile.deck_files(root, config):
        text = migration.texts.get(path.name)
        if text is None:
            text = path.read_text(encoding="utf-8")
        deck = deckfile.parse(text, path.name, config.note_types)
        ids = [n.note_id for n in deck.notes if n.note_id is not None]
        anki = {n.note_id: n for n in backend.read_notes(ids)} if ids else {}
        lines = deckfile.split_lines(text)
        edits: list[tuple[int, int, str]] = []  # (first line index, line count, new text)
        for note in deck.notes:
            there = anki.get(note.note_id) if note.note_id is not None else None
            if there is None or there.note_type not in config.note_types.by_anki_name:
                continue
            note_type = config.note_types.by_anki_name[there.note_type]
            for name, markdown in note.fields.items():
                html = there.fields.get(name, "")
                if same_meaning(markdown, html) or not exported_from(markdown, html):
                    continue
                start = note.field_lines[name] - 1
                count = markdown.count("\n") + 1
                prefix = f"{note_type.prefix_for_field(name)}: "
                region = "\n".join(lines[start : start + count])
                if region.removeprefix(prefix) != markdown:
                    continue  # not laid out as expected: left to the merge
                try:
                    ours = field_markdown(html, None, True, config.note_types)
                except AnkiOpsError:
                    continue  # no deck file can hold it: the first pull names it
                edits.append((start, count, prefix + ours))
        if not edits:
            continue
        for start, count, new in sorted(edits, reverse=True):
            lines[start : start + count] = new.split("\n")
        migration.restored += len(edits)
        migration.texts[path.name] = migration.checked[path.name] = "\n".join(lines) + "\n"


def _not_math(match: re.Match[str]) -> str:
    inside = match.group(1)
    return match.group(0) if _MATH_HINT.search(inside) else f"[{inside}]"


def check(root: Path, config: Config, migration: Migration, backend: Backend) -> None:
    """Parse every deck file as it will be after the conversion: DeckFileError naming
    the file and line (as the user sees it now) of the first problem; then every
    optional field (`AI:`, `D:`, ...) a note fills whose type in Anki lacks it, one
    line each (push.lacking_fields)."""
    types = config.note_types
    used: list[tuple[str, Note, str]] = []
    for path in deckfile.deck_files(root, config):
        text = migration.checked.get(path.name)
        if text is None:
            text = path.read_text(encoding="utf-8")
        deck = deckfile.parse(text, path.name, types)
        for note in deck.notes:
            note_type = types.by_key[note.note_type]
            used += [(path.name, note, name) for name in optional_used(note, note_type)]
    if lacking := lacking_fields(used, types, backend):
        raise AnkiOpsError("\n".join(lacking) + "\nNothing changed.")


def apply(root: Path, migration: Migration) -> None:
    for name, text in migration.texts.items():
        (root / name).write_text(text, encoding="utf-8")
    if migration.vscode is not None:
        (root / VSCODE_SETTINGS).write_text(migration.vscode, encoding="utf-8")
    if migration.media_link is not None:
        link = root / MEDIA_LINK
        link.unlink()
        link.mkdir()
