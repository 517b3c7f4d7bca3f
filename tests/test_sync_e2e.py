"""End to end: real git repos with hooks and merge driver installed, real Anki collections.

Each test starts from `ankiops-git init` on a seeded collection, then drives git (and
its hooks, merge driver and git-remote-anki) as a user would, and checks both sides.
Parametrised over the backends in conftest.BACKENDS: the collection file, the loopback
AnkiConnect stand-in, and real Anki desktop with the real add-on. Edits "in Anki" are
made with helpers marked `@in_anki`, which run inside real Anki for that backend.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from conftest import BACKENDS, PROFILE, add_basic_note, backend_params
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from realanki import RealAnki, in_anki

from ankiops_git import deckfile


@in_anki
def add_managed(col: Collection, deck: str, note_type: str, **fields: str) -> int:
    from anki.collection import AddNoteRequest
    from anki.decks import DeckId

    model = col.models.by_name(note_type)
    assert model is not None
    note = col.new_note(model)
    for name, value in fields.items():
        note[name] = value
    deck_id = col.decks.id(deck, create=True)
    assert deck_id is not None
    col.add_notes([AddNoteRequest(note=note, deck_id=DeckId(deck_id))])
    return int(note.id)


@in_anki
def set_field(col: Collection, note_id: int, name: str, value: str) -> None:
    note = col.get_note(note_id)  # type: ignore[arg-type]
    note[name] = value
    col.update_note(note)


@in_anki
def field_of(col: Collection, note_id: int, name: str) -> str:
    return str(col.get_note(note_id)[name])  # type: ignore[arg-type]


@in_anki
def move_to_deck(col: Collection, note_id: int, deck: str) -> None:
    card_ids = col.get_note(note_id).card_ids()  # type: ignore[arg-type]
    col.set_deck(card_ids, col.decks.id(deck))  # type: ignore[arg-type]


@in_anki
def rename_deck(col: Collection, name: str, new_name: str) -> int:
    deck_id = col.decks.id(name)
    col.decks.rename(deck_id, new_name)  # type: ignore[arg-type]
    return int(deck_id)  # type: ignore[arg-type]


@in_anki
def deck_ids(col: Collection) -> dict[str, int]:
    return {d.name: int(d.id) for d in col.decks.all_names_and_ids()}


@in_anki
def first_card_deck(col: Collection, note_id: int) -> str:
    card = col.get_note(note_id).cards()[0]  # type: ignore[arg-type]
    return str(col.decks.name(card.did))


@dataclass
class World:
    root: Path
    kind: str
    col_path: Path
    server: Any  # LoopbackAnkiConnect for "connect", RealAnki for "real"
    env: dict[str, str]
    ids: dict[str, int]

    @property
    def spec(self) -> str:
        return self.server.url if self.server is not None else str(self.col_path)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args), cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def rev(self, ref: str) -> str:
        return self.git("rev-parse", ref).stdout.strip()

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(text, encoding="utf-8")

    def deck_files(self) -> dict[str, str]:
        return {p.name: p.read_text(encoding="utf-8") for p in deckfile.deck_files(self.root)}

    @contextmanager
    def anki(self) -> Iterator[Any]:
        """Anki's collection, for edits "in Anki" and checks (never during a git command):
        a Collection, or real Anki's RemoteCollection (give it `@in_anki` helpers)."""
        if self.server is not None:
            yield self.server.col
            return
        col = Collection(str(self.col_path))
        try:
            yield col
        finally:
            col.close()

    def unmanaged(self) -> list[tuple[Any, ...]]:
        """Every row of notes and cards that are not AnkiOps notes, and all deck names."""
        with self.anki() as col:
            assert col.db is not None
            notes = col.db.all(
                "select n.id, n.mid, n.flds, n.tags, n.mod from notes n join notetypes m "
                "on m.id = n.mid where m.name not like 'AnkiOps%' order by n.id"
            )
            cards = col.db.all(
                "select c.id, c.did, c.mod from cards c join notes n on n.id = c.nid join "
                "notetypes m on m.id = n.mid where m.name not like 'AnkiOps%' order by c.id"
            )
            # A deck holding only unmanaged notes: its row (name, options, mtime) stays too.
            decks = col.db.all("select * from decks where name = 'Other'")
            assert decks
            return [tuple(r) for r in notes + cards + decks]

    def managed_count(self, text: str) -> int:
        with self.anki() as col:
            assert col.db is not None
            return int(
                col.db.scalar(
                    "select count() from notes n join notetypes m on m.id = n.mid "
                    "where m.name like 'AnkiOps%' and n.flds like ?",
                    f"%{text}%",
                )
            )

    def note_deck(self, note_id: int) -> str:
        with self.anki() as col:
            return str(first_card_deck(col, note_id))

    def set_field(self, note_id: int, name: str, value: str) -> None:
        with self.anki() as col:
            set_field(col, note_id, name, value)

    def field(self, note_id: int, name: str) -> str:
        with self.anki() as col:
            return str(field_of(col, note_id, name))


def seed(col: Any) -> dict[str, int]:
    def qa(deck: str, q: str, a: str) -> int:
        return int(add_managed(col, deck, "AnkiOpsQA", Question=q, Answer=a))

    ids = {
        "ser": qa("Spanish", "What is <i>ser</i>?", "To be"),
        "estar": qa("Spanish", "estar?", "To be (state)"),
        "tener": qa("Spanish", "tener?", "To have"),
        "paris": add_managed(
            col, "Geo::Europe", "AnkiOpsCloze", Text="The capital of France is {{c1::Paris}}."
        ),
        "rome": add_managed(col, "Geo::Europe", "AnkiOpsReversed", Front="Italy", Back="Rome"),
    }
    for i in range(5):
        ids[f"num{i}"] = qa("Numbers", f"{i} + 1?", str(i + 1))
    ids["basic_spanish"] = add_basic_note(col, "Spanish", "unmanaged front", "unmanaged back")
    ids["basic_other"] = add_basic_note(col, "Other", "other front", "other back")
    # Made an hour ago: so a later edit always has a newer mod time than the last sync.
    col.db.execute("update notes set mod = mod - 3600 - id % 1000")
    col.db.execute("update cards set mod = mod - 3600 - id % 1000")
    return ids


