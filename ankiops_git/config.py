"""`ankiops.toml`: per-repository settings, at the collection root."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ankiops_git.errors import AnkiOpsError
from ankiops_git.notetypes import BUILTIN, NoteTypes

CONFIG_NAME = "ankiops.toml"
DEFAULT_EXCLUDE = ("README.md", "CHANGELOG.md", "LICENSE.md")
DEFAULT_MEDIA_WARN_MB = 5


@dataclass
class Config:
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE  # *.md files in the root that are not decks
    anki: str | None = None  # AnkiConnect URL or collection file path
    profile: str | None = None  # the Anki profile this repository belongs to
    allow_deletes: bool = False  # skip the mass-deletion guard on push
    sync: bool = False  # sync Anki with AnkiWeb/a sync server before a fetch, after a push
    media_warn_bytes: int = DEFAULT_MEDIA_WARN_MB * 1_000_000  # [media] warn_mb: bigger warns
    # [markdown] ankiops = true: AnkiOps' inline Markdown (==mark==, ~sub~, ^sup^) and its
    # rendering of the rest taken as the same (init sets it on adopting an AnkiOps folder)
    ankiops_markdown: bool = False
    # the built-in note types and those declared under [note_types.NAME] (notetypes.py)
    note_types: NoteTypes = BUILTIN
    extra: dict[str, object] = field(default_factory=dict)


def load(root: Path, text: str | None = None) -> Config:
    """The settings of the repository at `root`: its ankiops.toml, or `text` as that
    file's content (the staged one, which the pre-commit hook checks a commit by)."""
    path = root / CONFIG_NAME
    if text is None and not path.exists():
        return Config()
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise AnkiOpsError(f"{path}: not valid TOML: {e}. Fix the file and try again.") from e
    sync = data.get("anki", {}) if isinstance(data.get("anki"), dict) else {}
    exclude = data.get("exclude", list(DEFAULT_EXCLUDE))
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise AnkiOpsError(f"{path}: 'exclude' must be a list of file names.")
    return Config(
        exclude=tuple(exclude),
        anki=sync.get("url"),
        profile=sync.get("profile"),
        allow_deletes=bool(sync.get("allow_deletes", False)),
        sync=_flag(path, sync, "sync"),
        media_warn_bytes=_media_warn_bytes(path, data.get("media", {})),
        ankiops_markdown=_ankiops_markdown(path, data.get("markdown", {})),
        note_types=_note_types(root, text, data.get("note_types", {})),
        extra={
            k: v
            for k, v in data.items()
            if k not in ("anki", "exclude", "media", "markdown", "note_types")
        },
    )


def _note_types(root: Path, text: str, table: object) -> NoteTypes:
    if not table:
        return BUILTIN
    from ankiops_git.notetypes_config import declared_types

    return NoteTypes(declared_types(root, text, table))


def _media_warn_bytes(path: Path, table: object) -> int:
    """[media] warn_mb = 5: a media file a push sends above this size is a warning."""
    value = table.get("warn_mb", DEFAULT_MEDIA_WARN_MB) if isinstance(table, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise AnkiOpsError(f"{path}: 'warn_mb' in [media] must be a positive number (of MB).")
    return int(value * 1_000_000)


def _ankiops_markdown(path: Path, table: object) -> bool:
    if not isinstance(table, dict):
        raise AnkiOpsError(f"{path}: [markdown] must be a table (ankiops = true or false).")
    value = table.get("ankiops", False)
    if not isinstance(value, bool):
        raise AnkiOpsError(f"{path}: 'ankiops' in [markdown] must be true or false.")
    return value


def _flag(path: Path, table: dict[str, object], name: str) -> bool:
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise AnkiOpsError(f"{path}: '{name}' in [anki] must be true or false.")
    return value


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump(config: Config) -> str:
    lines = ["# ankiops-git settings for this folder of deck files", ""]
    lines.append("exclude = [" + ", ".join(_toml_str(x) for x in config.exclude) + "]")
    lines += ["", "[anki]"]
    if config.anki is not None:
        lines.append(f"url = {_toml_str(config.anki)}")
    if config.profile is not None:
        lines.append(f"profile = {_toml_str(config.profile)}")
    lines.append(f"allow_deletes = {'true' if config.allow_deletes else 'false'}")
    if config.sync:
        lines.append("sync = true")
    if config.ankiops_markdown:
        lines += ["", "# AnkiOps' Markdown: ==mark==, ~sub~, ^sup^ (docs/format.md)", "[markdown]"]
        lines.append("ankiops = true")
    return "\n".join(lines) + "\n"


# A table header line: `[name]`, `[a.b]`, `[[name]]`, maybe a comment after it.
_HEADER = re.compile(
    r"""^\s*\[\[?\s*([A-Za-z0-9_\-]+|"[^"]*"|'[^']*')[A-Za-z0-9_\-."' ]*\]\]?\s*(#.*)?$"""
)


def _other_tables(text: str) -> str:
    """The tables of an ankiops.toml that `dump` does not write ([note_types.*],
    [media], ...), as they are written there, comments and all."""
    out: list[str] = []
    keep = False
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            keep = m.group(1).strip("\"'") not in ("anki", "markdown")
        if keep:
            out.append(line)
    return "\n".join(out).strip("\n")


def save(root: Path, config: Config) -> None:
    """Write `config`; the tables of the file there that `dump` does not write (the
    note types it declares, [media]) are kept as they are."""
    path = root / CONFIG_NAME
    try:
        kept = _other_tables(path.read_text(encoding="utf-8")) if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        kept = ""
    path.write_text(dump(config) + (f"\n{kept}\n" if kept else ""), encoding="utf-8")
