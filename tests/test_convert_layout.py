"""Shortcuts inside the full normalisation (canonical._normalise) against it without them.

_layout keeps a line that _settled_line finds clean as it is, instead of cleaning it
(_clean_line); the tree must be the one the cleaning builds: the same nodes, names,
attributes, node classes, bs4 fields and links. The hand-written cases show each
rule of the check refusing a line that _clean_line changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from bs4 import Tag
from hypothesis import given
from hypothesis import strategies as st
from test_convert_fastparse import SETTINGS, SOUP, WELL_FORMED, _fields, signature
from test_convert_fastparse_tables import FIELD_WITH_TABLE
from test_convert_properties import ANKI_HTML

from ankiops_git.convert import canonical
from ankiops_git.convert.canonical import _clean_line, _settled_line, normalised, parse


@contextmanager
def switched(switch: Callable[[bool], None]) -> Iterator[None]:
    switch(False)
    try:
        yield
    finally:
        switch(True)


def full_tree(html: str) -> Tag:
    """normalised(html) by _normalise alone, with none of its shortcuts."""
    with switched(canonical.use_normal_form_check), switched(canonical.use_settled_line_check):
        return normalised(html)


def assert_same_as_full(html: str) -> None:
    expected = signature(full_tree(html))
    with switched(canonical.use_normal_form_check):  # so that _normalise runs
        assert signature(normalised(html)) == expected, html


def test_settled_lines_on_the_corpora(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = 0

    def counting(line: list) -> bool:  # type: ignore[type-arg]
        nonlocal taken
        settled = _settled_line(line)
        taken += settled
        return settled

    monkeypatch.setattr(canonical, "_settled_line", counting)
    fields = _fields("omscs", False) + _fields("ultimate-geography", True)
    for html in fields:
        assert_same_as_full(html)
    assert taken >= len(fields)  # not vacuous: most lines take the shortcut


@SETTINGS
@given(st.one_of(SOUP, WELL_FORMED, ANKI_HTML, FIELD_WITH_TABLE))
def test_settled_lines_on_generated_html(html: str) -> None:
    assert_same_as_full(html)


def _line(html: str) -> list:  # type: ignore[type-arg]
    return list(parse(html).contents)


# Each case: a line (the field's top-level nodes) that _clean_line changes.
UNSETTLED = {
    "space at the start": " a",
    "space at the end": "a ",
    "double space": "a  b",
    "newline": "a\nb",
    "space at the start of a bold": "<b> a</b>",
    "break at the end of an italic": "<i>a<br></i>",
    "empty inline": "a<b></b>",
    "empty inline inside": "<u>a<s></s></u>",
    "adjacent bolds": "<b>a</b><b>b</b>",
    "adjacent bolds inside": '<span style="c"><b>a</b><b>b</b></span>',
    "nothing to show": "<span class='x'> </span>",
    "space before a break": "a <br>b",
}


@pytest.mark.parametrize("html", UNSETTLED.values(), ids=UNSETTLED.keys())
def test_unsettled_lines_are_cleaned(html: str) -> None:
    assert not _settled_line(_line(html))
    assert [signature(n) for n in _clean_line(_line(html))] != [signature(n) for n in _line(html)]


SETTLED = [
    "a",
    "a <b>b</b> <i>c</i>",
    '<span style="c">a <b>b</b></span><img src="x.png">',
    "a<!--c-->b",
    "<u><b>a</b> <i>b</i></u> &nbsp;x",
]


@pytest.mark.parametrize("html", SETTLED)
def test_settled_lines_are_kept(html: str) -> None:
    assert _settled_line(_line(html))
    assert [signature(n) for n in _clean_line(_line(html))] == [signature(n) for n in _line(html)]


# Leaf blocks: _layout only puts in new <br>s when every line is settled.
LEAVES = {
    "<p>a<br>b <b>c</b></p>": True,
    "<p></p>": True,
    "<h2>a &nbsp;b</h2>": True,
    "<p>a<br></p>": False,  # a <br> at the end is dropped
    "<p><br>a</p>": False,  # an empty line: left to _layout (it keeps it)
    "<p>a<br><br>b</p>": False,
    "<p>a <br>b</p>": False,
    "<li>a<p>b</p></li>": False,  # a block: not a leaf
    "<li>a<div>b</div></li>": False,
}


@pytest.mark.parametrize("html", LEAVES)
def test_leaf_blocks_of_settled_lines(html: str) -> None:
    from ankiops_git.convert.canonical import _settled_lines

    block = parse(html).contents[0]
    assert isinstance(block, Tag)
    assert _settled_lines(block) is LEAVES[html]
    assert_same_as_full(html)