def init_repo(root: Path, spec: str, env: dict[str, str], *options: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "init", str(root), "--anki", spec, *options],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, _collection_templates: dict[str, Path]
) -> dict[str, tuple[Path, dict[str, int]]]:
    """Per backend: a seeded collection and a repo initialised on it, made once."""
    from ankiconnect_server import LoopbackAnkiConnect

    out = {}
    for kind in (b for b in BACKENDS if b != "real"):  # real Anki: seeded per test
        base = tmp_path_factory.mktemp(f"world-{kind}")
        col_path = base / PROFILE / "collection.anki2"
        col_path.parent.mkdir()
        shutil.copyfile(_collection_templates["managed"], col_path)
        col = Collection(str(col_path))
        try:
            ids = seed(col)
        finally:
            col.close()
        env = git_env(base)
        if kind == "connect":
            server = LoopbackAnkiConnect(col_path, profile=PROFILE)
            server.start()
            try:
                init_repo(base / "decks", server.url, env)
            finally:
                server.stop()
        else:
            init_repo(base / "decks", str(col_path), env)
        out[kind] = (base, ids)
    return out


def real_world(real: RealAnki, tmp_path: Path) -> World:
    """Real Anki seeded as the templates are, and a repository initialised on it."""
    from ankiops_git.anki.connect import ConnectBackend

    ConnectBackend(real.url, profile=PROFILE).ensure_note_types()
    ids = seed(real.col)
    env = git_env(tmp_path)
    init_repo(tmp_path / "decks", real.url, env)
    return World(tmp_path / "decks", "real", real.collection_path, real, env, ids)


@pytest.fixture(params=backend_params())
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[World]:
    """A copy of the template: repo after `ankiops-git init`, and its collection."""
    w, server = make_world(request, tmp_path)
    yield from _checked(w, server)


