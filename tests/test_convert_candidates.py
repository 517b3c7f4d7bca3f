"""html_to_md's skipping of candidates that cannot match (tomarkdown._P_TAG).

A candidate whose rendered HTML has no `<p`/`</p` (any case) is not compared with a
field whose canonical form holds `<p`: the rule rests on canonical_html never writing
"<p" for such HTML, which these tests check on generated and real HTML.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_convert_fastparse import SETTINGS, SOUP, WELL_FORMED, _fields
from test_convert_properties import ANKI_HTML

from ankiops_git.convert import canonical_html, html_to_md, md_to_html
from ankiops_git.convert.tomarkdown import _P_TAG

TRICKY = st.sampled_from(
    ["<!--x<-->", "<script>&lt;p</script>", "<textarea>&lt;p</textarea>", "&lt;p&gt;",
     "<b title='&lt;p'>a</b>", "<table><td>a</td></table>", "<isindex>", "< p>", "<image>",
     "<style>a<b</style>", "<xmp><b></xmp>", "<plaintext>&lt;p"]
)  # fmt: skip


@SETTINGS
@given(st.lists(st.one_of(SOUP, WELL_FORMED, ANKI_HTML, TRICKY), max_size=3).map("".join))
def test_html_without_a_p_tag_has_no_p_in_canonical_form(html: str) -> None:
    if _P_TAG.search(html) is None:
        assert "<p" not in canonical_html(html), html


def test_rendered_corpus_fields_without_a_p_tag_have_no_p_in_canonical_form() -> None:
    checked = 0
    for html in _fields("omscs", False)[:1500]:
        rendered = md_to_html(html_to_md(html))
        if _P_TAG.search(rendered) is None:
            assert "<p" not in canonical_html(rendered), rendered
            checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    "html",
    ["a</p>b", "<P>a</P>", "<!--<p>-->a", "<script>'<p>'</script>", "<pre>a</pre>", "</P>"],
)
def test_the_pattern_finds_every_way_to_a_p(html: str) -> None:
    assert _P_TAG.search(html) is not None


def test_a_lone_paragraph_still_converts_to_its_html() -> None:
    # a tight paragraph renders without <p>: the candidate is skipped, the next matches
    assert html_to_md("<p>Standard deviation</p>") == "<p>Standard deviation</p>"
    assert md_to_html("Standard deviation") == "Standard deviation"


# --- raw blocks serialised in place ------------------------------------------------------


@SETTINGS
@given(st.one_of(SOUP, WELL_FORMED, ANKI_HTML))
def test_serialise_node_is_serialise_of_a_copy_in_a_div(html: str) -> None:
    """raw_block serialises a block where it stands, as the copy it used to move into a
    fresh <div> (outside any <pre>) serialised."""
    from bs4 import Tag

    from ankiops_git.convert.canonical import normalised, serialise, serialise_node

    tree = normalised(html)
    nodes = [tree, *tree.descendants]
    for node in nodes:
        holder = Tag(name="div")
        holder.append(node.__copy__())
        for entities in (False, True):
            assert serialise_node(node, entities) == serialise(holder, entities)


# --- the canonical form of plain renderings --------------------------------------------

PLAIN_MD = st.lists(
    st.sampled_from(
        ["# word", "## x&nbsp;y", "plain text", "", "", "a > b", '"q" \'x\'', "&nbsp;",
         "### 6.3 x", "{{c1::a}}", "x&nbsp;&nbsp;y", "é 日", "\u2003", "\x85", "\ud800",
         "\x80", "\ufdd0", "a  b", "#", "- item", "* x&nbsp;", "+ y", "*a* b", "**b**",
         "x **y&nbsp;**", "- *i* **b**", "(*a*)", "*\u3000a*", "\\(x_1 < y & z\\)", "\\&nbsp;",
         "\\[a \"b\"\\]", "\\<b\\>", "\\(a&nbsp;\\)", "\\\\", "\\", "\\", "x [a] y", "[a]",
         "1. one", "3. three", "2) two", "![](x_y.png)", "see ![](a.png).", "- ![](b.svg)"]
    ),
    min_size=1,
    max_size=6,
).map("\n".join)  # fmt: skip


def assert_canonical_rendering(md: str) -> bool:
    from ankiops_git.convert.canonical import _CANONICAL_CACHE
    from ankiops_git.convert.markdown import plain_html
    from ankiops_git.convert.tomarkdown import canonical_rendering

    rendered = md_to_html(md)
    _CANONICAL_CACHE.clear()
    assert canonical_rendering(md, rendered) == canonical_html(rendered), md
    return plain_html(md) is not None


@SETTINGS
@given(PLAIN_MD)
def test_plain_renderings_are_canonical_but_for_two_characters(md: str) -> None:
    assert_canonical_rendering(md)


def test_plain_renderings_on_the_corpus() -> None:
    taken = sum(assert_canonical_rendering(html_to_md(h)) for h in _fields("omscs", False))
    assert taken > 1000  # not vacuous


# --- deck_safe's precheck ---------------------------------------------------------------

LINE_STARTS = st.sampled_from(
    ["Q: a", "A:", "C7: x", "C8: x", "M:\t", "---", "--- ", "----", "<!-- note_id: 1 -->",
     "<!--tags: a-->", "<<<<<<< x", ">>>>>>>", "=======", " Q: a", "q: a", "x", "", "```",
     "~~~", "<b>", "- a", "> q", "B:", "T: {{c1::x}}", "I:", "E: e", "F: f"]
)  # fmt: skip


@SETTINGS
@given(st.lists(LINE_STARTS, max_size=6).map("\n".join))
def test_lines_the_precheck_passes_are_never_structural(md: str) -> None:
    from ankiops_git.convert.tomarkdown import _MAYBE_STRUCTURAL
    from ankiops_git.deckfile import COMMENT_RE, PREFIX_RE, SEPARATOR_RE, is_conflict_marker

    if _MAYBE_STRUCTURAL.search(md) is None:  # deck_safe returns it as it is
        for line in md.split("\n"):
            assert not (PREFIX_RE.match(line) or SEPARATOR_RE.match(line))
            assert not (COMMENT_RE.match(line) or is_conflict_marker(line))
