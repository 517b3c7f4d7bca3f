"""Tree edits for canonicalisation, without bs4's bookkeeping on every edit.

bs4 keeps each node's element chain (next_element/previous_element, which its
.descendants and .get_text follow) and sibling links up to date on every edit; on
field-sized trees that costs more than the edits. These functions do what bs4's
methods of the same names do to `contents` and `parent` only, and `relink` then sets
the sibling and element links of the finished tree once, as bs4 would have left them
(document order).

While a tree is edited with these, read it only through `contents`, `parent`,
`children` and the walkers here (`descendants`, `get_text`), never through bs4
methods that follow the links, and edit it only with these functions. Errors are
bs4's: ValueError, with its messages.
"""

from __future__ import annotations

from typing import Any

from bs4 import NavigableString, Tag
from bs4.element import PageElement, PreformattedString


def index(parent: Tag, child: Any) -> int:
    """The position of `child` (by identity: equal strings are different nodes)."""
    for position, node in enumerate(parent.contents):
        if node is child:
            return position
    raise ValueError("not a child")


def extract(node: Any) -> Any:
    parent = node.parent
    if parent is not None:
        del parent.contents[index(parent, node)]
        node.parent = None
    return node


def insert(parent: Tag, position: int, child: Any) -> Any:
    if isinstance(child, str) and not isinstance(child, NavigableString):
        child = NavigableString(child)
    position = min(position, len(parent.contents))
    if child.parent is not None:
        if child.parent is parent:
            current = index(parent, child)
            if current < position:
                position -= 1  # extracting it shifts the target down
            elif current == position:
                return child
        extract(child)
    child.parent = parent
    parent.contents.insert(position, child)
    return child


def append(parent: Tag, child: Any) -> Any:
    return insert(parent, len(parent.contents), child)


def insert_before(node: PageElement, *new: Any) -> None:
    parent = node.parent
    if parent is None:
        raise ValueError("Element has no parent, so 'before' has no meaning.")
    for predecessor in new:
        if isinstance(predecessor, PageElement):
            extract(predecessor)
        insert(parent, index(parent, node), predecessor)


def insert_after(node: PageElement, *new: Any) -> None:
    parent = node.parent
    if parent is None:
        raise ValueError("Element has no parent, so 'after' has no meaning.")
    for offset, successor in enumerate(new):
        if isinstance(successor, PageElement):
            extract(successor)
        insert(parent, index(parent, node) + 1 + offset, successor)


def replace_with(node: Any, *new: Any) -> Any:
    if len(new) == 1 and new[0] is node:
        return node
    parent = node.parent
    if parent is None:
        raise ValueError(
            "Cannot replace one element with another when the element to be replaced"
            " is not part of a tree."
        )
    position = index(parent, node)
    extract(node)
    for offset, replacement in enumerate(new):
        insert(parent, position + offset, replacement)
    return node


def unwrap(tag: Tag) -> Tag:
    """Replace `tag` with its children."""
    parent = tag.parent
    if parent is None:  # as bs4 raises it (_normalise can meet this: see its caller)
        raise ValueError(
            "Cannot replace an element with its contents when that element is not part of a tree."
        )
    position = index(parent, tag)
    extract(tag)
    for child in reversed(tag.contents[:]):
        insert(parent, position, child)
    return tag


def clear(tag: Tag) -> None:
    for child in tag.contents:
        child.parent = None
    tag.contents.clear()  # (as extracting each child)


def smooth(tag: Tag) -> None:
    """Merge adjacent text nodes, in `tag` and below (bs4's Tag.smooth)."""
    contents = tag.contents
    marked = []
    previous_is_text = False
    for position, node in enumerate(contents):
        kind = type(node)
        if kind is Tag or (kind is not NavigableString and isinstance(node, Tag)):
            if node.contents:  # type: ignore[attr-defined]
                smooth(node)  # type: ignore[arg-type]
            previous_is_text = False
            continue
        is_text = kind is NavigableString or (
            isinstance(node, NavigableString) and not isinstance(node, PreformattedString)
        )
        if is_text and previous_is_text:
            marked.append(position - 1)
        previous_is_text = is_text
    for position in reversed(marked):
        first, second = contents[position], contents[position + 1]
        extract(second)
        replace_with(first, NavigableString(str(first) + str(second)))


def descendants(el: Tag) -> list[PageElement]:
    """Everything below `el`, in document order."""
    found: list[PageElement] = []

    def walk(tag: Tag) -> None:
        for child in tag.contents:
            found.append(child)
            if isinstance(child, Tag) and child.contents:
                walk(child)

    walk(el)
    return found


def get_text(el: Tag) -> str:
    """bs4's Tag.get_text(): the strings below `el` of the types it counts as text."""
    types = el.interesting_string_types
    if types is None:
        types = Tag.MAIN_CONTENT_STRING_TYPES
    parts = []
    for node in descendants(el):
        if not isinstance(node, NavigableString):
            continue
        if type(node) is not types if isinstance(types, type) else type(node) not in types:
            continue
        parts.append(str(node))
    return "".join(parts)


def relink(root: Tag, following: PageElement | None = None) -> None:
    """Set sibling and element links below `root` from `contents` (document order);
    `following` is what comes after `root`'s subtree in the whole document."""
    last: PageElement = root

    def walk(el: Tag) -> None:
        nonlocal last
        previous = None
        for child in el.contents:
            child.parent = el
            child.previous_sibling = previous
            if previous is not None:
                previous.next_sibling = child
            previous = child
            last.next_element = child
            child.previous_element = last
            last = child
            if isinstance(child, Tag):
                walk(child)
        if previous is not None:
            previous.next_sibling = None

    walk(root)
    last.next_element = following
    if following is not None:
        following.previous_element = last