def make_world(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[World, Any]:
    """The world of `request.param`'s backend in `tmp_path`, and the stand-in serving it
    (None but for "connect"; the caller stops it)."""
    from ankiconnect_server import LoopbackAnkiConnect

    if request.param == "real":
        w = real_world(request.getfixturevalue("real_anki"), tmp_path)
        w.git("config", "remote.anki.url", "anki::" + w.spec)
        return w, None
    templates = request.getfixturevalue("templates")
    template, ids = templates[request.param]
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    col_path = tmp_path / PROFILE / "collection.anki2"
    server = None
    if request.param == "connect":
        server = LoopbackAnkiConnect(col_path, profile=PROFILE)
        server.start()
    w = World(tmp_path / "decks", request.param, col_path, server, git_env(tmp_path), ids)
    w.git("config", "remote.anki.url", "anki::" + w.spec)
    return w, server


def _checked(w: World, server: Any) -> Iterator[World]:
    w.unmanaged_before = w.unmanaged()  # type: ignore[attr-defined]
    try:
        yield w
        # Invariant 4 / done-when 11: other note types and their decks are never touched.
        assert w.unmanaged() == w.unmanaged_before  # type: ignore[attr-defined]
    finally:
        if server is not None:
            server.stop()


def note_block(text: str, note_id: int) -> str:
    for block in text.split("\n---\n"):
        if f"<!-- note_id: {note_id} -->" in block:
            return block
    raise AssertionError(f"note {note_id} not in:\n{text}")


# --- 1, 12: init, idle pull, push after pull --------------------------------------------


def test_init_writes_deck_files_and_idle_pull_makes_no_commit(world: World) -> None:
    files = world.deck_files()
    assert set(files) == {"Spanish.md", "Geo__Europe.md", "Numbers.md"}
    assert "<!-- deck_id: " in files["Spanish.md"].splitlines()[0]
    assert "Q: What is *ser*?" in note_block(files["Spanish.md"], world.ids["ser"])
    assert "{{c1::Paris}}" in files["Geo__Europe.md"]
    assert "Other.md" not in files  # a deck with only unmanaged notes has no file
    attributes = world.read(".gitattributes")
    assert "*.md merge=ankiops" in attributes
    driver = world.git("config", "merge.ankiops.driver").stdout.strip()
    assert f"exec '{VENV_BIN / 'ankiops-merge'}' %O %A %B %P;" in driver
    assert world.git("config", "remote.anki.fetch").stdout.strip() == (
        "+refs/heads/main:refs/remotes/anki/main"
    )
    head = world.rev("HEAD")
    assert world.rev("anki/main") in world.git("rev-list", "HEAD").stdout

    pulled = world.git("pull", "anki")
    assert "Already up to date" in pulled.stdout
    assert world.rev("HEAD") == head
    assert world.git("status", "--porcelain").stdout == ""

    # Running init twice is harmless.
    again = world.run(str(VENV_BIN / "ankiops-git"), "init", ".")
    assert world.rev("HEAD") == head, again.stdout
    assert world.deck_files() == files

    # Push right after pull: nothing to send.
    pushed = world.git("push", "anki")
    assert "Everything up-to-date" in pushed.stderr


# --- 2, 12: new notes in Markdown ---------------------------------------------------------


def test_new_notes_committed_appear_once_and_ids_come_back(world: World) -> None:
    text = world.read("Spanish.md")
    world.write("Spanish.md", text + "\n---\n\nQ: What is *comer*?\nA: To eat\n")
    commit = world.git("commit", "-am", "comer")
    assert "1 added" in commit.stderr, commit.stderr
    assert world.managed_count("comer") == 1
    after = world.read("Spanish.md")
    block = after.split("\n---\n")[-1]
    assert re.search(r"<!-- note_id: \d+ -->\nQ: What is \*comer\*\?\nA: To eat\n$", block)
    assert after.startswith(text.rstrip("\n"))  # every other byte as before
    assert world.rev("HEAD") == world.rev("anki/main")
    assert world.git("status", "--porcelain").stdout == ""
    head = world.rev("HEAD")
    assert "Already up to date" in world.git("pull", "anki").stdout
    assert world.rev("HEAD") == head
    assert world.managed_count("comer") == 1


def test_hooks_work_from_a_gui_client_with_a_bare_path(world: World) -> None:
    # GUI clients run git with a bare PATH: no venv, so no git-remote-anki and no merge
    # strategy on it. The hook must still push, and fast-forward to the new ids.
    shutil.rmtree(world.root / ".git" / "ankiops", ignore_errors=True)  # no cached state
    bare = dict(world.env, PATH=os.pathsep.join(("/usr/bin", "/bin")))
    assert shutil.which("git-remote-anki", path=bare["PATH"]) is None
    world.write(
        "Spanish.md", world.read("Spanish.md") + "\n---\n\nQ: What is *vivir*?\nA: To live\n"
    )
    subprocess.run(["git", "commit", "-qam", "vivir"], cwd=world.root, env=bare, check=True)
    assert world.managed_count("vivir") == 1
    assert world.rev("HEAD") == world.rev("anki/main")
    assert re.search(r"<!-- note_id: \d+ -->\nQ: What is \*vivir\*\?", world.read("Spanish.md"))


# --- 3: an edit in Anki arrives -----------------------------------------------------------


def test_anki_edit_arrives_and_nothing_else_changes(world: World) -> None:
    before = world.deck_files()
    world.set_field(world.ids["estar"], "Answer", "To be (a <b>state</b>)")
    pulled = world.git("pull", "anki")
    assert pulled.returncode == 0
    after = world.deck_files()
    assert {k: v for k, v in after.items() if k != "Spanish.md"} == {
        k: v for k, v in before.items() if k != "Spanish.md"
    }
    old_lines = before["Spanish.md"].splitlines()
    new_lines = after["Spanish.md"].splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [("A: To be (state)", "A: To be (a **state**)")]
    assert world.git("log", "-1", "--format=%an", "anki/main").stdout.strip() == "Anki"


# --- 4: both sides edit different notes ----------------------------------------------------


def test_edits_on_both_sides_merge_and_hook_pushes_the_result(world: World) -> None:
    world.set_field(world.ids["tener"], "Answer", "To have (edited in Anki)")
    text = world.read("Spanish.md").replace("A: To be\n", "A: To be (edited in git)\n")
    world.write("Spanish.md", text)
    commit = world.git("commit", "-am", "edit ser")
    assert "run git pull anki; the merge pushes by itself" in commit.stderr
    assert world.git("log", "-1", "--format=%s").stdout.strip() == "edit ser"  # commit stands

    pulled = world.git("pull", "anki")
    assert "1 updated" in pulled.stderr, pulled.stderr
    merged = world.read("Spanish.md")
    assert "A: To be (edited in git)" in merged
    assert "A: To have (edited in Anki)" in merged
    assert world.field(world.ids["ser"], "Answer") == "To be (edited in git)"
    assert world.field(world.ids["tener"], "Answer") == "To have (edited in Anki)"
    assert world.rev("HEAD") == world.rev("anki/main")
    head = world.rev("HEAD")
    assert "Already up to date" in world.git("pull", "anki").stdout
    assert world.rev("HEAD") == head


def test_same_field_on_both_sides_is_a_conflict_then_the_resolution_is_pushed(
    world: World,
) -> None:
    world.set_field(world.ids["tener"], "Answer", "To have (Anki)")
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have\n", "A: To own\n"))
    world.git("commit", "-am", "own")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0 and "CONFLICT" in pulled.stdout
    conflicted = world.read("Spanish.md")
    assert "<<<<<<<" in conflicted and "To have (Anki)" in conflicted and "To own" in conflicted
    refused = world.git("commit", "-am", "unresolved", check=False)  # pre-commit blocks it
    assert refused.returncode != 0
    status = world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    assert "push: a merge is under way: resolve any conflict, `git commit`" in status
    assert world.field(world.ids["tener"], "Answer") == "To have (Anki)"

    lines = conflicted.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<<<<<<<"))
    end = next(i for i, line in enumerate(lines) if line.startswith(">>>>>>>"))
    lines[start : end + 1] = ["A: To own (and to have)"]
    world.write("Spanish.md", "\n".join(lines) + "\n")
    committed = world.git("commit", "-am", "resolved")
    assert "1 updated" in committed.stderr, committed.stderr
    assert world.field(world.ids["tener"], "Answer") == "To own (and to have)"
    assert world.rev("HEAD") == world.rev("anki/main")


# --- 5: moves -----------------------------------------------------------------------------


def test_move_in_anki_moves_between_files(world: World) -> None:
    rome = world.ids["rome"]
    with world.anki() as col:
        move_to_deck(col, rome, "Spanish")
    world.git("pull", "anki")
    assert f"<!-- note_id: {rome} -->" in world.read("Spanish.md")
    assert f"<!-- note_id: {rome} -->" not in world.read("Geo__Europe.md")


def test_move_between_files_moves_in_anki_with_same_id(world: World) -> None:
    tener = world.ids["tener"]
    spanish = world.read("Spanish.md").split("\n---\n\n")
    block = next(b for b in spanish if f"note_id: {tener} " in b)
    rest = [b for b in spanish if b is not block]
    world.write("Spanish.md", "\n---\n\n".join(rest))
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\n" + block.rstrip("\n") + "\n")
    commit = world.git("commit", "-am", "move tener")
    assert "1 moved" in commit.stderr, commit.stderr
    assert world.note_deck(tener) == "Numbers"
    assert world.managed_count("tener?") == 1


# --- 6: deck renames ----------------------------------------------------------------------


def test_deck_renames_on_both_sides(world: World) -> None:
    with world.anki() as col:
        deck_id = rename_deck(col, "Numbers", "Maths")
    world.git("pull", "anki")
    assert not (world.root / "Numbers.md").exists()
    assert f"<!-- deck_id: {deck_id} -->" in world.read("Maths.md")

    world.git("mv", "Maths.md", "Arithmetic.md")
    commit = world.git("commit", "-m", "rename deck")
    if world.kind != "collection":
        # AnkiConnect cannot rename: the push says what re-creating would lose, and how
        # to rename in Anki instead, and waits for a decision.
        assert "AnkiConnect cannot rename a deck" in commit.stderr, commit.stderr
        assert "not its description or per-deck limits" in commit.stderr
        assert "Maths.md -> Arithmetic.md: in Anki, rename deck 'Maths' to 'Arithmetic'" in (
            commit.stderr
        )
        with world.anki() as col:
            assert "Maths" in deck_ids(col)
        pushed = world.run(str(VENV_BIN / "ankiops-git"), "push", "--recreate-decks")
        assert "1 deck(s) renamed" in pushed.stdout, pushed.stdout + pushed.stderr
    else:
        assert "1 deck(s) renamed" in commit.stderr, commit.stderr
    with world.anki() as col:
        names = deck_ids(col)
    assert "Arithmetic" in names and "Maths" not in names
    if world.kind == "collection":
        assert names["Arithmetic"] == deck_id
    assert world.note_deck(world.ids["num0"]) == "Arithmetic"
    world.git("pull", "anki")
    assert f"<!-- deck_id: {names['Arithmetic']} -->" in world.read("Arithmetic.md")
    assert world.rev("HEAD") == world.rev("anki/main")


@in_anki
def deck_description(col: Collection, name: str) -> str:
    return str(col.decks.by_name(name)["desc"])  # type: ignore[index]


@in_anki
def describe_deck(col: Collection, name: str, text: str) -> None:
    deck = col.decks.by_name(name)
    deck["desc"] = text  # type: ignore[index]
    col.decks.save(deck)  # type: ignore[arg-type]


def test_a_deck_renamed_in_anki_as_the_push_advised_keeps_its_description(world: World) -> None:
    """The way the refusal over AnkiConnect points to: rename the file, rename the deck
    in Anki too, pull. The two renames merge; the deck keeps id and description."""
    with world.anki() as col:
        describe_deck(col, "Numbers", "Sums <b>to learn</b>")
        deck_id = deck_ids(col)["Numbers"]
    world.git("mv", "Numbers.md", "Arithmetic.md")
    world.git("commit", "-m", "rename deck")
    with world.anki() as col:
        rename_deck(col, "Numbers", "Arithmetic")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert world.git("status", "--porcelain").stdout == ""
    assert sorted(world.deck_files()) == ["Arithmetic.md", "Geo__Europe.md", "Spanish.md"]
    assert f"<!-- deck_id: {deck_id} -->" in world.read("Arithmetic.md")
    with world.anki() as col:
        assert deck_ids(col)["Arithmetic"] == deck_id
        assert deck_description(col, "Arithmetic") == "Sums <b>to learn</b>"
    assert world.rev("HEAD") == world.rev("anki/main")
    assert "nothing to push" in world.run(str(VENV_BIN / "ankiops-git"), "status").stdout


def test_renaming_a_parent_deck_file_leaves_its_subdecks_files_alone(world: World) -> None:
    world.write("Geo.md", "Q: Largest ocean?\nA: Pacific\n")
    world.git("add", "Geo.md")
    world.git("commit", "-m", "Geo")
    world.git("mv", "Geo.md", "World.md")
    world.git("commit", "-m", "rename Geo")
    if world.kind != "collection":
        world.run(str(VENV_BIN / "ankiops-git"), "push", "--recreate-decks")
    world.git("pull", "anki")
    assert sorted(world.deck_files()) == [
        "Geo__Europe.md",
        "Numbers.md",
        "Spanish.md",
        "World.md",
    ]
    assert world.note_deck(world.ids["paris"]) == "Geo::Europe"
    assert "Q: Largest ocean?" in world.read("World.md")
    assert world.rev("HEAD") == world.rev("anki/main")


def test_an_interrupted_deck_rename_is_finished_by_pushing_again(world: World) -> None:
    world.git("mv", "Numbers.md", "Arithmetic.md")
    env = dict(world.env, ANKIOPS_GIT_IN_HOOK="1")  # hooks off: the commit is not pushed
    subprocess.run(["git", "commit", "-qm", "rename"], cwd=world.root, env=env, check=True)
    # A rename that died half way: the new deck made, some cards moved there.
    with world.anki() as col:
        move_to_deck(col, world.ids["num0"], "Arithmetic")
        move_to_deck(col, world.ids["num1"], "Arithmetic")
    for _ in range(2):  # and once more when all is done: nothing left to do
        pushed = world.run(str(VENV_BIN / "ankiops-git"), "push", "--recreate-decks", check=False)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    with world.anki() as col:
        names = deck_ids(col)
    assert "Arithmetic" in names and "Numbers" not in names
    assert {world.note_deck(world.ids[f"num{i}"]) for i in range(5)} == {"Arithmetic"}
    world.git("pull", "anki")
    assert sorted(world.deck_files()) == ["Arithmetic.md", "Geo__Europe.md", "Spanish.md"]
    assert f"<!-- deck_id: {names['Arithmetic']} -->" in world.read("Arithmetic.md")
    assert world.managed_count("+ 1?") == 5


# --- 7: deletions and the guard -----------------------------------------------------------


def test_deletions_both_ways_and_the_guard(world: World) -> None:
    with world.anki() as col:
        col.remove_notes([world.ids["paris"]])
    world.git("pull", "anki")
    assert "Paris" not in world.read("Geo__Europe.md")

    text = world.read("Spanish.md")
    world.write("Spanish.md", "\n---\n".join(b for b in text.split("\n---\n") if "estar?" not in b))
    world.git("commit", "-am", "delete estar")
    assert world.managed_count("estar?") == 0

    # Deleting 3 of the 5 Numbers notes is refused until allowed.
    blocks = world.read("Numbers.md").split("\n---\n")
    world.write(
        "Numbers.md", "\n---\n".join(blocks[:2]) + ("\n" if not blocks[1].endswith("\n") else "")
    )
    commit = world.git("commit", "-am", "delete three")
    assert "would delete" in commit.stderr and "Numbers.md: Q: 2 + 1?" in commit.stderr
    assert world.managed_count("+ 1?") == 5
    pushed = world.run(str(VENV_BIN / "ankiops-git"), "push", "--allow-deletes")
    assert "3 deleted" in pushed.stdout, pushed.stdout
    assert world.managed_count("+ 1?") == 2


# --- 8: Anki unreachable during a commit --------------------------------------------------


def test_unreachable_anki_commit_stands_and_later_push_applies_once(world: World) -> None:
    url = world.git("config", "remote.anki.url").stdout.strip()
    dead = (
        "anki::http://127.0.0.1:9" if world.kind != "collection" else "anki::/nonexistent/c.anki2"
    )
    world.git("config", "remote.anki.url", dead)
    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nQ: hablar?\nA: To speak\n")
    commit = world.git("commit", "-am", "hablar")
    assert commit.returncode == 0
    assert "Anki is not reachable" in commit.stderr and "git push anki" in commit.stderr
    assert world.git("log", "-1", "--format=%s").stdout.strip() == "hablar"
    world.git("config", "remote.anki.url", url)
    world.git("push", "anki")  # as the README and the hook say: no branch named
    world.git("push", "anki")  # again: nothing more
    assert world.managed_count("hablar?") == 1
    world.git("pull", "anki")
    assert re.search(r"<!-- note_id: \d+ -->\nQ: hablar\?", world.read("Spanish.md"))
    assert world.managed_count("hablar?") == 1


# --- 9: a push interrupted after adding notes ---------------------------------------------


def test_interrupted_push_run_again_makes_no_duplicates(world: World) -> None:
    from ankiops_git import export, gitstore, push, sync
    from ankiops_git.anki import open_backend

    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nQ: vivir?\nA: To live\n")
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\nQ: vivir?\nA: To live\n")
    env = dict(world.env, ANKIOPS_GIT_IN_HOOK="1")  # hooks off: the commit is not pushed
    subprocess.run(["git", "commit", "-qam", "vivir"], cwd=world.root, env=env, check=True)

    # The push dies right after Anki added the notes, before any id was recorded.
    repo = gitstore.open_repo(world.root)
    config = sync.load_config(repo)
    base = export.snapshot_of_commit(repo, gitstore.ref_target(repo, gitstore.ANKI_REF), config)
    target = export.snapshot_of_commit(repo, repo.head.target, config)
    backend = open_backend(world.spec)
    try:
        plan = push.plan_push(export.anki_view(backend, base, None), target)
        assert len(plan.adds) == 2
        push.apply_decks(backend, plan)
        push.apply_adds(backend, plan)
    finally:
        backend.close()
    assert world.managed_count("vivir?") == 2

    pushed = world.git("push", "anki", "main")
    assert "added" not in pushed.stderr, pushed.stderr  # both adopted: nothing to send
    world.git("pull", "anki")
    assert world.managed_count("vivir?") == 2  # one per deck, as written
    assert re.search(r"<!-- note_id: \d+ -->\nQ: vivir\?", world.read("Spanish.md"))
    assert re.search(r"<!-- note_id: \d+ -->\nQ: vivir\?", world.read("Numbers.md"))


# --- 10: wrong profile --------------------------------------------------------------------


def test_wrong_profile_is_refused_and_nothing_is_written(world: World) -> None:
    settings = world.read("ankiops.toml")
    assert f'profile = "{PROFILE}"' in settings
    world.write("ankiops.toml", settings.replace(PROFILE, "Someone Else"))
    world.git("commit", "-qam", "profile", "--no-verify")
    world.set_field(world.ids["ser"], "Answer", "To be (Anki edit)")
    with world.anki() as col:
        mod_before = col.db.scalar("select max(mod) from notes")
    anki_main = world.rev("anki/main")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0
    assert "Someone Else" in pulled.stderr and "nothing was changed" in pulled.stderr
    assert world.rev("anki/main") == anki_main
    world.write("Spanish.md", world.read("Spanish.md").replace("tener?", "tener (verb)?"))
    commit = world.git("commit", "-am", "edit")
    assert "Someone Else" in commit.stderr
    pushed = world.git("push", "anki", "main", check=False)
    assert pushed.returncode != 0
    with world.anki() as col:
        assert col.db.scalar("select max(mod) from notes") == mod_before
    assert world.rev("anki/main") == anki_main


def test_a_field_no_deck_file_can_hold_is_refused_by_name_and_nothing_is_fetched(
    world: World,
) -> None:
    """A comment holding a blank line mid-line (HTML from elsewhere): a Markdown HTML
    block would end there, losing what follows. The pull names the note and field."""
    world.set_field(world.ids["ser"], "Answer", "To be<!-- one\n\ntwo --> or not")
    anki_main, spanish = world.rev("anki/main"), world.read("Spanish.md")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0
    assert f"note {world.ids['ser']}" in pulled.stderr and "field Answer" in pulled.stderr
    assert "blank line inside a comment" in pulled.stderr
    assert "Traceback" not in pulled.stderr
    assert world.rev("anki/main") == anki_main and world.read("Spanish.md") == spanish
    world.set_field(world.ids["ser"], "Answer", "To be<!-- one\ntwo --> or not")
    world.git("pull", "anki")
    assert "To be<!-- one\ntwo --> or not" in world.read("Spanish.md")


def test_images_in_media_go_to_anki_with_the_notes_that_show_them(world: World) -> None:
    """A note's image in media/ is stored in Anki's media with the commit that adds the
    note; a redrawn image alone is stored again; a reference to a file the repository
    lacks (already in Anki, say) is left alone, and a pull after it all does nothing."""
    picture = bytes(range(256)) * 4
    (world.root / "media").mkdir()
    (world.root / "media" / "cell diagram.png").write_bytes(picture)
    text = world.read("Spanish.md") + "\n---\n\nQ: The cell\nA: ![a cell](<cell diagram.png>)\n"
    world.write("Spanish.md", text + "\n---\n\nQ: Elsewhere\nA: ![](only-in-anki.png)\n")
    world.git("add", "-A")
    commit = world.git("commit", "-m", "cell")
    assert "2 added, 0 updated, 0 moved, 0 deleted, 1 media file(s)" in commit.stderr
    with world.anki() as col:
        folder = Path(col.media.dir())
        assert (folder / "cell diagram.png").read_bytes() == picture
        assert not (folder / "only-in-anki.png").exists()
    redrawn = picture[::-1]
    (world.root / "media" / "cell diagram.png").write_bytes(redrawn)
    commit = world.git("commit", "-am", "redrawn")
    assert "0 added, 0 updated, 0 moved, 0 deleted, 1 media file(s)" in commit.stderr
    with world.anki() as col:
        assert (Path(col.media.dir()) / "cell diagram.png").read_bytes() == redrawn
    head = world.rev("HEAD")
    assert world.rev("anki/main") == head
    assert "Already up to date" in world.git("pull", "anki").stdout
    assert world.rev("HEAD") == head


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("UPPER.PNG", "stores it as 'upper.png'"),
        ("what?.png", "drops '?'"),
        ("a:b.png", "drops ':'"),
    ],
)
def test_media_names_anki_would_change_are_refused_naming_the_note(
    world: World, name: str, why: str
) -> None:
    """Anki stores some names differently (lower case; characters it drops): the card
    would show a broken link. The push says so at the note's line and writes nothing."""
    (world.root / "media").mkdir()
    (world.root / "media" / name).write_bytes(b"\x89PNG picture")
    text = world.read("Spanish.md") + f"\n---\n\nQ: The picture\nA: ![](<{name}>)\n"
    world.write("Spanish.md", text)
    line = text.splitlines().index("Q: The picture") + 1
    world.git("add", "-A")
    commit = world.git("commit", "-m", "picture")
    assert f"Spanish.md:{line}: media file" in commit.stderr, commit.stderr
    assert why in commit.stderr and "Rename the file" in commit.stderr
    assert world.managed_count("The picture") == 0
    with world.anki() as col:
        assert os.listdir(col.media.dir()) == []  # nothing stored, or taken out again
    assert world.rev("anki/main") != world.rev("HEAD")  # not pushed: git push anki retries


