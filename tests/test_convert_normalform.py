"""The already-normal fast path of canonicalisation against the full normalisation.

Whenever canonical.already_normal accepts a parsed field, normalised() skips
_normalise; the tree it returns must be the one _normalise builds: the same nodes,
names, attributes, node classes, bs4 fields and links. The hand-written cases show
each rule of the check rejecting a tree that _normalise changes.
"""

from __future__ import annotations

import pytest
from bs4 import Tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_convert_fastparse import SOUP, WELL_FORMED, _fields, signature
from test_convert_properties import ANKI_HTML, DOCUMENT

from ankiops_git.convert import canonical, md_to_html
from ankiops_git.convert.canonical import already_normal, is_empty_field, normalised, parse


def full_normalised(html: str) -> Tag:
    canonical.use_normal_form_check(False)
    try:
        return normalised(html)
    finally:
        canonical.use_normal_form_check(True)


def assert_same_as_full(html: str) -> bool:
    """normalised(html) is the full path's tree; returns whether the fast path was taken."""
    taken = already_normal(parse("" if is_empty_field(html) else html))
    expected = signature(full_normalised(html))
    assert signature(normalised(html)) == expected, html
    return taken


@pytest.mark.parametrize(
    ("name", "one_per_shape", "least_taken"),
    [("omscs", False, 0.3), ("ultimate-geography", True, 0.9)],
)
def test_fast_path_gives_the_full_paths_tree_on_the_corpora(
    name: str, one_per_shape: bool, least_taken: float
) -> None:
    fields = _fields(name, one_per_shape)
    taken = sum(assert_same_as_full(html) for html in fields)
    assert taken >= least_taken * len(fields), (taken, len(fields))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(SOUP, WELL_FORMED, ANKI_HTML))
def test_fast_path_gives_the_full_paths_tree_on_generated_html(html: str) -> None:
    assert_same_as_full(html)


@SETTINGS
@given(DOCUMENT)
def test_what_md_to_html_writes_is_already_normal(md: str) -> None:
    html = md_to_html(md)
    assert_same_as_full(html)
    assert_same_as_full(canonical.canonical_html(html))


# Each case: a field that _normalise changes, and the rule of the check that says so.
CHANGED = {
    "synonym": "<strong>a</strong>",
    "style spacing": '<span style="color:red">a</span>',
    "empty style": '<span style="" class="c">a</span>',
    "empty alt": '<img src="a.png" alt="">',
    "bare span": "<span>a</span>",
    "empty inline": "a<b></b>",
    "italic in italic": "<i>a<i>b</i></i>",
    "break inside bold": "<b><br>a</b>",
    "adjacent bolds": "<b>a</b><b>b</b>",
    "block in inline": "<b>a<div>b</div></b>",
    "div": "<div>a</div>",
    "break before a block": "a<br><p>b</p>",
    "leading space": " a",
    "double space": "a  b",
    "newline in text": "a\nb",
    "trailing space": "a ",
    "space between blocks": "<p>a</p> <p>b</p>",
    "newline between items": "<ul><li>a</li>\n</ul>",
    "table": "<table><tr><td>a</td></tr></table>",
    "break in pre": "<pre>a<br>b</pre>",
    "newline ending pre": "<pre>ab\n</pre>",
    "bare code in pre": "<pre><code>a</code></pre>",
    "empty inline in pre": "<pre>a<b></b></pre>",
    "only breaks": "<br><br>",
}


@pytest.mark.parametrize("html", CHANGED.values(), ids=CHANGED.keys())
def test_the_check_rejects_what_normalise_changes(html: str) -> None:
    assert not already_normal(parse(html))
    # _normalise does change it (or the check would be needlessly strict)
    unchanged = parse(html)
    canonical._as_normalised(unchanged, True)
    canonical.ops.relink(unchanged)
    assert signature(full_normalised(html)) != signature(unchanged)


# Left to _normalise although it changes nothing: rules kept simple.
CONSERVATIVE = ["a<br><br>b", "a<!--c-->", "<font color=red>a</font>"]


@pytest.mark.parametrize("html", CONSERVATIVE)
def test_the_check_is_conservative(html: str) -> None:
    assert not already_normal(parse(html))
    assert_same_as_full(html)


NORMAL = [
    "",
    "a <b>b</b> <i>c</i>",
    '<p>a<br>b</p><ul><li>x</li><li><b>y</b> <img src="a.png"></li></ul>',
    '<pre class="highlight"><code class="language-py"><span class="n">def</span></code></pre>',
    "<h1>T</h1><blockquote><p>q</p></blockquote><hr>",
    '<span style="color: red">a</span><a href="x" title="y">l</a><code>c</code>',
    '<p><img src="a.png" alt="b"></p><span title="t" class="c">unsorted</span>',
]


@pytest.mark.parametrize("html", NORMAL)
def test_the_check_accepts_canonical_html(html: str) -> None:
    assert already_normal(parse(html))
    assert assert_same_as_full(html)
