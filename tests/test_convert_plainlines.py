"""md_to_html's shortcuts against markdown-it as it comes, the reference: the plain
text lines it renders without parsing (markdown.plain_html), whenever that
answers, and the text rule that stops only where our inline rules can start. Each
refused shape is one markdown-it renders otherwise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ankiops_git.convert.markdown import plain_html, render_markdown

# Characters markdown-it treats specially somewhere, and ordinary ones.
PIECES = st.sampled_from(
    list("abZ9 0.1)#=+->!{}:\"'\\`*_[]<&~|\t\xa0\u2003\x0b\x0c\x85é日\n")
    + ["1. ", "- ", "  ", "\n\n", "{{c1::x}}", "Q: a", "a > b", "x\\(y\\)", "![a](b)"]
    + ["# ", "## ", "\n# ", "\n### a", "\n\n", "#", " #", "&nbsp;", "&amp;", "&nbsp", "6.3 "]
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=10).map("".join))
def test_shortcut_agrees_with_markdown_it(text: str) -> None:
    html = plain_html(text)
    if html is not None:
        assert html == render_markdown(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "two words\nand a line",
        "quotes \" and > and ' {{c1::cloze::hint}} 50% @ x: y = z + 1 - 2",
        "A - B, 1.5 kg, #3, item! {x}",
        "日本語 é",
        "# Title\n## Sub\ntext&nbsp;here\nmore",
        "### 6.3 Edit distance\n\nfoo\nbar\n\n\nbaz\n# End",
        "a\n\n# H",
        "# heading",
        "a\n\nb",
        "# H\n- a\n- b\n\ntext",
        "text\n- a\n* b",
        "p\n\n- a\n- b\n\nq",
        "- item",
        "+ item",
        "*a*",
        "What does *term 9* mean? **b** (*c*)",
    ],
)
def test_plain_lines_take_the_shortcut(text: str) -> None:
    html = plain_html(text)
    assert html is not None and html == render_markdown(text)


@pytest.mark.parametrize(
    "text",
    [
        "> quote",
        "a\n===",  # setext heading
        "a\n---",
        "    code",  # indented code
        "a  \nb",  # hard break by trailing spaces
        "a \nb",  # trailing space trimmed
        "a\n b",  # leading space dropped
        "a\xa0",  # trimmed at the end of a paragraph
        "_a_",
        "~~a~~",
        "`a`",
        "[a](b)",
        "a &amp; b",
        "<b>a</b>",
        "a | b\n--- | ---",
        "a &amp; b",
    ],
)
def test_other_markdown_is_left_to_markdown_it(text: str) -> None:
    assert plain_html(text) is None
    # and for these the shortcut's answer would be wrong
    assert render_markdown(text) != "<br>".join(
        line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for line in text.split("\n")
    )


@pytest.mark.parametrize(
    "text",
    ["a\tb", "a \\(x", "1.5 kg", "a \\ b", "#a", "####### a", "#  a", "\na", "a\n", "# C#"],
)
def test_conservative_refusals(text: str) -> None:
    # rendered as plain text too, but refused by rules kept simple
    assert plain_html(text) is None


# --- markdown-it's text rule stopping only where our inline rules can start ------------

MARKDOWN_PIECES = st.sampled_from(
    list("ab 1\n:{}#$%+-=>@^!*_~`[]()<&\\|\"'")
    + ["**", "![a](b.png){width=3}", "[l](u)", "<b>", "</b>", "&amp;", "\\(x\\)", "{{c1::a}}",
       "- ", "1. ", "# ", "> ", "```\n", "<https://x.y>", "a@b.c", "\n\n", "  \n", "~~"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKDOWN_PIECES, max_size=14).map("".join))
def test_short_text_runs_render_as_markdown_it_does(text: str) -> None:
    assert render_markdown(text) == render_markdown(text, reference=True)


def test_short_text_runs_on_the_corpora() -> None:
    from corpus_util import corpus_fields

    from ankiops_git.convert import html_to_md

    for html in corpus_fields("omscs"):
        md = html_to_md(html)
        assert render_markdown(md) == render_markdown(md, reference=True), md


def test_a_closing_sequence_is_left_to_markdown_it() -> None:
    assert plain_html("# a #") is None
    assert render_markdown("# a #") == "<h1>a</h1>"


LINES = st.sampled_from(
    ["# word word", "## x&nbsp;y", "plain text", "", "", "more words", "### 6.3 x", "a > b",
     "x: y", "###### deep", "&nbsp;", "# &nbsp;", "\"q\" 'x'", "{{c1::a}}", "- item", "a *b*",
     "- b", "* c", "+ d", "-  e", "- - f", "- 1. g", "- # h", "* &nbsp;", "1. i", "-",
     "*a* b", "a **b** c", "**a*", "*a **b***", "** **", "a*b*c", "*(a)*", "- *x* **y**",
     "# **T** *u*", "x*", "* a*", "*a*&nbsp;**b**", "{{c1::**x**}}", "***", "* * *",
     "\\(x_1 < y\\)", "a \\(b", "\\)", "\\[a\\]", "\\*", "\\\\", "\\a", "\\&nbsp;", "x\\",
     "\\(a  b\\)", "\\(a\\) _ \\(b\\)", "- \\(O(n)\\)", "\\", "\\", "a [b] c", "[a]: b",
     "x [a](b)", "![a](b.png)", "*a [b* c]", "- [x]", "[a]", "1. a", "2. b", "3) c", "01. d",
     "0. e", "1234567890. f", "![](x_y.png)", "![](a b.png)", "![](x.png){width=3}", "![a](b)",
     "![](a(b).png)", "![](<a>)"]
)  # fmt: skip


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, min_size=1, max_size=7).map("\n".join))
def test_headings_and_paragraphs_agree_with_markdown_it(text: str) -> None:
    html = plain_html(text)
    if html is not None:
        assert html == render_markdown(text, reference=True)


# --- one HTML block --------------------------------------------------------------------

LISTS_LEFT = {
    "lazy continuation": ("- a\nb", "<ul><li>a<br>b</li></ul>"),
    "loose list": ("- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>"),
    "two spaces": ("-  a\n-  b", None),
    "nested list": ("- - a", "<ul><li><ul><li>a</li></ul></li></ul>"),
}


@pytest.mark.parametrize("case", LISTS_LEFT)
def test_other_lists_are_left_to_markdown_it(case: str) -> None:
    text, rendered = LISTS_LEFT[case]
    assert plain_html(text) is None
    if rendered is not None:  # (what a plain reading would get wrong)
        assert render_markdown(text, reference=True) == rendered


def test_ordered_lists_left_to_markdown_it() -> None:
    # from 2 it cannot interrupt a paragraph: the paragraph goes on
    assert plain_html("p\n2. a") is None
    assert render_markdown("p\n2. a", reference=True) == "p<br>2. a"
    # items apart: a loose list
    assert plain_html("1. a\n\n2. b") is None
    loose = "<ol><li><p>a</p></li><li><p>b</p></li></ol>"
    assert render_markdown("1. a\n\n2. b", reference=True) == loose
    # and what it takes: numbered from where it starts
    assert plain_html("3. a\n4. b") == '<ol start="3"><li>a</li><li>b</li></ol>'


def test_what_a_push_writes_is_markdown_its_rendering_on_real_markdown() -> None:
    """md_to_html, shortcuts and all, is markdown-it as it comes for every Markdown the
    converter writes from real decks, and for the benchmark corpus's templates: what a
    push stores in Anki does not depend on which path rendered it."""
    import sys
    from pathlib import Path

    from corpus_util import corpus_fields

    from ankiops_git.convert import html_to_md, md_to_html

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import corpus

    texts = list(corpus.TEMPLATES)
    for name in ("omscs", "ultimate-geography"):
        texts += [html_to_md(html) for html in corpus_fields(name)]
    assert len(texts) > 1000
    shortcut = 0
    for md in dict.fromkeys(texts):
        assert md_to_html(md) == render_markdown(md, reference=True), md
        shortcut += plain_html(md) is not None
    assert shortcut > 100  # the comparison covers the shortcuts, not only markdown-it