def test_a_note_anki_refuses_is_named_and_the_rest_of_the_push_goes_in(world: World) -> None:
    """A note Anki refuses (here an empty question, committed past the pre-commit check)
    is named by file and line; the other files' notes are added, once."""
    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nQ:\nA: no question\n")
    line = len(world.read("Spanish.md").splitlines()) - 1
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\nQ: 9 + 1?\nA: 10\n")
    commit = world.git("commit", "--no-verify", "-am", "one bad note")
    assert f"Spanish.md:{line}: Anki refused this note: cannot create note because it is " in (
        commit.stderr
    ), commit.stderr
    assert "everything else was pushed" in commit.stderr
    assert world.managed_count("9 + 1?") == 1
    assert world.managed_count("no question") == 0
    text = world.read("Spanish.md").replace("Q:\nA: no question", "Q: And now?\nA: a question")
    world.write("Spanish.md", text)
    commit = world.git("commit", "-am", "fixed")
    assert "1 added" in commit.stderr, commit.stderr  # the other note was adopted
    assert world.managed_count("9 + 1?") == 1 and world.managed_count("And now?") == 1
    assert world.rev("HEAD") == world.rev("anki/main")
    assert re.search(r"<!-- note_id: \d+ -->\nQ: 9 \+ 1\?", world.read("Numbers.md"))


