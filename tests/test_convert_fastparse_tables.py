"""The fast parse of tables (convert/fastparse.py) against html5lib, the reference.

Tables written with their explicit structure (table > thead/tbody/tfoot > tr > td/th,
only whitespace and comments between the parts), as Anki's editor and pasted HTML
have them, are plain nesting to html5lib; everything else it restructures, and the
guard leaves it to html5lib.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_convert_fastparse import SETTINGS, _phrasing, assert_same_as_html5lib

from ankiops_git.convert.canonical import normalised, parse_html5lib, serialise
from ankiops_git.convert.fastparse import fast_parse

_GAP = st.sampled_from(["", "", "\n", " \n  ", "\t", "<!-- c -->", "\n<!--x-->\n"])
_CELL_CONTENT = st.one_of(
    st.lists(_phrasing(2), max_size=3).map("".join),
    st.sampled_from(["<p>a</p>", "<div>a</div><div>b</div>", "<ul><li>x</li></ul>", "a<hr>"]),
)
_CELL = st.tuples(st.sampled_from(["td", "th"]), _CELL_CONTENT)
_ROW = st.tuples(st.lists(st.tuples(_GAP, _CELL), min_size=1, max_size=3), _GAP).map(
    lambda t: "<tr>" + "".join(g + _element_text(*c) for g, c in t[0]) + t[1] + "</tr>"
)
_SECTION = st.tuples(
    st.sampled_from(["tbody", "thead", "tfoot"]), st.lists(st.tuples(_GAP, _ROW), max_size=3)
).map(lambda t: f"<{t[0]}>" + "".join(g + r for g, r in t[1]) + f"</{t[0]}>")
TABLE = st.tuples(st.lists(st.tuples(_GAP, _SECTION), max_size=3), _GAP).map(
    lambda t: "<table>" + "".join(g + s for g, s in t[0]) + t[1] + "</table>"
)


def _element_text(name: str, inner: str) -> str:
    return f"<{name}>{inner}</{name}>"


# Tables in the places fields have them: alone, after text, in a div or a list item,
# inside an inline element.
FIELD_WITH_TABLE = st.tuples(
    st.sampled_from(["{}", "a{}b", "<div>{}</div>", "<ul><li>{}</li></ul>", "<b>x{}</b>"]),
    TABLE,
).map(lambda t: t[0].format(t[1]))


@SETTINGS
@given(FIELD_WITH_TABLE)
def test_explicit_tables_take_the_fast_path_to_html5libs_tree(html: str) -> None:
    assert assert_same_as_html5lib(html), html


# Pieces of table soup for the tests that throw them together.
TABLE_TOKENS = [
    "&nbsp;",
    "</b>",
    "</p>",
    "</table>",
    "</tbody>",
    "</td>",
    "</th>",
    "</thead>",
    "</tr>",
    "<b>",
    "<p>",
    "<table>",
    "<tbody>",
    "<td>",
    "<th>",
    "<thead>",
    "<tr>",
    "x",
]


@SETTINGS
@given(
    st.lists(
        st.one_of(
            TABLE,
            _GAP,
            st.sampled_from(TABLE_TOKENS),
        ),
        max_size=8,
    ).map("".join)
)
def test_whatever_the_fast_parse_accepts_of_tables_is_html5libs_tree(html: str) -> None:
    assert_same_as_html5lib(html)


# Each case: a table html5lib does not read as plain nesting, with what plain nesting
# would have made of it (None: the input itself).
RESTRUCTURED = {
    "row in table": ("<table><tr><td>a</td></tr></table>", None),
    "cell in section": ("<table><tbody><td>a</td></tbody></table>", None),
    "text in table": ("<table>a<tbody></tbody></table>", None),
    "text in section": ("<table><tbody>a</tbody></table>", None),
    "text in row": ("<table><tbody><tr>a<td>b</td></tr></tbody></table>", None),
    "reference in row": ("<table><tbody><tr>&nbsp;<td>b</td></tr></tbody></table>", None),
    "inline in row": ("<table><tbody><tr><b><td>b</td></b></tr></tbody></table>", None),
    "div in table": ("<table><div>a</div></table>", None),
    "cell outside table": ("<td>a</td>", None),
    "row outside table": ("<div><tr>a</tr></div>", None),
    "section in cell": ("<table><tbody><tr><td><tbody></tbody></td></tr></tbody></table>", None),
    "cell in cell": ("<table><tbody><tr><td><td>a</td></td></tr></tbody></table>", None),
    "table in p": ("<p><table><tbody></tbody></table></p>", None),
}


@pytest.mark.parametrize("case", RESTRUCTURED)
def test_the_guard_rejects_tables_html5lib_restructures(case: str) -> None:
    html, plain = RESTRUCTURED[case]
    assert fast_parse(html) is None
    assert serialise(parse_html5lib(html)) != (plain or html)
    assert normalised(html) is not None


def test_a_table_in_a_table_is_left_to_html5lib() -> None:
    # html5lib nests it as written; rare enough not to be worth a rule
    html = "<table><tbody><tr><td><table><tbody></tbody></table></td></tr></tbody></table>"
    assert fast_parse(html) is None
    assert serialise(parse_html5lib(html)) == html


ACCEPTED = [
    '<table border="1">\n<tbody>\n<tr>\n<td><strong>a</strong></td>\n<td>b</td>\n</tr>\n'
    "</tbody>\n</table>",
    "<table><thead><tr><th>h</th></tr></thead><tbody><!--c--><tr><td><p>x</p></td></tr>"
    "</tbody><tfoot></tfoot></table>",
    "<ul><li><table><tbody><tr><td><ul><li>a</li><li>b</li></ul></td></tr></tbody></table></li>"
    "</ul>",
]


@pytest.mark.parametrize("html", ACCEPTED)
def test_the_guard_accepts_explicit_tables(html: str) -> None:
    assert assert_same_as_html5lib(html)


# --- rows directly in a table: the <tbody> html5lib opens for them ---------------------

ROWS_ONLY = st.tuples(st.lists(st.tuples(_GAP, _ROW), min_size=1, max_size=3), _GAP).map(
    lambda t: "<table>" + "".join(g + r for g, r in t[0]) + t[1] + "</table>"
)  # as raw_block writes a canonical table back (no sections)


@SETTINGS
@given(
    st.tuples(
        st.sampled_from(["{}", "a{}b", "<div>{}</div>", "<ul><li>{}</li></ul>", "<b>x{}</b>"]),
        st.one_of(ROWS_ONLY, TABLE),
    ).map(lambda t: t[0].format(t[1]))
)
def test_rows_in_a_table_take_the_fast_path_to_html5libs_tree(html: str) -> None:
    assert assert_same_as_html5lib(html, implied_tbody=True), html


@SETTINGS
@given(
    st.lists(
        st.one_of(
            ROWS_ONLY,
            _GAP,
            st.sampled_from(TABLE_TOKENS),
        ),
        max_size=8,
    ).map("".join)
)
def test_whatever_the_implied_tbody_parse_accepts_is_html5libs_tree(html: str) -> None:
    assert_same_as_html5lib(html, implied_tbody=True)


def test_without_implied_tbody_rows_in_a_table_are_left_to_html5lib() -> None:
    html = "<table><tr><td>a</td></tr></table>"
    assert fast_parse(html) is None  # plain nesting only (see test_convert_fastparse)
    assert assert_same_as_html5lib(html, implied_tbody=True)
    assert serialise(parse_html5lib(html)) == "<table><tbody><tr><td>a</td></tr></tbody></table>"


IMPLIED_LEFT = [
    "<table><tr><td>a</td></tr><tbody></tbody></table>",  # a section after the implied one
    "<table><td>a</td></table>",  # a cell: html5lib opens a row too
    "<table><tr><td>a</td></tr>x</table>",  # text: moved out of the table
]


@pytest.mark.parametrize("html", IMPLIED_LEFT)
def test_implied_tbody_leaves_the_rest_to_html5lib(html: str) -> None:
    assert fast_parse(html, implied_tbody=True) is None
    assert normalised(html) is not None
