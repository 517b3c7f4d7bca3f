"""Note types a repository declares in ankiops.toml, and `note-type import`'s writing.

```toml
[note_types.Vocab]
anki_name = "Vocab"                      # default: the table's name
fields = [["W", "Word"], ["D", "Definition"], ["E", "Example"]]
identifying = ["W"]                      # default: its prefixes no other type has
required = ["W", "D"]                    # default: the first field's
cloze = false                            # a cloze note type ({{cloze:Field}})
templates = "note-types/Vocab"           # <card>.front.html, <card>.back.html, style.css
allow_field_changes = false              # let a push add or remove fields in Anki
```

With `templates`, the type is ours: a push creates it in Anki and brings its templates
and CSS up to date. Without, it is a type Anki has (Basic, Cloze, one of the user's):
it is only mapped to prefixes, and a push never changes it. Every problem is one
message naming ankiops.toml, the line and what to do; nothing is half read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ankiops_git.errors import AnkiOpsError
from ankiops_git.notetypes import BUILTIN, NOTE_TYPES, PREFIX_SHAPE, NoteType

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ankiops_git.anki.base import Backend
    from ankiops_git.anki.templates import CardTemplate

CONFIG_NAME = "ankiops.toml"
KEYS: tuple[str, ...] = ("anki_name", "fields", "identifying", "required", "cloze", "templates")
KEYS += ("cards", "allow_field_changes")
NAME_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
CSS_FILE = "style.css"
FRONT, BACK = ".front.html", ".back.html"
# What Anki does not take in a field name
_BAD_FIELD = re.compile(r'[:{}"]|^[#/^]')


def _line(text: str, name: str, key: str | None = None) -> int:
    """The line of `[note_types.NAME]` (or of `key = ` in it), 1-based; 0 if not found."""
    header = re.compile(
        rf"^\s*\[\s*note_types\s*\.\s*(?:{re.escape(name)}|\"{re.escape(name)}\"|"
        rf"'{re.escape(name)}')\s*\]"
    )
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if header.match(line):
            if key is None:
                return number
            for offset, rest in enumerate(lines[number:], number + 1):
                if rest.lstrip().startswith("["):
                    break
                if re.match(rf"^\s*{re.escape(key)}\s*=", rest):
                    return offset
            return number
    return 0


class _Reader:
    def __init__(self, root: Path, text: str, name: str) -> None:
        self.root, self.text, self.name = root, text, name

    def fail(self, message: str, key: str | None = None) -> AnkiOpsError:
        line = _line(self.text, self.name, key)
        where = f"{self.root / CONFIG_NAME}" + (f":{line}" if line else "")
        return AnkiOpsError(
            f"{where}: [note_types.{self.name}]: {message}. Fix ankiops.toml (docs/format.md, "
            f"'Declaring a note type'); nothing was done."
        )

    def prefixes(self, table: dict[str, object], key: str, own: tuple[str, ...]) -> tuple[str, ...]:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise self.fail(f"'{key}' must be a list of prefixes, like [\"W\"]", key)
        strange = [p for p in value if p not in own]
        if strange:
            raise self.fail(
                f"'{key}' names {', '.join(map(repr, strange))}, not a prefix of its fields "
                f"({', '.join(own)})",
                key,
            )
        return tuple(dict.fromkeys(value))


def declared_types(root: Path, text: str, table: object) -> tuple[NoteType, ...]:
    """The note types of `[note_types.*]`, checked against each other and the built-ins."""
    if not isinstance(table, dict):
        raise AnkiOpsError(
            f"{root / CONFIG_NAME}: 'note_types' must be tables, one per note type: "
            f"[note_types.Vocab] (docs/format.md, 'Declaring a note type')."
        )
    raw: list[tuple[_Reader, dict[str, object], tuple[tuple[str, str], ...]]] = []
    keys_seen: dict[str, str] = {}
    for name, body in table.items():
        reader = _Reader(root, text, name)
        if not isinstance(body, dict):
            raise reader.fail("must be a table of settings (anki_name, fields, ...)")
        if not NAME_SHAPE.fullmatch(name):
            raise reader.fail(
                "the name must be a letter, then letters, digits, '_' or '-' (Anki's own "
                'name goes in anki_name = "...")'
            )
        builtin = {k.casefold(): k for k in NOTE_TYPES}
        if name.casefold() in builtin:
            raise reader.fail(
                f"{name!r} is the name of a built-in note type ({builtin[name.casefold()]}, "
                f"Anki's AnkiOps{builtin[name.casefold()]}); give this one another name, such "
                f'as [note_types.Anki{name}], with anki_name = "{name}"'
            )
        if name.casefold() in keys_seen:
            raise reader.fail(f"declared twice (also as {keys_seen[name.casefold()]!r})")
        keys_seen[name.casefold()] = name
        unknown = sorted(set(body) - set(KEYS))
        if unknown:
            raise reader.fail(
                f"unknown setting {', '.join(map(repr, unknown))}; the settings are "
                f"{', '.join(KEYS)}",
                unknown[0],
            )
        fields = body.get("fields")
        if (
            not isinstance(fields, list)
            or not fields
            or not all(
                isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
                for f in fields
            )
        ):
            raise reader.fail(
                "'fields' must list [prefix, Anki field name] pairs in Anki's field order, "
                'like [["W", "Word"], ["D", "Definition"]]',
                "fields",
            )
        pairs = tuple((p, n) for p, n in fields)
        for prefix, field_name in pairs:
            if not PREFIX_SHAPE.fullmatch(prefix):
                raise reader.fail(
                    f"prefix {prefix!r} must be a capital letter then at most 11 letters, "
                    f'digits or "_" (written `{prefix}: ` in deck files), like "W" or "Ex"',
                    "fields",
                )
            if not field_name.strip() or _BAD_FIELD.search(field_name):
                raise reader.fail(
                    f"field name {field_name!r} is not one Anki takes (not empty; no "
                    f"':', '{{', '}}', '\"'; not starting with '#', '/', '^')",
                    "fields",
                )
        for what, values in (("prefix", [p for p, _ in pairs]), ("field", [n for _, n in pairs])):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise reader.fail(f"{what} {twice[0]!r} is given twice in 'fields'", "fields")
        raw.append((reader, body, pairs))

    # prefix -> the types that have it; the built-ins' optional AnkiOps fields (`AI:`,
    # `D:`, ...) leave a declared type free to own such a prefix, as before they existed
    others: dict[str, set[str]] = {}
    for t in BUILTIN.all:
        for p in t.prefixes:
            if p not in t.optional:
                others.setdefault(p, set()).add(t.key)
    for reader, _, pairs in raw:
        for p, _ in pairs:
            others.setdefault(p, set()).add(reader.name)

    out: list[NoteType] = []
    anki_names: dict[str, str] = {t.anki_name: t.key for t in BUILTIN.all}
    for reader, body, pairs in raw:
        name = reader.name
        own = tuple(p for p, _ in pairs)
        anki_name = body.get("anki_name", name)
        if not isinstance(anki_name, str) or not anki_name.strip():
            raise reader.fail("'anki_name' must be the note type's name in Anki", "anki_name")
        if anki_name in anki_names:
            raise reader.fail(
                f"anki_name {anki_name!r} is already the note type {anki_names[anki_name]!r}",
                "anki_name",
            )
        anki_names[anki_name] = name
        if "identifying" in body:
            identifying = reader.prefixes(body, "identifying", own)
        else:
            identifying = tuple(p for p in own if others[p] == {name})
        if not identifying:
            raise reader.fail(
                "no prefix of it is its own (every one is also another note type's), so a "
                "note cannot say it is this type: give it a prefix no other type has",
                "fields",
            )
        for p in identifying:
            if others[p] != {name}:
                shared = ", ".join(sorted(others[p] - {name}))
                raise reader.fail(
                    f"identifying prefix {p}: is also a field of {shared}; a prefix that "
                    f"says which type a note is must belong to this type alone",
                    "identifying",
                )
        required = reader.prefixes(body, "required", own) if "required" in body else own[:1]
        flags = {}
        for key in ("cloze", "allow_field_changes"):
            value = body.get(key, False)
            if not isinstance(value, bool):
                raise reader.fail(f"'{key}' must be true or false", key)
            flags[key] = value
        templates: tuple[tuple[str, str, str], ...] = ()
        css = ""
        origin = "mapped"
        folder = ""
        if "templates" in body:
            origin = "declared"
            templates, css, folder = _read_templates(reader, body)
        elif "cards" in body:
            raise reader.fail("'cards' goes with 'templates' (the folder of the cards)", "cards")
        out.append(
            NoteType(
                name,
                anki_name,
                pairs,
                required,
                identifying,
                is_cloze=flags["cloze"],
                origin=origin,
                card_templates=templates,
                css=css,
                allow_field_changes=flags["allow_field_changes"],
                templates_dir=folder,
                where=f"{CONFIG_NAME} [note_types.{name}]",
            )
        )
    return tuple(out)


def _read_templates(
    reader: _Reader, body: dict[str, object]
) -> tuple[tuple[tuple[str, str, str], ...], str, str]:
    folder = body["templates"]
    if not isinstance(folder, str) or not folder.strip():
        raise reader.fail(
            "'templates' must be a folder in the repository, like \"note-types/Vocab\"",
            "templates",
        )
    root = reader.root.resolve()
    path = (reader.root / folder).resolve()
    if path != root and root not in path.parents:
        raise reader.fail(f"'templates' folder {folder!r} is outside the repository", "templates")
    if not path.is_dir():
        raise reader.fail(
            f"'templates' folder {folder!r} does not exist; make it, with a "
            f"'Card 1{FRONT}' and 'Card 1{BACK}' per card and a '{CSS_FILE}' (or run "
            f'`ankiops-git note-type import "{body.get("anki_name", reader.name)}"` to '
            f"write them from Anki)",
            "templates",
        )
    fronts = {p.name[: -len(FRONT)] for p in path.glob("*" + FRONT)}
    backs = {p.name[: -len(BACK)] for p in path.glob("*" + BACK)}
    if "cards" in body:
        cards = body["cards"]
        if not isinstance(cards, list) or not cards or not all(isinstance(c, str) for c in cards):
            raise reader.fail(
                "'cards' must list the card names in Anki's order, like [\"Card 1\"]", "cards"
            )
    else:
        cards = sorted(fronts | backs)
    if not cards:
        raise reader.fail(
            f"the folder {folder!r} has no card: write 'Card 1{FRONT}' and 'Card 1{BACK}'",
            "templates",
        )
    out = []
    for card in cards:
        texts = []
        for suffix in (FRONT, BACK):
            file = path / (card + suffix)
            try:
                texts.append(file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise reader.fail(
                    f"card {card!r} has no {folder.rstrip('/')}/{card}{suffix}: each card is "
                    f"a {FRONT} and a {BACK} file",
                    "templates",
                ) from None
            except (OSError, UnicodeDecodeError) as e:
                raise reader.fail(f"cannot read {file}: {e}", "templates") from None
        out.append((card, texts[0], texts[1]))
    css_path = path / CSS_FILE
    try:
        css = css_path.read_text(encoding="utf-8") if css_path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise reader.fail(f"cannot read {css_path}: {e}", "templates") from None
    return tuple(out), css, path.relative_to(root).as_posix()


# --- note-type import: a declaration from a type Anki has -------------------------------

# Anki's own stock note types: imported as a mapping (their templates are Anki's).
STOCK = (
    "Basic",
    "Basic (and reversed card)",
    "Basic (optional reversed card)",
    "Basic (type in the answer)",
    "Cloze",
    "Image Occlusion",
)


def suggest_prefixes(field_names: list[str], taken: set[str]) -> list[str]:
    """A prefix per field: its initials, made unique and kept off `taken` (the prefixes
    of the other note types), so each identifies this type."""
    out: list[str] = []
    used = set(taken)
    for name in field_names:
        letters = [c for c in name if c.isalnum() and c.isascii()] or ["X"]
        words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
        candidates = [letters[0].upper()]
        if len(words) > 1:
            candidates.append((words[0][0] + words[1][0]).upper())
        candidates += [letters[0].upper() + "".join(letters[1:n]).lower() for n in (2, 3)]
        candidates += [letters[0].upper() + str(i) for i in range(1, 100)]
        for c in candidates:
            if PREFIX_SHAPE.fullmatch(c) and c not in used:
                out.append(c)
                used.add(c)
                break
    return out


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def declaration(
    key: str,
    anki_name: str,
    fields: list[tuple[str, str]],
    is_cloze: bool,
    templates: str | None,
    cards: list[str],
    identifying: list[str] | None = None,
    required: list[str] | None = None,
) -> str:
    """The `[note_types.KEY]` table for ankiops.toml (`identifying` and `required`:
    written when given, else the defaults apply)."""
    lines = [f"[note_types.{key}]"]
    if anki_name != key:
        lines.append(f"anki_name = {toml_str(anki_name)}")
    pairs = ", ".join(f"[{toml_str(p)}, {toml_str(n)}]" for p, n in fields)
    lines.append(f"fields = [{pairs}]")
    for name, prefixes in (("identifying", identifying), ("required", required)):
        if prefixes is not None:
            lines.append(f"{name} = [" + ", ".join(map(toml_str, prefixes)) + "]")
    if is_cloze:
        lines.append("cloze = true")
    if templates is not None:
        lines.append(f"templates = {toml_str(templates)}")
        if cards != sorted(cards):
            lines.append("cards = [" + ", ".join(toml_str(c) for c in cards) + "]")
    return "\n".join(lines) + "\n"


def card_files(folder: str, templates: Iterable[CardTemplate], css: str) -> dict[str, str]:
    """A declared type's files in its templates folder: path -> text."""
    out = {}
    for t in templates:
        out[f"{folder}/{t.name}{FRONT}"] = t.front
        out[f"{folder}/{t.name}{BACK}"] = t.back
    out[f"{folder}/{CSS_FILE}"] = css
    return out