@pytest.mark.parametrize("world", ["collection"], indirect=True)
def test_an_emptied_collection_file_is_refused_and_no_deck_file_is_deleted(
    world: World,
) -> None:
    """Opened as a new empty collection, it made a pull delete every deck file."""
    saved = world.col_path.read_bytes()
    world.col_path.write_bytes(b"")
    files = world.deck_files()
    head = world.rev("HEAD")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0
    assert "is empty, not an Anki collection" in pulled.stderr, pulled.stderr
    assert "Traceback" not in pulled.stderr
    assert world.deck_files() == files and world.rev("HEAD") == head
    assert world.col_path.read_bytes() == b""
    world.write("Spanish.md", world.read("Spanish.md").replace("tener?", "tener (verb)?"))
    commit = world.git("commit", "-am", "edit")
    assert "is empty, not an Anki collection" in commit.stderr
    assert world.col_path.read_bytes() == b""
    world.col_path.write_bytes(saved)  # back, for the fixture's own checks


def test_a_pull_that_would_delete_many_notes_asks_first(world: World) -> None:
    """As the push guard: a wrong collection, or a deck deleted in Anki by mistake."""
    with world.anki() as col:
        col.remove_notes([world.ids[f"num{i}"] for i in range(4)])
    files, head = world.deck_files(), world.rev("HEAD")
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0
    assert "Anki no longer has more than 10% of deck 'Numbers'" in pulled.stderr, pulled.stderr
    assert "Numbers.md: Q: 0 + 1?" in pulled.stderr and "--allow-deletes" in pulled.stderr
    assert world.deck_files() == files and world.rev("HEAD") == head
    allowed = world.run(str(VENV_BIN / "ankiops-git"), "pull", "--allow-deletes")
    assert allowed.returncode == 0
    assert "Q: 4 + 1?" in world.read("Numbers.md") and "Q: 0 + 1?" not in world.read("Numbers.md")
    assert world.rev("HEAD") == world.rev("anki/main")


