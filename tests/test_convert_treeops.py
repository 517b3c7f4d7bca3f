"""treeops (bs4 edits without per-edit link bookkeeping) against bs4's own methods.

The same random edits are made to two parses of the same HTML, one with bs4's
methods, one with treeops followed by relink; the trees must then be identical,
links included, and so must what bs4's own walkers read from them.
"""

from __future__ import annotations

from typing import Any

from bs4 import NavigableString, Tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_convert_fastparse import assert_links_consistent, signature

from ankiops_git.convert import treeops as ops
from ankiops_git.convert.canonical import normalised, parse_html5lib, serialise

HTML = st.lists(
    st.sampled_from(["a", "b c", "<b>x</b>", "<i>y<b>z</b></i>", "<br>", "<!--c-->",
                     "<div>d<span>e</span></div>", "<pre>p<br>q</pre>", "<p>r</p>", "  "]),
    min_size=1,
    max_size=8,
).map("".join)  # fmt: skip

# (operation, node index, other node index or text); indices pick nodes in document order
EDIT = st.tuples(
    st.sampled_from(["extract", "append", "insert", "insert_before", "insert_after",
                     "replace_with", "replace_text", "unwrap", "clear", "smooth"]),
    st.integers(0, 30),
    st.integers(0, 30),
)  # fmt: skip


def _nodes(body: Tag) -> list[Any]:
    return [body, *body.descendants]


def _apply_bs4(body: Tag, edit: tuple[str, int, int]) -> None:
    name, i, j = edit
    nodes = _nodes(body)
    node, other = nodes[i % len(nodes)], nodes[j % len(nodes)]
    if not _allowed(body, name, node, other):
        return
    if name == "extract":
        node.extract()
    elif name == "append":
        node.append(other)
    elif name == "insert":
        node.insert(j % (len(node.contents) + 1), other)
    elif name == "insert_before":
        node.insert_before(other, NavigableString("t"))
    elif name == "insert_after":
        node.insert_after(other, "u")
    elif name == "replace_with":
        node.replace_with(other)
    elif name == "replace_text":
        node.replace_with(f"v{j}")
    elif name == "unwrap":
        node.unwrap()
    elif name == "clear":
        node.clear()
    elif name == "smooth":
        node.smooth()


def _apply_ops(body: Tag, nodes: list[Any], edit: tuple[str, int, int]) -> None:
    name, i, j = edit
    node, other = nodes[i % len(nodes)], nodes[j % len(nodes)]
    if not _allowed(body, name, node, other):
        return
    if name == "extract":
        ops.extract(node)
    elif name == "append":
        ops.append(node, other)
    elif name == "insert":
        ops.insert(node, j % (len(node.contents) + 1), other)
    elif name == "insert_before":
        ops.insert_before(node, other, NavigableString("t"))
    elif name == "insert_after":
        ops.insert_after(node, other, "u")
    elif name == "replace_with":
        ops.replace_with(node, other)
    elif name == "replace_text":
        ops.replace_with(node, f"v{j}")
    elif name == "unwrap":
        ops.unwrap(node)
    elif name == "clear":
        ops.clear(node)
    elif name == "smooth":
        ops.smooth(node)


def _inside(node: Any, ancestor: Any) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _allowed(body: Tag, name: str, node: Any, other: Any) -> bool:
    """Edits that keep one tree under <body> (both sides skip the same ones)."""
    attached = _inside(node, body)
    if name in ("append", "insert"):
        return isinstance(node, Tag) and attached and not _inside(node, other)
    if name in ("insert_before", "insert_after", "replace_with"):
        return node is not body and attached and not _inside(node, other) and other is not node
    if name in ("extract", "replace_text", "unwrap"):
        return node is not body and attached and (name != "unwrap" or isinstance(node, Tag))
    return isinstance(node, Tag) and attached  # clear, smooth


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(HTML, st.lists(EDIT, min_size=1, max_size=6))
def test_treeops_then_relink_equals_bs4s_own_edits(html: str, edits: list[Any]) -> None:
    expected = parse_html5lib(html)
    edited = parse_html5lib(html)
    for edit in edits:
        # both sides pick nodes from the same document-order listing of the same tree
        nodes = _nodes(edited)
        _apply_bs4(expected, edit)
        _apply_ops(edited, nodes, edit)
        ops.relink(edited)
        assert signature(edited) == signature(expected)
    assert_links_consistent(edited)
    assert [str(n) for n in edited.descendants] == [str(n) for n in expected.descendants]
    assert ops.get_text(edited) == expected.get_text()
    assert serialise(edited) == serialise(expected)


def test_get_text_reads_what_bs4_reads() -> None:
    for html in ["a<!--c-->b", "<pre>x<b>y</b><!--z--></pre>", ""]:
        body = parse_html5lib(html)
        assert ops.get_text(body) == body.get_text()
        for tag in body.find_all(True):
            assert ops.get_text(tag) == tag.get_text()
    made = Tag(name="span")  # made in code: no interesting_string_types
    made.append(NavigableString("m"))
    assert ops.get_text(made) == made.get_text()


def test_normalised_trees_have_bs4s_links() -> None:
    """normalised edits with treeops and relinks once: the links must be whole."""
    for html in ["<div>a</div><div><b> b </b><br></div>", "<pre><code>x\n</code></pre>q",
                 "<ul><li>a</li><ul><li>b</li></ul></ul><b>c<div>d</div>e</b>"]:  # fmt: skip
        assert_links_consistent(normalised(html))
