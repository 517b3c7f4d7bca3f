"""html_to_md's skipping of candidates that cannot match (tomarkdown._P_TAG).

A candidate whose rendered HTML has no `<p`/`</p` (any case) is not compared with a
field whose canonical form holds `<p`: the rule rests on canonical_html never writing
"<p" for such HTML, which these tests check on generated and real HTML.
"""

from __future__ import annotations

import pytest
from html_gen import SETTINGS, SOUP, WELL_FORMED, fields_with_markup
from hypothesis import given
from hypothesis import strategies as st
from test_convert_properties import ANKI_HTML

from ankiops_git.convert import canonical_html, html_to_md, md_to_html
from ankiops_git.convert.tomarkdown import _P_TAG
from ankiops_git.notetypes import BUILTIN_PREFIXES

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
    for html in fields_with_markup("omscs", False)[:1500]:
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


# --- deck_safe's precheck ---------------------------------------------------------------

LINE_STARTS = st.sampled_from(
    ["Q: a", "A:", "C7: x", "C8: x", "M:\t", "---", "--- ", "----", "<!-- note_id: 1 -->",
     "<!--tags: a-->", "<<<<<<< x", ">>>>>>>", "=======", " Q: a", "q: a", "x", "", "```",
     "~~~", "<b>", "- a", "> q", "B:", "T: {{c1::x}}", "I:", "E: e", "F: f",
     *(f"{p}: x" for p in BUILTIN_PREFIXES)]
)  # fmt: skip


@SETTINGS
@given(st.lists(LINE_STARTS, max_size=6).map("\n".join))
def test_lines_the_precheck_passes_are_never_structural(md: str) -> None:
    from ankiops_git.deckfile import _MAYBE_STRUCTURAL, structure_in

    if _MAYBE_STRUCTURAL.search(md) is None:  # deck_safe returns it as it is
        assert all(kind == "fence" for _, kind in structure_in(md)), md


# --- escape_plain's precheck --------------------------------------------------------------


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("a1 _~*`|\\]<>&[(:;#\n\t\xa0\u2003\r\f\v!"))))
def test_text_the_escape_precheck_passes_needs_no_escape(text: str) -> None:
    """escape_plain returns text its precheck (_ESCAPE_ANY) finds nothing in as it is:
    neither of the two patterns it stands for may match there."""
    from ankiops_git.convert.tomarkdown import _ESCAPE, _ESCAPE_ANY, _ODD_SPACE

    if _ESCAPE_ANY.search(text) is None:
        assert _ESCAPE.search(text) is None and _ODD_SPACE.search(text) is None, text