@pytest.mark.parametrize("deck", ["Default", "Other"])
def test_a_deck_id_of_a_deck_no_file_stood_for_is_not_renamed(world: World, deck: str) -> None:
    """Default, or a deck of the user's other notes, named by a copied deck_id line."""
    with world.anki() as col:
        deck_id = deck_ids(col)[deck]
    world.write("Mine.md", f"<!-- deck_id: {deck_id} -->\n\nQ: Mine?\nA: Yes\n")
    world.git("add", "Mine.md")
    commit = world.git("commit", "-m", "mine")
    assert f"Mine.md:1: deck_id {deck_id} is the deck {deck!r} in Anki, which no deck file" in (
        commit.stderr
    ), commit.stderr
    with world.anki() as col:
        assert deck_ids(col)[deck] == deck_id and "Mine" not in deck_ids(col)
    assert world.managed_count("Mine?") == 0


def test_a_code_block_in_a_list_made_in_anki_arrives(world: World) -> None:
    """It stopped every pull: "opens a code fence it does not close"."""
    html = "<ul><li><pre><code>pip install x</code></pre></li></ul>"
    world.set_field(world.ids["tener"], "Answer", html)
    pulled = world.git("pull", "anki")
    assert pulled.returncode == 0
    block = note_block(world.read("Spanish.md"), world.ids["tener"])
    assert "A:\n- ```\n  pip install x\n  ```" in block or "A: - ```\n  pip install x" in block
    assert "nothing to push" in world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    assert world.field(world.ids["tener"], "Answer") == html


def test_a_note_made_in_anki_that_validate_rejects_does_not_block_other_edits(
    world: World,
) -> None:
    """An answer emptied in Anki arrives; commits of other notes in that file go
    through with a warning; editing that note itself needs it fixed."""
    world.set_field(world.ids["tener"], "Answer", "")
    world.git("pull", "anki")
    assert "Q: tener?\n" in note_block(world.read("Spanish.md"), world.ids["tener"])
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To be (state)", "A: Estar"))
    commit = world.git("commit", "-am", "estar")
    assert "warning: QA note has no A:" in commit.stderr and "as it was before" in commit.stderr
    assert "1 updated" in commit.stderr, commit.stderr
    world.write("Spanish.md", world.read("Spanish.md").replace("Q: tener?", "Q: tener (verb)?"))
    refused = world.git("commit", "-am", "tener", check=False)
    assert refused.returncode != 0 and "error: QA note has no A:" in refused.stderr


def test_a_deck_named_readme_in_anki_syncs_as_a_deck_file(world: World) -> None:
    """README.md is not a deck file, so a deck README stopped every pull."""
    with world.anki() as col:
        rename_deck(col, "Numbers", "README")
    world.git("pull", "anki")
    assert "Q: 0 + 1?" in world.read("%52EADME.md")
    world.write("%52EADME.md", world.read("%52EADME.md").replace("A: 1\n", "A: one\n"))
    commit = world.git("commit", "-am", "one")
    assert "1 updated" in commit.stderr, commit.stderr
    assert world.field(world.ids["num0"], "Answer") == "one"
    assert world.note_deck(world.ids["num0"]) == "README"


@pytest.mark.parametrize("where", ["ankiops", "ankiops/state"])
def test_sync_state_in_the_way_is_one_clear_message(world: World, where: str) -> None:
    """.git/ankiops made a file, or its state file a folder: a traceback on every pull."""
    state = world.root / ".git" / "ankiops"
    world.set_field(world.ids["tener"], "Answer", "To hold")
    if where == "ankiops":
        shutil.rmtree(state, ignore_errors=True)
        state.write_text("in the way")
    else:
        (state / "state").unlink(missing_ok=True)
        (state / "state").mkdir()
    pulled = world.git("pull", "anki", check=False)
    assert pulled.returncode != 0, pulled.stdout
    assert "Traceback" not in pulled.stderr
    assert f"{state if where == 'ankiops' else state / 'state'}" in pulled.stderr
    assert "Move" in pulled.stderr and "run the command again" in pulled.stderr
    world.write("Spanish.md", world.read("Spanish.md").replace("estar?", "estar (verb)?"))
    commit = world.git("commit", "-am", "estar")
    assert "Traceback" not in commit.stderr and world.rev("HEAD") != world.rev("anki/main")


