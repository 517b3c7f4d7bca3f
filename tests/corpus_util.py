"""Helpers for the conversion tests over the public corpora in tests/corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import html5lib

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

_HIDDEN = {"script", "style", "head", "title", "template"}
_BREAKS = {"br", "p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "h3",
           "h4", "h5", "h6", "pre", "blockquote", "hr", "dd", "dt"}  # fmt: skip
_RAW_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^>]*)?/?>|<!--")
_CODE = re.compile(r"^(`{3,}|~{3,}).*?^\1|`+[^`]*`+", re.DOTALL | re.MULTILINE)


def corpus_fields(name: str) -> list[str]:
    """The "html" of every line of corpus `name`.jsonl (read-only, never copied)."""
    path = CORPUS_DIR / f"{name}.jsonl"
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["html"] for line in lines]


def corpus_records(name: str) -> list[dict[str, str]]:
    """Every line of corpus `name`.jsonl: source, note_type, field, html."""
    path = CORPUS_DIR / f"{name}.jsonl"
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def note_types() -> dict[str, dict[str, Any]]:
    """The corpora's note types where known (notetypes.json): fields, templates, CSS."""
    with (CORPUS_DIR / "notetypes.json").open(encoding="utf-8") as file:
        known: dict[str, dict[str, Any]] = json.load(file)["note_types"]
    return known


def visible_text(html: str) -> str:
    """What a browser shows: text outside comments/scripts, whitespace collapsed.

    Line and block boundaries count as a space; every whitespace character,
    including no-break space, collapses to one space. An image counts as its src
    and alt, an input as its type and checked state.
    """
    root = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    parts: list[str] = []

    def walk(el: object) -> None:
        tag = getattr(el, "tag", None)
        if not isinstance(tag, str):  # a comment
            parts.append(getattr(el, "tail", None) or "")
            return
        if tag in _HIDDEN:
            parts.append(getattr(el, "tail", None) or "")
            return
        if tag in _BREAKS:
            parts.append(" ")
        if tag == "img":
            parts.append(f" [img {el.get('src', '')} {el.get('alt', '')}] ")  # type: ignore[attr-defined]
        if tag == "input":
            checked = "checked" if el.get("checked") is not None else ""  # type: ignore[attr-defined]
            parts.append(f" [input {el.get('type', '')} {checked}] ")  # type: ignore[attr-defined]
        parts.append(getattr(el, "text", None) or "")
        for child in el:  # type: ignore[attr-defined]
            walk(child)
        if tag in _BREAKS:
            parts.append(" ")
        parts.append(getattr(el, "tail", None) or "")

    parts.append(root.text or "")
    for child in root:
        walk(child)
    return " ".join("".join(parts).split())


def has_raw_html(md: str) -> bool:
    """Whether Markdown holds an HTML tag or comment outside code."""
    return bool(_RAW_HTML.search(_CODE.sub("", md)))
