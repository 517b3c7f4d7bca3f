"""AnkiOps' Markdown (`[markdown] ankiops = true`): its inline syntax in our renderer,
and the equivalence that lets a fetch keep a file's Markdown for the HTML AnkiOps
rendered from it (convert/ankiops.py, export.field_markdown)."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest
import test_convert_properties as props
from hypothesis import given
from hypothesis import strategies as st

from ankiops_git import config as config_mod
from ankiops_git.convert import html_equal, html_to_md, md_to_html
from ankiops_git.convert.ankiops import normal_form, same_meaning
from ankiops_git.errors import AnkiOpsError
from ankiops_git.export import field_markdown

CORPUS = Path(__file__).parent / "corpus" / "ankiops-0.6.6-rendered.json"
CASES = [(c["markdown"], c["ankiops_html"]) for c in json.loads(CORPUS.read_text("utf-8"))]


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("==important alpha== beta", "<mark>important alpha</mark> beta"),
        ("H~2~O and x^2^", "H<sub>2</sub>O and x<sup>2</sup>"),
        ("~~s~~ and ==a **b**==", "<s>s</s> and <mark>a <b>b</b></mark>"),
        ("a == b == c", "a == b == c"),  # no pair: "==" next to spaces opens nothing
        ("\\=\\=x\\=\\= and 2\\^3\\^", "==x== and 2^3^"),  # escaped: literal
        ("`==x==`", "<code>==x==</code>"),
    ],
)
def test_the_ankiops_dialect_renders_mark_sub_and_sup(markdown: str, html: str) -> None:
    assert md_to_html(markdown, ankiops=True) == html


@pytest.mark.parametrize("markdown", ["==x== H~2~O x^2^", "a ==b== c", "2^10^ = 1024"])
def test_without_the_setting_these_stay_text_as_today(markdown: str) -> None:
    html = md_to_html(markdown)
    assert "<mark>" not in html and "<sub>" not in html and "<sup>" not in html
    assert html == markdown  # plain text, as before


def test_the_corpus_is_what_ankiops_renders_otherwise_than_we_do() -> None:
    """The corpus (AnkiOps 0.6.6's own HTML for Markdown of tests/ankiops_peer.py) has
    every construct, and our rendering of most of it differs from AnkiOps'."""
    markdown = "".join(m for m, _ in CASES)
    for construct in ("==", "~2~", "^2^", "-->", "==>", "=/=", "{width=", "```", "| A |", "\n\n"):
        assert construct in markdown, construct
    differing = [m for m, h in CASES if not html_equal(md_to_html(m, ankiops=True), h)]
    assert len(differing) >= len(CASES) // 2


@pytest.mark.parametrize(("markdown", "html"), CASES)
def test_ankiops_html_means_the_files_markdown(markdown: str, html: str) -> None:
    assert same_meaning(markdown, html)
    # ... and ours too: a field we push from it reads back as the same
    assert same_meaning(markdown, md_to_html(markdown, ankiops=True))


def _edits(html: str) -> list[str]:
    """Changes a user could make in Anki to AnkiOps' HTML: each means something else."""
    out = []
    for old, new in [
        ("<mark>", "<b>"),
        ("<sub>", "<sup>"),
        ("\u2192", "->"),
        ("\u21d2", "=>"),
        ('style="width: 150px;"', 'style="width: 300px;"'),
        ("<li>", "<li>x"),
        ("return", "yield"),
        ("<ol>", "<ul>"),
    ]:
        if old in html:
            out.append(html.replace(old, new, 1))
    # two paragraphs made one with a line break (a <br> next to a block shows as nothing)
    out += (
        [re.sub("<br><br>(?=[^<\n])", "<br>", html, count=1)]
        if re.search("<br><br>[^<\n]", html)
        else []
    )
    words = html.split(" ")
    out.append(" ".join(words[:-1] + [words[-1] + "s"]))
    return out


@pytest.mark.parametrize(("markdown", "html"), CASES)
def test_an_edit_in_anki_is_never_the_same(markdown: str, html: str) -> None:
    for edited in _edits(html):
        assert not same_meaning(markdown, edited), edited


def test_the_normal_form_forgets_only_how_blocks_are_joined() -> None:
    assert normal_form("<p>a</p><p>b</p>") == normal_form("a<br><br>b")
    assert normal_form("a<br>b") != normal_form("a<br><br>b")
    assert normal_form("<ul><li>x</li></ul><br><br>y") == normal_form("<ul><li>x</li></ul>y")
    assert normal_form('<img src="a.png" alt="" style="width: 150px;">') == normal_form(
        '<img src="a.png" width="150">'
    )
    assert normal_form(
        '<pre><code class="language-py"><span class="k">def</span> f</code></pre>'
    ) == (normal_form('<pre class="highlight"><code class="language-py">def f</code></pre>'))


@pytest.mark.parametrize(("markdown", "html"), CASES)
def test_a_fetch_keeps_the_files_markdown_only_with_the_setting(markdown: str, html: str) -> None:
    assert field_markdown(html, markdown, ankiops=True) == markdown
    if not html_equal(md_to_html(markdown), html):
        assert field_markdown(html, markdown) == html_to_md(html)  # as today
        assert field_markdown(html, markdown) != markdown


def test_an_edit_in_anki_comes_into_the_file() -> None:
    markdown, html = (
        "==important alpha== beta\n\nmore",
        "<mark>important alpha</mark> beta<br><br>more",
    )
    edited = html.replace("more", "less")
    back = field_markdown(edited, markdown, ankiops=True)
    assert back == html_to_md(edited, ankiops=True) == "==important alpha== beta\n\\\nless"
    assert field_markdown(edited, markdown) == html_to_md(edited)  # without: <mark> as HTML
    assert html_to_md(edited).startswith("<mark>")


def test_the_setting_in_ankiops_toml(tmp_path: Path) -> None:
    assert not config_mod.load(tmp_path).ankiops_markdown
    config_mod.save(tmp_path, config_mod.Config(ankiops_markdown=True))
    text = (tmp_path / config_mod.CONFIG_NAME).read_text("utf-8")
    assert "[markdown]\nankiops = true" in text
    loaded = config_mod.load(tmp_path)
    assert loaded.ankiops_markdown and "markdown" not in loaded.extra
    (tmp_path / config_mod.CONFIG_NAME).write_text('[markdown]\nankiops = "yes"\n')
    with pytest.raises(AnkiOpsError, match="ankiops"):
        config_mod.load(tmp_path)


# --- the dialect both ways: html_to_md(..., ankiops=True) ---------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "==important alpha== beta",
        "H~2~O and x^2^ + y",
        "==a **b**== c",
        "a \\=\\=b\\=\\= c and 2\\^10\\^ and \\~x\\~",  # the characters themselves
        "\\(x^2\\) \\^",  # math verbatim, its ^ unescaped
        "x <sub>a b</sub>",  # a space inside: stays HTML
    ],
)
def test_the_dialect_reads_back_as_written(markdown: str) -> None:
    assert html_to_md(md_to_html(markdown, ankiops=True), ankiops=True) == markdown