def test_only_files_in_media_are_sent_and_never_through_a_link(world: World) -> None:
    """A link to /etc/passwd was stored as a file holding the link's target; a tracked
    file named as an image (ankiops.toml) was copied into Anki's media folder."""
    (world.root / "media").mkdir()
    (world.root / "media" / "p.png").symlink_to("/etc/passwd")
    text = world.read("Spanish.md") + "\n---\n\nQ: Linked\nA: ![](p.png)\n"
    world.write("Spanish.md", text)
    world.git("add", "-A")
    commit = world.git("commit", "-m", "linked")
    assert "media file media/p.png is a symbolic link" in commit.stderr, commit.stderr
    assert world.managed_count("Linked") == 0
    (world.root / "media" / "p.png").unlink()
    world.write("Spanish.md", text.replace("![](p.png)", "![](ankiops.toml)"))
    world.git("add", "-A")
    commit = world.git("commit", "-m", "toml")
    assert "1 added" in commit.stderr and "media file" not in commit.stderr, commit.stderr
    with world.anki() as col:
        assert os.listdir(col.media.dir()) == []


@pytest.mark.parametrize(
    ("note", "fields", "written"),
    [
        ("tener", {"Question": "", "Answer": ""}, "Q:\n"),
        ("rome", {"Front": "", "Back": ""}, "F:\n"),
    ],
)
def test_a_note_emptied_in_anki_arrives_and_stops_nothing(
    world: World, note: str, fields: dict[str, str], written: str
) -> None:
    """All fields emptied (or all but Extra): it stopped every pull ("all its fields are
    empty", "would read back as another note type")."""
    for name, value in fields.items():
        world.set_field(world.ids[note], name, value)
    world.git("pull", "anki")
    path = "Spanish.md" if note == "tener" else "Geo__Europe.md"
    assert note_block(world.read(path), world.ids[note]).endswith(
        f"<!-- note_id: {world.ids[note]} -->\n{written}"
    )
    assert "nothing to push" in world.run(str(VENV_BIN / "ankiops-git"), "status").stdout
    world.write("Numbers.md", world.read("Numbers.md").replace("A: 1\n", "A: one\n"))
    commit = world.git("commit", "-am", "one")
    assert "1 updated" in commit.stderr, commit.stderr
    assert world.managed_count("+ 1?") == 5
    assert all(world.field(world.ids[note], name) == "" for name in fields)  # stays emptied


def test_a_pull_that_merges_pushes_the_new_notes_and_writes_their_ids(world: World) -> None:
    """The post-merge hook pushed, then failed to fast-forward to the ids ("MERGE_HEAD
    exists"): the ids came only with a second pull."""
    world.set_field(world.ids["num0"], "Answer", "one (Anki)")
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\nQ: 9 + 1?\nA: 10\n")
    commit = world.git("commit", "-am", "nine")
    assert "git pull anki" in commit.stderr  # Anki has an edit: merge first
    pulled = world.git("pull", "anki")
    assert "MERGE_HEAD" not in pulled.stderr and "not pushed" not in pulled.stderr, pulled.stderr
    assert "1 added" in pulled.stderr
    assert re.search(r"<!-- note_id: \d+ -->\nQ: 9 \+ 1\?", world.read("Numbers.md"))
    assert world.rev("HEAD") == world.rev("anki/main")
    assert world.git("status", "--porcelain").stdout == ""
    assert world.managed_count("9 + 1?") == 1


def test_hooks_and_driver_say_how_to_repair_when_the_tool_moved(world: World) -> None:
    """Moved or reinstalled elsewhere: every commit failed with "ankiops-hook: not
    found", with no hint; the driver's path went stale the same way."""
    moved = "/nowhere/venv/bin"
    hooks = world.root / ".git" / "hooks"
    for name in ("pre-commit", "post-commit", "post-merge", "pre-merge-commit"):
        text = (hooks / name).read_text().replace(str(VENV_BIN), moved)
        (hooks / name).write_text(text)
    driver = world.git("config", "merge.ankiops.driver").stdout.strip()
    world.git("config", "merge.ankiops.driver", driver.replace(str(VENV_BIN), moved))
    bare = dict(world.env, PATH=os.pathsep.join(("/usr/bin", "/bin")))
    world.write("Spanish.md", world.read("Spanish.md").replace("tener?", "tener (verb)?"))
    commit = subprocess.run(
        ["git", "commit", "-qam", "edit"], cwd=world.root, env=bare, capture_output=True, text=True
    )
    assert commit.returncode == 0
    assert "ankiops-git was moved or reinstalled. Run `ankiops-git init` here to repair" in (
        commit.stderr
    ), commit.stderr
    assert "not found" not in commit.stderr
    repaired = world.run(str(VENV_BIN / "ankiops-git"), "init")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert moved not in (hooks / "pre-commit").read_text()
    assert moved not in world.git("config", "merge.ankiops.driver").stdout
    assert world.rev("HEAD") == world.rev("anki/main")  # init pushed the edit
    assert world.field(world.ids["tener"], "Question") == "tener (verb)?"


def test_a_pull_that_fast_forwards_starts_no_hook_program(world: World, tmp_path: Path) -> None:
    """post-merge after a fast-forward has nothing to push: the shim sees HEAD is
    anki/main and exits before Python starts (0.12 s of every such pull)."""
    log = tmp_path / "hooks.log"
    wrapper = tmp_path / "ankiops-hook"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {VENV_BIN / "ankiops-hook"} "$@"\n')
    wrapper.chmod(0o755)
    hooks = world.root / ".git" / "hooks"
    for name in ("post-commit", "post-merge"):
        text = (hooks / name).read_text()
        (hooks / name).write_text(text.replace(str(VENV_BIN / "ankiops-hook"), str(wrapper)))
    world.set_field(world.ids["paris"], "Extra", "Anki side")
    pulled = world.git("pull", "anki")
    assert "1 updated" in pulled.stderr, pulled.stderr
    assert world.rev("HEAD") == world.rev("anki/main")
    assert not log.exists()  # fast-forwarded: no program ran
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have\n", "A: To own\n"))
    world.git("commit", "-qam", "edit")
    assert log.read_text() == "post-commit\n"  # a commit to push: the program ran, and pushed
    assert world.rev("HEAD") == world.rev("anki/main")
    assert world.field(world.ids["tener"], "Answer") == "To own"


