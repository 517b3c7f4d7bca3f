"""html_to_md's candidates, and the prechecks that let the converter skip work, each
checked against the patterns it stands for."""

from __future__ import annotations

from html_gen import SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from ankiops_git.convert import html_to_md, md_to_html
from ankiops_git.notetypes import BUILTIN_PREFIXES


def test_a_lone_paragraph_still_converts_to_its_html() -> None:
    # a tight paragraph renders without <p>; with <p> as HTML (the third try) it matches
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
