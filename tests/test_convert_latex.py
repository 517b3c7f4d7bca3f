"""Anki's LaTeX keeps its exact text through html_to_md: Anki names each LaTeX image
after its source (and a phone cannot render a new one), so a round trip must give
Anki the same image names. Anki's own extraction (the `anki` package's backend) is
the judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anki.collection import Collection

from ankiops_git.convert import html_equal, html_to_md, md_to_html
from ankiops_git.export import field_markdown
from ankiops_git.notetypes import NoteType

# As fields hold LaTeX: typed in Anki's editor (divs, <br>, entities, no-break spaces,
# formatting inside), pasted, or written by other tools.
IN_FIELD = [
    "[latex]a<br>b[/latex]",
    "<div>[latex]\\begin{align}</div><div>x &amp;= 1 \\\\</div><div>y &amp;= 2</div>"
    "<div>\\end{align}[/latex]</div>",
    "Solve [$]x^2 + y^2 = r^2[/$] for <b>x</b>.",
    "<div>Area:</div><div>[$$]\\int_0^1&nbsp;f(x)\\,dx[/$$]</div><div>done</div>",
    "[latex]<div><b>\\textbf{bold}</b></div><div>next</div>[/latex] and [$]a_1[/$]",
    "[LaTeX]\\frac{1}{2}[/LaTeX]<br>[latex]  spaced   out  [/latex]",
    "[latex]a <i>b</i>  c[/latex]<div><br></div><div>[$]\\alpha[/$]</div>",
]
# A field a LaTeX note type's card wraps ([latex]{{Front}}[/latex]): all of it is source.
WHOLE = [
    "\\begin{itemize}<br>\\item one<br>\\end{itemize}",
    "<div>\\begin{align}</div><div>x &amp;= 1</div><div>\\end{align}</div>",
    "x^2 + \\frac{a}{b}&nbsp; y",
    "a<br><br>b<div><br></div>",
]


@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    col = Collection(str(tmp_path_factory.mktemp("latex") / "collection.anki2"))
    yield col
    col.close()


def images(col: Collection, html: str) -> list[str]:
    """The LaTeX image names Anki gives this HTML."""
    out = col._backend.extract_latex(text=html, svg=False, expand_clozes=False)
    return [latex.filename for latex in out.latex]


@pytest.mark.parametrize("html", IN_FIELD)
def test_latex_in_a_field_keeps_its_image_names(col: Collection, html: str) -> None:
    md = html_to_md(html)
    back = md_to_html(md)
    assert images(col, back) == images(col, html) != []
    assert html_equal(back, html)
    assert html_to_md(back) == md  # and it stays so


@pytest.mark.parametrize("html", WHOLE)
def test_a_field_inside_a_latex_card_keeps_its_exact_text(col: Collection, html: str) -> None:
    md = html_to_md(html, latex=True)
    back = md_to_html(md)
    assert images(col, f"[latex]{back}[/latex]") == images(col, f"[latex]{html}[/latex]")
    assert html_to_md(back, latex=True) == md


def test_a_note_types_latex_fields_come_from_its_cards() -> None:
    kind = NoteType(
        "Math",
        "Math",
        (("F", "Front"), ("B", "Back"), ("N", "Notes")),
        ("F",),
        ("F",),
        origin="declared",
        card_templates=(
            (
                "Card 1",
                "[latex]{{Front}}[/latex]",
                "{{FrontSide}}<hr>[$]{{text:Back}}[/$] {{Notes}}",
            ),
        ),
    )
    assert kind.latex_fields == {"Front", "Back"}
    html = "<div>\\begin{align}</div><div>x</div><div>\\end{align}</div>"
    assert md_to_html(field_markdown(html, None, latex=True)) == html
    assert md_to_html(field_markdown(html, None)) != html  # (the layout's own Markdown)
