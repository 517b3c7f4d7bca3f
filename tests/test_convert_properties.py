"""Property tests: generated Markdown is stable after one md -> html -> md cycle."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ankiops_git import deckfile
from ankiops_git.convert import html_equal, html_to_md, md_to_html

WORD = st.text(
    alphabet=st.sampled_from("abcxyzÄé日 _*\\<>&#|-+=.:()[]{}~`!1"), min_size=1, max_size=8
)
PLAIN = st.text(alphabet=st.sampled_from("abcdefghij"), min_size=1, max_size=6)

INLINE = st.one_of(
    WORD,
    PLAIN.map(lambda w: f"**{w}**"),
    PLAIN.map(lambda w: f"*{w}*"),
    PLAIN.map(lambda w: f"~~{w}~~"),
    WORD.filter(lambda w: "`" not in w).map(lambda w: f"`{w}`"),
    st.tuples(st.integers(1, 3), PLAIN).map(lambda t: f"{{{{c{t[0]}::{t[1]}}}}}"),
    st.tuples(PLAIN, PLAIN).map(lambda t: f"{{{{c1::**{t[0]}**::{t[1]}}}}}"),
    PLAIN.map(lambda w: f"\\({w}_1 * {w}^2\\)"),
    PLAIN.map(lambda w: f"\\[{w} \\\\ x\\]"),
    PLAIN.map(lambda w: f"![{w}]({w}.png)"),
    st.tuples(PLAIN, st.integers(10, 999)).map(lambda t: f"![]({t[0]}.png){{width={t[1]}}}"),
    PLAIN.map(lambda w: f'<span style="color: red">{w}</span>'),
)
LINE = st.lists(INLINE, min_size=1, max_size=5).map(" ".join)
PARAGRAPH = st.lists(LINE, min_size=1, max_size=3).map("\n".join)
CODE_LINE = st.text(alphabet=st.sampled_from("ab =*_<>&\\\t{}:c1"), max_size=12)
FENCE = st.tuples(st.sampled_from(["", "python", "c"]), st.lists(CODE_LINE, max_size=4)).map(
    lambda t: f"```{t[0]}\n" + "\n".join(t[1]) + "\n```"
)
LIST = st.tuples(st.sampled_from(["- ", "1. "]), st.lists(LINE, min_size=1, max_size=3)).map(
    lambda t: "\n".join(t[0] + item for item in t[1])
)
TABLE = st.lists(st.tuples(PLAIN, PLAIN), min_size=2, max_size=4).map(
    lambda rows: "\n".join(
        [f"| {rows[0][0]} | {rows[0][1]} |", "| --- | --- |"]
        + [f"| {a} | {b} |" for a, b in rows[1:]]
    )
)
HEADING = st.tuples(st.integers(1, 3), LINE).map(lambda t: "#" * t[0] + " " + t[1])
BLOCK = st.one_of(PARAGRAPH, FENCE, LIST, TABLE, HEADING, st.just("***"))
DOCUMENT = st.tuples(st.lists(BLOCK, min_size=1, max_size=4), st.booleans()).map(
    lambda t: ("\n\n" if t[1] else "\n").join(t[0])
)

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(DOCUMENT)
def test_markdown_is_stable_after_one_cycle(md: str) -> None:
    md1 = html_to_md(md_to_html(md))
    assert html_to_md(md_to_html(md1)) == md1
    assert html_equal(md_to_html(md1), md_to_html(md))


@SETTINGS
@given(st.lists(st.one_of(LINE, FENCE, HEADING), min_size=1, max_size=4).map("\n".join))
def test_tight_markdown_is_stable_after_one_cycle(md: str) -> None:
    md1 = html_to_md(md_to_html(md))
    assert html_to_md(md_to_html(md1)) == md1
    assert html_equal(md_to_html(md1), md_to_html(md))


@SETTINGS
@given(st.lists(CODE_LINE, max_size=6))
def test_code_blocks_survive_unchanged(lines: list[str]) -> None:
    md = "```\n" + "\n".join(lines) + "\n```"
    assert html_to_md(md_to_html(md)) == md


TEXT = st.text(alphabet=st.sampled_from("ab xyZ_*\\<>&#|-=.:()[]{}~`!1\u00a0\n\t"), max_size=8)


def _html_nodes(depth: int, inline_only: bool = False) -> st.SearchStrategy[str]:
    """Anki-like HTML: blocks nest in divs, list items and inline tags (as pasted
    content does: <b><div>..</div></b>), but <p>, headings and <pre> hold inline
    content only, as in any HTML a browser would keep."""
    leaf = st.one_of(
        TEXT.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")),
        st.just("<br>"),
        st.just("&nbsp;"),
        st.just('<img src="a b.png">'),
        st.just("{{c1::x}}"),
        st.just("\\(a_1\\)"),
        st.sampled_from(["~~~", "Q: q", "---", "<!-- c -->", "<<<<<<< x"]),  # deck-like
    )
    if depth == 0:
        return leaf
    inline = st.lists(_html_nodes(depth - 1, True), max_size=3).map("".join)
    mixed = st.lists(_html_nodes(depth - 1, inline_only), max_size=3).map("".join)
    inline_tag = st.sampled_from(["b", "i", "u", "span style='color:red'", "code", "sub"])
    options = [leaf, st.tuples(inline_tag, mixed).map(lambda t: _element(*t))]
    if not inline_only:
        options.append(
            st.tuples(st.sampled_from(["div", "li", "ul"]), mixed).map(lambda t: _element(*t))
        )
        options.append(
            st.tuples(st.sampled_from(["p", "h2", "pre"]), inline).map(lambda t: _element(*t))
        )
    return st.one_of(*options)


def _element(tag: str, inner: str) -> str:
    return f"<{tag}>{inner}</{tag.split()[0]}>"


ANKI_HTML = st.lists(_html_nodes(3), min_size=1, max_size=4).map("".join)


@SETTINGS
@given(ANKI_HTML)
def test_any_html_round_trips_without_losing_text(html: str) -> None:
    from corpus_util import visible_text

    md = html_to_md(html)
    back = md_to_html(md)
    assert visible_text(back) == visible_text(html)
    assert html_equal(back, html)
    assert html_to_md(back) == md
    assert md == md.strip()
    assert deckfile.field_problem(md) is None, md  # a deck file holds it as it is
