"""AnkiOps' Markdown, for repositories adopted from AnkiOps (`[markdown] ankiops = true`).

AnkiOps 0.6.6 renders Markdown with mistune and its own rules: `==x==`, `~x~`, `^x^`
as <mark>, <sub>, <sup>; `-->`, `==>`, `=/=` as → ⇒ ≠ (before parsing); `{width=N}`
as `style="width: Npx;"`; blocks joined by `<br><br>`; Pygments' own classes. Our
renderer learns the inline Markdown (md_to_html's `ankiops`), the rest it renders its
own way. `same_meaning` compares the two HTMLs in a normal form that forgets those
differences, so a fetch keeps the file's Markdown for such a field
(export.field_markdown) and adopting a folder changes neither files nor notes.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ankiops_git.convert.canonical import normalised
from ankiops_git.convert.markdown import md_to_html
from ankiops_git.convert.tree import BLOCK, Element, Node, serialise, text_of

_ARROWS = {"==>": "\u21d2", "-->": "\u2192", "=/=": "\u2260"}  # AnkiOps' replacements, in order
_BOUNDARY = "\x00"
# A block tag with the <br>s next to it: where a block starts or ends.
_AROUND_BLOCK = re.compile(
    f"(?:<br>|{_BOUNDARY})*(</?(?:{'|'.join(sorted(BLOCK))})(?:\\s[^>]*)?>)(?:<br>)*"
)
_PARAGRAPH_BREAK = re.compile(f"(?:<br>){{2,}}|{_BOUNDARY}+")
_WIDTH_STYLE = re.compile(r"width:\s*(\d+)px;?")


def same_meaning(markdown: str, html: str) -> bool:
    """Whether `html` (a field in Anki) is what `markdown` means in AnkiOps' dialect:
    AnkiOps' rendering of it, or ours (with the Markdown read as AnkiOps reads it:
    no-break spaces as spaces, the arrows as characters), up to the normal form."""
    source = markdown.replace("\xa0", " ")
    for spelling, char in _ARROWS.items():
        source = source.replace(spelling, char)
    return normal_form(md_to_html(source, ankiops=True)) == normal_form(html)


@lru_cache(maxsize=16384)
def normal_form(html: str) -> str:
    """`html` with what tells AnkiOps' rendering from ours forgotten: code blocks as
    their text, an image's width however spelled (the canonical form drops an empty
    alt), the arrows as written, and the joins of blocks (<p>s, <br><br>, <br>s next
    to a block) as one boundary (a paragraph's tags as a boundary alone)."""
    text = serialise(_forgotten(normalised(html).children))
    for spelling, char in _ARROWS.items():
        text = text.replace(char, spelling.replace(">", "&gt;"))
    text = _AROUND_BLOCK.sub(
        lambda m: _BOUNDARY if m[1] in ("<p>", "</p>") else _BOUNDARY + m[1] + _BOUNDARY, text
    )
    return _PARAGRAPH_BREAK.sub(_BOUNDARY, text).strip(_BOUNDARY)


def _forgotten(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Element) and node.name == "pre":
            text = text_of(node.children).rstrip("\n")
            node = Element("pre", {}, [Element("code", {}, [text] if text else [])])
        elif isinstance(node, Element):
            attrs = dict(node.attrs)
            width = _WIDTH_STYLE.fullmatch(attrs.get("style", "").strip())
            if node.name == "img" and width and "width" not in attrs:
                del attrs["style"]
                attrs["width"] = width.group(1)
            node = Element(node.name, attrs, _forgotten(node.children))
        out.append(node)
    return out
