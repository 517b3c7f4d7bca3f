"""The Python API (ankiops_git.api): its documented examples (docs/api.md and the
module's docstring) run as doctests on both backends, the collection file (profile
"User 1", logged in to the official sync server on loopback) and the AnkiConnect
stand-in; and what the examples do not show."""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from anki.collection import Collection
from ankiconnect_server import LoopbackAnkiConnect
from syncserver import SyncServer, make_profile

from ankiops_git import api
from ankiops_git.anki import ankiweb
from ankiops_git.errors import AnkiRejected, AnkiUnavailable

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "api.md"
WHERE_LINE = 'where = "User 1"'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    running = SyncServer(tmp_path_factory.mktemp("syncserver") / "base")
    running.start()
    yield running
    running.stop()


@pytest.fixture(params=["collection", "connect", pytest.param("real", marks=pytest.mark.real_anki)])
def where(
    request: pytest.FixtureRequest,
    anki_collection_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """What `where` is in the examples: profile "User 1" (Anki's data folder moved to
    the test's, the profile logged in to the sync server and synced once, as a new
    profile and a new account are: by a first upload), or the stand-in's URL."""
    base = anki_collection_path.parent.parent
    monkeypatch.setenv("ANKI_BASE", str(base))
    if request.param == "collection":
        server: SyncServer = request.getfixturevalue("server")
        make_profile(base, "User 1")
        user, password = server.account()
        col = Collection(str(anki_collection_path))
        try:
            store = ankiweb.login_store(anki_collection_path)
            assert isinstance(store, ankiweb.ProfileLoginStore)
            ankiweb.login(col, store, user, password, server.endpoint)
            # A new account, a collection with note types of its own: the first upload.
            assert ankiweb.sync(col, store, full="upload").kind == "upload"
        finally:
            col.close()
        yield "User 1"
        return
    if request.param == "real":  # real Anki desktop and the real add-on
        yield request.getfixturevalue("real_anki").url
        return
    standin = LoopbackAnkiConnect(anki_collection_path)
    standin.start()
    try:
        yield standin.url
        assert standin.syncs == sum(a == "sync" for a in standin.actions)
    finally:
        standin.stop()


def run_examples(text: str, name: str, where: str) -> None:
    """Run the `>>>` examples of `text` with `where` set as the examples set it."""
    assert WHERE_LINE in text, f"{name}: its examples no longer set `where`"
    text = text.replace(WHERE_LINE, f"where = {where!r}")
    test = doctest.DocTestParser().get_doctest(text, {"where": where}, name, name, 0)
    assert test.examples, f"{name} has no examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out: list[str] = []
    result = runner.run(test, out=out.append)
    assert result.failed == 0, "".join(out)


def test_the_documented_examples_run(where: str, request: pytest.FixtureRequest) -> None:
    text = DOCS.read_text(encoding="utf-8")
    if request.node.callspec.params["where"] == "real":
        # Real Anki in the tests is logged in to no sync server: its run stops before
        # the Sync section (the collection file and the stand-in run it all).
        text = text[: text.index("## Sync")] + ">>> anki.close()\n"
    run_examples(text, "docs/api.md", where)


def test_the_module_docstring_example_runs(where: str) -> None:
    assert api.__doc__ is not None
    text = api.__doc__.replace(
        ">>> with api.open(where)", f">>> {WHERE_LINE}\n>>> with api.open(where)"
    )
    run_examples(text, "ankiops_git.api", where)


def test_the_docs_examples_are_pycon_blocks_that_all_run() -> None:
    """Every `>>>` line of docs/api.md is in a ```pycon block (the test runs them all;
    ```python blocks are shown, not run, and hold none)."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)
    assert all(">>>" not in body for kind, body in blocks if kind != "pycon")
    assert sum(body.count(">>>") for kind, body in blocks if kind == "pycon") == text.count(">>>")


def test_what_the_examples_do_not_show(where: str) -> None:
    with api.open(where) as anki:
        cloze = anki.add_note(
            "Cloze", "Lang::Spanish::Verbs", Text="{{c1::ser}} and {{c2::estar}}", tags=["v"]
        )
        assert cloze.deck == "Lang::Spanish::Verbs" and cloze.tags == ("v",)
        cards = anki.find_cards(f"nid:{cloze.id}")
        assert sorted(c.template for c in cards) == [0, 1] and {c.note_id for c in cards} == {
            cloze.id
        }
        assert "template=1, queue='new'" in repr(max(cards, key=lambda c: c.template))
        names = [d.name for d in anki.decks()]
        assert [n for n in names if n.startswith("Lang")] == [
            "Lang",
            "Lang::Spanish",
            "Lang::Spanish::Verbs",
        ]
        decks = anki.decks()  # due counts take in subdecks; `total`, the deck's own cards
        assert (decks["Lang"].new, decks["Lang"].total) == (2, 0)
        assert (decks["Lang::Spanish::Verbs"].new, decks["Lang::Spanish::Verbs"].total) == (2, 2)
        table = cloze._repr_markdown_()
        assert table.splitlines()[0] == "| id | type | deck | Text | Back Extra | tags |"
        assert "\\{\\{" not in table and "| v |" in table

        # Updating tags only; fields only.
        assert anki.update_note(cloze.id, tags=[]).tags == ()
        assert anki.update_note(cloze, Text="{{c1::ser}}").fields["Text"] == "{{c1::ser}}"
        with pytest.raises(AnkiRejected, match="has no field 'Nope'"):
            anki.update_note(cloze, Nope="x")
        with pytest.raises(AnkiRejected, match="has no note type 'Nope'"):
            anki.add_note("Nope", "D", Front="x")
        with pytest.raises(AnkiRejected, match="first field of 'Basic', 'Front', is empty"):
            anki.add_note("Basic", "D", Back="x")
        assert anki.delete_notes([cloze]) == 1
        with pytest.raises(AnkiRejected, match=f"no note with id {cloze.id}"):
            anki.note(cloze.id)
        assert anki.find_notes("deck:Lang*") == []
        assert anki.delete_notes([]) == 0


def test_a_bad_search_is_one_clear_error(where: str) -> None:
    with api.open(where) as anki, pytest.raises(AnkiRejected) as raised:
        anki.find_notes("deck:(")
    assert "deck:(" in str(raised.value)


def test_closing_releases_the_collection_for_anki(anki_collection_path: Path) -> None:
    with api.open(anki_collection_path) as anki:
        with pytest.raises(AnkiUnavailable, match="is in use"):
            api.open(anki_collection_path)
        anki.add_note("Basic", "D", Front="kept")
    col = Collection(str(anki_collection_path))  # unlocked, and the note is there
    try:
        assert len(col.find_notes("front:kept")) == 1
    finally:
        col.close()
