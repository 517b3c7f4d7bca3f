"""AnkiOps 0.6's note types beyond the five built-in ones, declared on init.

An AnkiOps 0.6 folder may hold notes of AnkiOpsClozeHideAll (`THA:`), of
AnkiOpsImageOcclusion (`IO_ID:`, `IO_IM:`, ...) or of a type of its own
(`note_types/<Name>/note_type.yaml`). AnkiOps made them in Anki; init declares each
one the folder uses in ankiops.toml as a mapped type (`[note_types.NAME]` without
`templates`: Anki keeps AnkiOps' templates, a push never changes them), with the
labels of the folder's note_type.yaml, else AnkiOps' own, as prefixes. Its
`AnkiOps Key` field has no label and is left alone. Reads only; init writes the
tables with ankiops.toml.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.anki.base import Backend
from ankiops_git.config import CONFIG_NAME, Config
from ankiops_git.errors import AnkiOpsError
from ankiops_git.notetypes import NoteTypes
from ankiops_git.notetypes_config import declaration, declared_types, key_for, with_table

# AnkiOps 0.6.6's own types beyond the five (its default_note_types/*/note_type.yaml):
# field name -> (label, identifying), in its order.
DEFAULTS: dict[str, dict[str, tuple[str, bool]]] = {
    "AnkiOpsClozeHideAll": {
        "Text": ("THA", True),
        "Extra": ("E", False),
        "More": ("M", False),
        "AI Notes": ("AI", False),
    },
    "AnkiOpsImageOcclusion": {
        "ID (hidden)": ("IO_ID", True),
        "Header": ("IO_H", False),
        "Image": ("IO_IM", True),
        "Question Mask": ("IO_QM", True),
        "Footer": ("IO_F", False),
        "Remarks": ("IO_R", False),
        "Sources": ("IO_S", False),
        "Extra 1": ("IO_E1", False),
        "Extra 2": ("IO_E2", False),
        "Answer Mask": ("IO_AM", True),
        "Original Mask": ("IO_OM", True),
    },
}
FOLDER = "note_types"  # AnkiOps' folder of its note types' definitions
NOTE_TYPE_LINE = re.compile(r"^\s*<!--\s*note_type:\s*(.*?)\s*-->\s*$")
_KEY = re.compile(r"^\s*(?:-\s+)?(name|label|identifying)\s*:\s*(.*?)\s*$")


@dataclass
class Declared:
    tables: str  # the [note_types.*] tables to add to ankiops.toml
    names: list[str]  # the Anki names declared
    types: NoteTypes  # the repository's note types with them


def labels(root: Path, anki_name: str) -> dict[str, tuple[str, bool]] | None:
    """Field name -> (label without its colon, identifying) for AnkiOps' type
    `anki_name`: from the folder's note_types/<name>/note_type.yaml, else AnkiOps'
    defaults; None if neither knows it. Reads the `fields:` list of that YAML
    (name, label, identifying per field), the shape AnkiOps writes."""
    path = root / FOLDER / anki_name / "note_type.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return DEFAULTS.get(anki_name)
    out: dict[str, tuple[str, bool]] = {}
    name: str | None = None
    in_fields = False
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("-"):
            in_fields = line.rstrip() == "fields:"
            continue
        m = _KEY.match(line) if in_fields else None
        if m is None:
            continue
        key, value = m.group(1), m.group(2).strip("'\"")
        if key == "name":
            name = value
        elif name is not None and key == "label":
            out[name] = (value.rstrip(":"), out.get(name, ("", False))[1])
        elif name is not None and key == "identifying" and name in out:
            out[name] = (out[name][0], value.lower() == "true")
    return out or DEFAULTS.get(anki_name)


def used_types(root: Path, config: Config) -> dict[str, tuple[str, int]]:
    """AnkiOps' type names the deck files use that `config` does not know, with the
    file and line of the first use: named by a `note_type` comment, or (AnkiOps'
    defaults) by a line starting with one of its identifying labels."""
    known = config.note_types.by_anki_name
    starts = {
        f"{label}:": name
        for name, fields in DEFAULTS.items()
        if name not in known
        for label, identifying in fields.values()
        if identifying
    }
    found: dict[str, tuple[str, int]] = {}
    for path in deckfile.deck_files(root, config):
        fence: deckfile.Fence | None = None
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(deckfile.split_lines(text), 1):
            body = line
            if fence is None:
                m = NOTE_TYPE_LINE.match(line)
                name = m.group(1) if m else starts.get(line.split(" ", 1)[0])
                if name and name not in known:
                    found.setdefault(name, (path.name, number))
                prefix = config.note_types.prefix_re.match(line)
                body = line[len(prefix.group(0)) :] if prefix else line
            fence = deckfile.step_fence(fence, body)  # `A: ```` opens one too
    return found


def declare(root: Path, config: Config, backend: Backend) -> Declared | None:
    """The declarations of AnkiOps' types the folder uses beyond `config`'s, or None if
    there are none. A type AnkiOps has not made in Anki is refused at its first use."""
    tables: list[str] = []
    names: list[str] = []
    taken = set(config.note_types.by_key)
    for anki_name, (file, line) in sorted(used_types(root, config).items()):
        given = labels(root, anki_name)
        if given is None:
            continue  # adopt.plan refuses it, naming the line
        found = backend.read_note_type(anki_name)
        if found is None:
            raise AnkiOpsError(
                f"{file}:{line}: note type {anki_name!r} is AnkiOps', but Anki has no such "
                f"type: sync the folder with AnkiOps once (`ankiops fa`), so that it makes "
                f"the type in Anki, then run init again. Nothing changed."
            )
        spec, _ = found
        fields = [(given[f][0], f) for f in spec.fields if f in given]
        # AnkiOps' identifying fields are its mandatory ones
        marks = [p for p, f in fields if given[f][1]] or None
        key = key_for(anki_name, taken)
        taken.add(key)
        tables.append(declaration(key, anki_name, fields, spec.is_cloze, None, [], marks, marks))
        names.append(anki_name)
    if not tables:
        return None
    path = root / CONFIG_NAME
    head = path.read_text(encoding="utf-8") if path.is_file() else ""
    text = "\n".join(tables)
    combined = with_table(head, "# AnkiOps' note types (ankiops-git init)\n" + text)
    types = NoteTypes(declared_types(root, combined, tomllib.loads(combined)["note_types"]))
    return Declared("# AnkiOps' note types (ankiops-git init)\n" + text, names, types)