def test_a_script_the_dialect_cannot_say_makes_the_fields_emphasis_tags() -> None:
    # (mdit-py-plugins' ~x~ holds no space; the render check finds it, not a prediction)
    assert html_to_md("<b>b</b> <sub>a</sub>", ankiops=True) == "**b** ~a~"
    assert html_to_md("<b>b</b> <sub>a b</sub>", ankiops=True) == "<b>b</b> <sub>a b</sub>"


@pytest.mark.parametrize(
    "html", ["a ==b== c", "2^10^ and ~x~", "x ==&gt; y", "<mark>z</mark>", "===", "<sup>2</sup>"]
)
def test_anki_text_keeps_its_meaning_in_the_dialect(html: str) -> None:
    md = html_to_md(html, ankiops=True)
    assert html_equal(md_to_html(md, ankiops=True), html)
    assert html_equal(md_to_html(html_to_md(html)), html)  # and without it, as today


INLINE_ANKIOPS = st.one_of(
    props.WORD,
    props.PLAIN.map(lambda w: f"=={w}=="),
    props.PLAIN.map(lambda w: f"~{w}~"),
    props.PLAIN.map(lambda w: f"^{w}^"),
    props.PLAIN.map(lambda w: f"**=={w}==**"),
    props.INLINE,
)
LINE_ANKIOPS = st.lists(INLINE_ANKIOPS, min_size=1, max_size=5).map(" ".join)
DOCUMENT_ANKIOPS = st.tuples(
    st.lists(st.one_of(LINE_ANKIOPS, props.BLOCK), min_size=1, max_size=4), st.booleans()
).map(lambda t: ("\n\n" if t[1] else "\n").join(t[0]))


@props.SETTINGS
@given(DOCUMENT_ANKIOPS)
def test_dialect_markdown_is_stable_after_one_cycle(md: str) -> None:
    md1 = html_to_md(md_to_html(md, ankiops=True), ankiops=True)
    assert html_to_md(md_to_html(md1, ankiops=True), ankiops=True) == md1
    assert html_equal(md_to_html(md1, ankiops=True), md_to_html(md, ankiops=True))


ANKI_HTML_ANKIOPS = st.lists(
    st.one_of(
        props.ANKI_HTML,
        st.tuples(st.sampled_from(["mark", "sub", "sup"]), props.WORD).map(
            lambda t: f"<{t[0]}>{escape(t[1])}</{t[0]}>"
        ),
        props.WORD.map(escape),
    ),
    min_size=1,
    max_size=4,
).map("".join)


@props.SETTINGS
@given(ANKI_HTML_ANKIOPS)
def test_any_html_round_trips_in_the_dialect(html: str) -> None:
    md = html_to_md(html, ankiops=True)
    back = md_to_html(md, ankiops=True)
    assert html_equal(back, html)
    assert html_to_md(back, ankiops=True) == md