def test_status_and_dry_runs_say_what_push_and_pull_then_do(world: World) -> None:
    cli = str(VENV_BIN / "ankiops-git")
    # An Anki edit in another deck does not stop a push of this one: status agrees.
    world.set_field(world.ids["paris"], "Extra", "Anki side")
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have\n", "A: To own\n"))
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\nQ: 9 + 1?\nA: 10\n")
    env = dict(world.env, ANKIOPS_GIT_IN_HOOK="1")  # hooks off: nothing pushed yet
    subprocess.run(["git", "commit", "-qam", "two"], cwd=world.root, env=env, check=True)
    status = world.run(cli, "status", "-v").stdout
    assert "push: a push would send 1 added, 1 updated, 0 moved, 0 deleted" in status
    assert "  Spanish.md:" in status and ": update Q: tener?" in status
    assert "  Numbers.md:" in status and ": add Q: 9 + 1?" in status
    dry = world.run(cli, "push", "--dry-run").stdout
    assert "anki (dry run): a push would send 1 added, 1 updated" in dry
    assert ": add Q: 9 + 1?" in dry
    git_dry = world.git("push", "--dry-run", "anki")
    assert "anki (dry run): a push would send 1 added" in git_dry.stderr, git_dry.stderr
    assert "(pushed)" not in git_dry.stderr
    assert world.managed_count("9 + 1?") == 0 and world.field(world.ids["tener"], "Answer") == (
        "To have"
    )
    pushed = world.run(cli, "push")
    assert "1 added, 1 updated" in pushed.stdout, pushed.stdout + pushed.stderr
    # The deletion guard: status says the push would be refused, and exits 0.
    blocks = world.read("Numbers.md").split("\n---\n")
    world.write("Numbers.md", "\n---\n".join(blocks[:2]) + "\n")
    subprocess.run(["git", "commit", "-qam", "cut"], cwd=world.root, env=env, check=True)
    status_run = world.run(cli, "status")
    assert "push: refused: this push would delete" in status_run.stdout
    # A note type change: status says the push would fail, and exits 0.
    world.git("reset", "-q", "--hard", "HEAD~1")
    text = world.read("Spanish.md").replace("Q: tener?\nA: To own", "T: {{c1::tener}}")
    world.write("Spanish.md", text)
    subprocess.run(["git", "commit", "-qam", "type"], cwd=world.root, env=env, check=True)
    status_run = world.run(cli, "status")
    assert "push: would fail:" in status_run.stdout and "cannot change its type" in (
        status_run.stdout
    )


def test_commit_amend_after_a_push_is_pushed(world: World) -> None:
    """--amend after a push amends the "Anki: new note id(s)" commit: the hook said
    Anki had unmerged edits. It holds all of them: it is pushed."""
    world.write("Numbers.md", world.read("Numbers.md") + "\n---\n\nQ: 9 + 1?\nA: ten\n")
    world.git("commit", "-am", "nine")
    assert world.git("log", "-1", "--format=%an").stdout.strip() == "Anki"  # the ids commit
    world.write("Numbers.md", world.read("Numbers.md").replace("A: ten\n", "A: 10\n"))
    amended = world.git("commit", "-a", "--amend", "--no-edit")
    assert "not merged" not in amended.stderr and "1 updated" in amended.stderr, amended.stderr
    assert world.managed_count("9 + 1?") == 1
    with world.anki() as col:
        answers = col.db.list("select flds from notes where flds like '9 + 1?%'")
    assert [a.split("\x1f")[1] for a in answers] == ["10"]
    assert "nothing to push" in world.run(str(VENV_BIN / "ankiops-git"), "status").stdout


def test_pull_rebase_is_pushed(world: World) -> None:
    """`git pull --rebase anki` succeeded, but nothing pushed the rebased commits."""
    world.set_field(world.ids["num0"], "Answer", "one (Anki)")
    world.write("Numbers.md", world.read("Numbers.md").replace("A: 2\n", "A: two\n"))
    env = dict(world.env, ANKIOPS_GIT_IN_HOOK="1")  # hooks off: not pushed
    subprocess.run(["git", "commit", "-qam", "two"], cwd=world.root, env=env, check=True)
    rebased = world.git("pull", "--rebase", "anki")
    assert rebased.returncode == 0
    assert "anki (pushed): 0 added, 1 updated" in rebased.stderr, rebased.stderr
    assert world.field(world.ids["num1"], "Answer") == "two"
    assert world.field(world.ids["num0"], "Answer") == "one (Anki)"
    assert world.rev("HEAD") == world.rev("anki/main")


def test_a_deck_name_too_long_for_a_file_name_leaves_its_notes_out_and_the_rest_syncs(
    world: World,
) -> None:
    """It failed every later pull with git's "File name too long", then with a clear
    message that still blocked everything. Now that deck's notes stay in Anki, out of
    the files, said once with the deck's id; everything else syncs."""
    long_name = "Geography of " + "very " * 60 + "long places"
    numbers = {i for k, i in world.ids.items() if k.startswith("num")}
    with world.anki() as col:
        rename_deck(col, "Numbers", long_name)
        fresh = add_managed(col, long_name + "::Sub", "AnkiOpsQA", Question="new?", Answer="in")
    world.set_field(world.ids["paris"], "Extra", "Anki side")
    pulled = world.git("pull", "anki")
    assert "Traceback" not in pulled.stderr and "File name too long" not in pulled.stderr
    assert "left out (deck name too long)" in pulled.stderr, pulled.stderr
    assert "more than file systems allow (255)" in pulled.stderr
    assert "stay in Anki and out of your files. Rename the deck shorter in Anki" in (pulled.stderr)
    assert "Anki side" in world.read("Geo__Europe.md")  # the rest synced
    assert "Numbers.md" not in world.deck_files()
    text = "".join(world.read(p) for p in world.deck_files())
    assert not any(f"note_id: {i} " in text for i in numbers | {fresh})
    assert world.rev("HEAD") == world.rev("anki/main")
    # later pulls and commits go on; the notes stay in Anki, untouched
    assert "Already up to date" in world.git("pull", "anki").stdout
    world.write("Spanish.md", world.read("Spanish.md").replace("A: To have\n", "A: To own\n"))
    committed = world.git("commit", "-qam", "edit")
    assert "1 updated" in committed.stderr, committed.stderr
    assert world.rev("HEAD") == world.rev("anki/main")
    assert all(world.field(i, "Question") for i in numbers | {fresh})  # still in Anki
    with world.anki() as col:
        rename_deck(col, long_name, "Numbers again")
    again = world.git("pull", "anki")
    assert again.returncode == 0, again.stderr
    assert "Q: 0 + 1?" in world.read("Numbers again.md")
    text = world.read("Numbers again.md") + world.read("Numbers again__Sub.md")
    assert all(f"note_id: {i} " in text for i in numbers | {fresh})


def test_a_push_past_the_pre_commit_hook_says_what_validate_would(world: World) -> None:
    """With --no-verify (or a GUI that skips hooks), the push had its own, weaker rules:
    now it reports validate's problems for the notes it sends (Anki takes them)."""
    world.write("Spanish.md", world.read("Spanish.md") + "\n---\n\nQ: Lonely question\n")
    line = len(world.read("Spanish.md").splitlines())
    commit = world.git("commit", "--no-verify", "-am", "lonely")
    assert f"Spanish.md:{line}:1: warning: QA note has no A: (Answer)" in commit.stderr, (
        commit.stderr
    )
    assert "1 added" in commit.stderr and world.managed_count("Lonely question") == 1
