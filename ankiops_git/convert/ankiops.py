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

# AnkiOps' replacements, in its order, made on the Markdown before parsing.
ARROWS = (("==>", "\u21d2"), ("-->", "\u2192"), ("=/=", "\u2260"))


def ankiops_source(markdown: str) -> str:
    """The Markdown as AnkiOps' renderer parses it: no-break spaces as spaces, the
    arrows as characters."""
    text = markdown.replace("\xa0", " ")
    for spelling, char in ARROWS:
        text = text.replace(spelling, char)
    return text


_BLOCK_TAGS = "|".join(sorted(BLOCK))
_BOUNDARY = "\x00"
# A block tag with the <br>s next to it: where a block starts or ends.
_AROUND_BLOCK = re.compile(f"(?:<br>|{_BOUNDARY})*(</?(?:{_BLOCK_TAGS})(?:\\s[^>]*)?>)(?:<br>)*")
_PARAGRAPH_BREAK = re.compile(f"(?:<br>){{2,}}|{_BOUNDARY}+")
_WIDTH_STYLE = re.compile(r"width:\s*(\d+)px;?")


@lru_cache(maxsize=16384)
def normal_form(html: str) -> str:
    """`html` with what tells AnkiOps' rendering from ours forgotten: code blocks as
    their text, an image's width however spelled, empty alt texts, and the joins of
    blocks (<p>s, <br><br>, <br>s next to a block) as one boundary."""
    tree = normalised(html)
    text = (
        serialise(_forgotten(tree.children)).replace("\u21d2", "==&gt;").replace("\u2192", "--&gt;")
    )
    text = text.replace("\u2260", "=/=")
    text = _AROUND_BLOCK.sub(_boundary, text)
    text = _PARAGRAPH_BREAK.sub(_BOUNDARY, text)
    return text.strip(_BOUNDARY)


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
            if node.name == "img" and attrs.get("alt") == "":
                del attrs["alt"]
            node = Element(node.name, attrs, _forgotten(node.children))
        out.append(node)
    return out


def _boundary(match: re.Match[str]) -> str:
    """A block tag as a boundary on either side; a paragraph's tags as a boundary alone."""
    return _BOUNDARY if match[1] in ("<p>", "</p>") else _BOUNDARY + match[1] + _BOUNDARY


def render(markdown: str) -> str:
    """The field's Markdown in our renderer with AnkiOps' inline Markdown, read as
    AnkiOps reads it (arrows, no-break spaces)."""
    return md_to_html(ankiops_source(markdown), ankiops=True)


def same_meaning(markdown: str, html: str) -> bool:
    """Whether `html` (a field in Anki) is what `markdown` means in AnkiOps' dialect:
    AnkiOps' rendering of it, or ours, or any HTML equal to one of them up to the
    normal form above."""
    return normal_form(render(markdown)) == normal_form(html)