def with_table(head: str, table: str) -> str:
    """ankiops.toml's text `head` with a `[note_types.X]` table added at its end, one
    blank line between."""
    glue = "" if not head or head.endswith("\n\n") else ("\n" if head.endswith("\n") else "\n\n")
    return head + glue + table


def key_for(anki_name: str, taken: set[str]) -> str:
    """A table name for an Anki note type name: its letters and digits, unique."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "", anki_name.replace(" ", "_")).strip("_-") or "Type"
    if not base[0].isalpha():
        base = "T" + base
    if base.casefold() in {k.casefold() for k in NOTE_TYPES}:
        base = "Anki" + base
    key, n = base, 2
    while key.casefold() in {t.casefold() for t in taken}:
        key, n = f"{base}{n}", n + 1
    return key


def import_note_type(
    root: Path,
    backend: Backend,
    anki_name: str,
    templates: bool | None,
    prefixes: dict[str, str] | None = None,
) -> list[str]:
    """Declare Anki's note type `anki_name` in ankiops.toml (`note-type import`): its
    fields with prefixes no other type has; with `templates` (default: for a type that
    is not one of Anki's stock ones), its cards and CSS as files in note-types/KEY/.
    `prefixes`: field name -> prefix, for fields whose prefix is given (those of files
    written already, AnkiOps' labels say); the others get suggested ones.
    Writes nothing over an existing file, and leaves everything as it was on failure."""
    from ankiops_git import config as config_mod

    config = config_mod.load(root)
    types = config.note_types
    if anki_name in types.by_anki_name:
        known = types.by_anki_name[anki_name]
        where = known.where or "built in"
        raise AnkiOpsError(
            f"note type {anki_name!r} is already known ({where}, prefixes "
            f"{', '.join(p + ':' for p in known.prefixes)}); nothing was written."
        )
    found = backend.read_note_type(anki_name)
    if found is None:
        raise AnkiOpsError(
            f"Anki has no note type {anki_name!r} (names are compared exactly, case too; "
            f"see Tools > Manage Note Types); nothing was written."
        )
    spec, _ = found
    key = key_for(anki_name, set(types.by_key))
    given = dict(prefixes or {})
    unknown = sorted(set(given) - set(spec.fields))
    if unknown:
        raise AnkiOpsError(
            f"{anki_name!r} in Anki has no field {', '.join(map(repr, unknown))} (its fields: "
            f"{', '.join(spec.fields)}); nothing was written."
        )
    rest = [f for f in spec.fields if f not in given]
    suggested = dict(
        zip(rest, suggest_prefixes(rest, set(types.prefixes) | set(given.values())), strict=True)
    )
    fields = [(given.get(f) or suggested[f], f) for f in spec.fields]
    with_files = templates if templates is not None else anki_name not in STOCK
    folder = f"note-types/{key}" if with_files else None
    cards = [t.name for t in spec.templates]
    path = root / CONFIG_NAME
    before = path.read_text(encoding="utf-8") if path.exists() else None
    written: list[Path] = []
    if folder is not None:
        target = root / folder
        if target.exists():
            raise AnkiOpsError(
                f"{target} exists already; move it away (or declare the type by hand, "
                f"docs/format.md); nothing was written."
            )
        bad = [c for c in cards if not c or "/" in c or "\\" in c or c.startswith(".")]
        if bad:
            raise AnkiOpsError(
                f"card {bad[0]!r} of {anki_name!r} cannot be a file name; rename it in Anki "
                f"(Tools > Manage Note Types > Cards) or import with --no-templates; nothing "
                f"was written."
            )
    text = declaration(key, anki_name, fields, spec.is_cloze, folder, cards)
    try:
        if folder is not None:
            target = root / folder
            target.mkdir(parents=True)
            written.append(target)
            for rel, content in card_files(folder, spec.templates, spec.css).items():
                (root / rel).write_text(content, encoding="utf-8")
        path.write_text(with_table(before or "", text), encoding="utf-8")
        config_mod.load(root)  # it reads back, or nothing stays
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(before, encoding="utf-8")
        for folder_path in written:
            for file in folder_path.iterdir():
                file.unlink()
            folder_path.rmdir()
        raise
    example = "\n".join(f"{p}: ..." for p, _ in fields)
    out = [f"note-type: [note_types.{key}] added to {CONFIG_NAME} for Anki's {anki_name!r}:"]
    out += ["  " + line for line in text.rstrip("\n").split("\n")]
    if folder is not None:
        out.append(
            f"note-type: its cards and CSS are in {folder}/ ({len(cards)} card(s), {CSS_FILE})"
        )
    else:
        out.append(
            "note-type: mapped only: Anki keeps its templates; ankiops-git never changes them"
        )
    out.append(f"note-type: a note of this type in a deck file:\n{example}")
    out.append("note-type: edit the prefixes if you like, then commit; the push uses the type")
    return out


def update_templates(
    root: Path, backend: Backend, anki_name: str, unchanged: set[str]
) -> list[str]:
    """Write Anki's templates and CSS of the declared type `anki_name` into its folder
    (`note-type import NAME --update`): to keep edits made in Anki. `unchanged`: the
    files of the folder as committed (a file with changes not committed is refused:
    nothing is overwritten that git does not hold)."""
    from ankiops_git import config as config_mod

    note_type = config_mod.load(root).note_types.by_anki_name.get(anki_name)
    if note_type is None or note_type.origin != "declared":
        raise AnkiOpsError(
            f"note type {anki_name!r} is not declared with templates in {CONFIG_NAME}; "
            f"`ankiops-git note-type import {anki_name!r}` declares it. Nothing was written."
        )
    found = backend.read_note_type(anki_name)
    if found is None:
        raise AnkiOpsError(f"Anki has no note type {anki_name!r}; nothing was written.")
    spec, _ = found
    folder = note_type.templates_dir
    names = [t.name for t in spec.templates]
    if names != [name for name, _, _ in note_type.card_templates]:
        raise AnkiOpsError(
            f"note type {anki_name!r}: its cards in Anki ({', '.join(names)}) are not those "
            f"of {folder}/; rename the files as Anki has them first. Nothing was written."
        )
    texts = card_files(folder, spec.templates, spec.css)
    changed = {
        path: text
        for path, text in texts.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    }
    dirty = sorted(p for p in changed if (root / p).exists() and p not in unchanged)
    if dirty:
        raise AnkiOpsError(
            f"{', '.join(dirty)}: changed and not committed; commit or undo that change "
            f"first, so that nothing is overwritten that git does not hold. Nothing was written."
        )
    for path, text in sorted(changed.items()):
        (root / path).write_text(text, encoding="utf-8")
    if not changed:
        return [f"note-type: {folder}/ holds Anki's templates and CSS already"]
    return [f"note-type: {path}: written from Anki" for path in sorted(changed)] + [
        "note-type: review with `git diff`, then commit"
    ]
