"""Reliability: no loss on odd or hostile input (docs/reliability.md).

Three parts, each in a CI size (`make test`) and a soak size (`make soak`, which sets
ANKIOPS_SOAK=1):

1. A stateful property test (hypothesis `RuleBasedStateMachine`) over a real
   repository made by `ankiops-git init` on a collection file, with its hooks, merge
   driver and git-remote-anki. It interleaves edits, adds, moves and deletes in the
   deck files, commits (the hook pushes), the same in Anki (plus deck renames), `git
   pull anki` (resolving any conflict one way or the other) and `git push anki`, and
   after every step checks both sides against a model of who wrote what.
2. Kill points: a push and a fetch die at every backend call in turn (a backend
   proxy raises a BaseException there); each is then run again as a user would, and
   must converge with nothing lost and nothing twice.
3. Fuzzed deck files: valid files mutated (lines deleted, duplicated, swapped;
   prefixes, fences, separators, comments, control characters, bad UTF-8, CRLF,
   conflict markers) through the parser, the validator and `ankiops-git validate`.

The model (part 1). Every Answer carries a unique token (`v0123`), every note a key in
its Question (`k012?`) that never changes, so a note is found by content on either
side, whatever its id. Each write on either side is an Event that remembers which
events its side knew when it was made. A side learns an event by showing it: its
token (and with it all its side knew then); a deck or an absence its own knowledge
does not explain (the other side's move there, or delete). An edit is lost if a side
knows it, shows something else, no event that knew it replaced it, and no conflict
showed it to the user. Allowed, as docs/conflicts.md says: a note moved on one side and
deleted on the other is kept where it moved (or deleted, if the move came back to
where it was); moved to two decks, the pull stops and one copy is kept, as the hook
says. A known limit this suite finds is kept as a strict xfail test (none is open).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from conftest import PROFILE, add_basic_note
from gitrepo import BIN as VENV_BIN
from gitrepo import git_env
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    invariant,
    precondition,
    rule,
)
from test_sync_e2e import add_managed, init_repo, move_to_deck, rename_deck, set_field

import ankiops_git.anki
from ankiops_git import deckfile, errors, export, gitstore, sync, validate
from ankiops_git.anki.base import AnkiNote, Backend, NoteUpdate

SOAK = bool(os.environ.get("ANKIOPS_SOAK"))
# Sizes: CI (make test) / soak (make soak). Each can be set on its own.
SEQUENCES = int(os.environ.get("ANKIOPS_SOAK_SEQUENCES", 504 if SOAK else 8))
STEPS = int(os.environ.get("ANKIOPS_SOAK_STEPS", 12 if SOAK else 10))
FUZZ_FILES = int(os.environ.get("ANKIOPS_SOAK_FUZZ", 10_000 if SOAK else 1_000))
KILL_SCENARIOS = int(os.environ.get("ANKIOPS_SOAK_KILL_SCENARIOS", 2 if SOAK else 0))
SHRINK = os.environ.get("ANKIOPS_SOAK_SHRINK", "1") != "0"
# A JSON file the counts are added to (docs/reliability.md quotes them), if set.
REPORT = os.environ.get("ANKIOPS_RELIABILITY_REPORT")

COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    COUNTS["seconds (per worker, added)"] = round(time.monotonic() - started)
    line = "reliability: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    if REPORT:  # added to what other workers (pytest -n) wrote there
        with open(REPORT, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            total = Counter(json.loads(f.read() or "{}"))
            total.update(COUNTS)
            f.seek(0)
            f.truncate()
            f.write(json.dumps(dict(sorted(total.items())), indent=1) + "\n")


# --- the world: a seeded collection and a repository initialised on it -----------------

DECKS = {"Alpha": 3, "Beta": 3, "Gamma::Sub": 2}  # managed decks and their seed notes
KEY_RE = re.compile(r"k\d{3}\?")
TOKEN_RE = re.compile(r"v\d{4}")
# Answers as each side writes them; {t} is the token. Anki's go through html_to_md.
MD_FORMATS = ("{t}", "*{t}* more", "{t}\nsecond line", "- {t}\n- item")
ANKI_FORMATS = ("{t}", "<b>{t}</b> more", "{t}<br>second line", "<ul><li>{t}</li><li>x</li></ul>")
QUESTION = "k{:03d}?"


def seed(col: Collection) -> None:
    n = 0
    for deck, count in DECKS.items():
        for _ in range(count):
            add_managed(col, deck, "AnkiOpsQA", Question=QUESTION.format(n), Answer=f"v{n:04d}")
            n += 1
    add_basic_note(col, "Alpha", "unmanaged in a managed deck", "back <b>1</b>")
    add_basic_note(col, "Other", "other front", "other back")
    assert col.db is not None
    # Made an hour ago: a later edit always has a newer mod time than the last sync.
    col.db.execute("update notes set mod = mod - 3600 - id % 1000")
    col.db.execute("update cards set mod = mod - 3600 - id % 1000")


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, _collection_templates: dict[str, Path]
) -> Path:
    """A seeded collection and a repository initialised on it, made once: copied for
    every sequence and kill point."""
    base = tmp_path_factory.mktemp("reliability-template")
    col_path = base / PROFILE / "collection.anki2"
    col_path.parent.mkdir()
    shutil.copyfile(_collection_templates["managed"], col_path)
    col = Collection(str(col_path))
    try:
        seed(col)
    finally:
        col.close()
    init_repo(base / "decks", str(col_path), git_env(base))
    return base


@dataclass(frozen=True)
class Seen:
    """One note as a side shows it."""

    key: str
    token: str | None  # None: the Answer holds no token, or several
    deck: int | None  # deck id (the file's deck_id, or the first card's deck)
    note_id: int | None
    answer: str  # Markdown (files) or HTML (Anki)
    where: str  # the file, or the Anki deck name


def answer_token(text: str) -> str | None:
    found = TOKEN_RE.findall(text)
    return found[0] if len(found) == 1 else None


class World:
    """A copy of the template: the repository (`root`) and its collection file."""

    def __init__(self, template: Path, where: Path) -> None:
        shutil.copytree(template, where, dirs_exist_ok=True, symlinks=True)
        self.base = where
        self.root = where / "decks"
        self.col_path = where / PROFILE / "collection.anki2"
        self.env = git_env(where)
        self.outputs: list[str] = []  # the last commands' output, for failure messages
        self.git("config", "remote.anki.url", "anki::" + str(self.col_path))

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(args),
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        out = f"$ {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}"
        self.outputs.append(out)
        del self.outputs[:-12]
        assert "Traceback" not in done.stderr + done.stdout, out
        return done

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def must(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.git(*args)
        assert done.returncode == 0, self.outputs[-1]
        return done

    def rev(self, ref: str) -> str:
        return self.git("rev-parse", "-q", "--verify", ref).stdout.strip()

    def dirty(self) -> bool:
        return bool(self.git("status", "--porcelain").stdout.strip())

    def history(self) -> str:
        return "\n".join(self.outputs)

    @contextmanager
    def anki(self) -> Iterator[Collection]:
        """The collection, opened for one action or check (never during a git command)."""
        col = Collection(str(self.col_path))
        try:
            yield col
        finally:
            col.close()

    # --- what each side shows ---

    def deck_paths(self) -> list[Path]:
        return sorted(deckfile.deck_files(self.root), key=lambda p: p.name)

    def files(self) -> dict[str, list[Seen]]:
        """Key -> the notes of the working tree's deck files with that key."""
        out: dict[str, list[Seen]] = defaultdict(list)
        for path in self.deck_paths():
            deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
            for note in deck.notes:
                question = note.field("Question").strip()
                assert note.note_type == "QA" and KEY_RE.fullmatch(question), (
                    f"{path.name}:{note.line}: a note the model never wrote: {note}"
                )
                answer = note.field("Answer")
                token = answer_token(answer)
                seen = Seen(question, token, deck.deck_id, note.note_id, answer, path.name)
                out[question].append(seen)
        return out

    def anki_notes(self, col: Collection) -> dict[str, list[Seen]]:
        assert col.db is not None
        rows = col.db.all(
            "select n.id, n.flds, (select c.did from cards c where c.nid = n.id order by c.ord "
            "limit 1) from notes n join notetypes m on m.id = n.mid where m.name = 'AnkiOpsQA' "
            "order by n.id"
        )
        names = {int(d.id): d.name for d in col.decks.all_names_and_ids()}
        out: dict[str, list[Seen]] = defaultdict(list)
        for nid, flds, did in rows:
            question, answer = flds.split("\x1f")[:2]
            key = question.strip()
            assert KEY_RE.fullmatch(key), f"a note in Anki the model never wrote: {flds!r}"
            deck = int(did) if did is not None else None
            where = names.get(deck or 0, "?")
            out[key].append(Seen(key, answer_token(answer), deck, int(nid), answer, where))
        other = col.db.scalar(
            "select count() from notes n join notetypes m on m.id = n.mid "
            "where m.name like 'AnkiOps%' and m.name != 'AnkiOpsQA'"
        )
        assert other == 0, "notes of another AnkiOps type appeared"
        return out

    @staticmethod
    def unmanaged(col: Collection) -> list[tuple[Any, ...]]:
        """Every column of the rows of notes and cards that are not AnkiOps notes."""
        assert col.db is not None
        notes = col.db.all(
            "select n.* from notes n join notetypes m on m.id = n.mid "
            "where m.name not like 'AnkiOps%' order by n.id"
        )
        cards = col.db.all(
            "select c.* from cards c join notes n on n.id = c.nid join notetypes m "
            "on m.id = n.mid where m.name not like 'AnkiOps%' order by c.id"
        )
        assert len(notes) == 2 and len(cards) == 2
        return [tuple(r) for r in notes + cards]

    def tree_note_ids(self, ref: str) -> set[int]:
        """The note ids the deck files of commit `ref` hold."""
        repo = gitstore.open_repo(self.root)
        oid = gitstore.ref_target(repo, ref)
        if oid is None:
            return set()
        ids: set[int] = set()
        for path, (blob, _) in export.commit_files(repo, oid).items():
            if path.endswith(".md"):
                text = gitstore.blob_bytes(repo, blob).decode("utf-8", "replace")
                ids |= {int(i) for i in re.findall(r"<!-- note_id: (\d+) -->", text)}
        return ids


# --- deck files as blocks of lines --------------------------------------------------------


def read_blocks(path: Path) -> tuple[list[str], list[list[str]]]:
    """(the deck_id line, if any; the notes, each a list of lines) of a deck file whose
    fields hold no fence or `---` line (true of everything the model writes)."""
    lines = deckfile.split_lines(path.read_text(encoding="utf-8"))
    blocks: list[list[str]] = [[]]
    for line in lines:
        if deckfile.SEPARATOR_RE.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line)
    header: list[str] = []
    if blocks[0] and deckfile.DECK_ID_RE.match(blocks[0][0]):
        header = [blocks[0].pop(0)]
    notes = []
    for block in blocks:
        while block and not block[0].strip():
            block.pop(0)
        while block and not block[-1].strip():
            block.pop()
        if block:
            notes.append(block)
    return header, notes


def write_blocks(path: Path, header: list[str], notes: list[list[str]]) -> None:
    parts = ["\n".join(header)] if header else []
    if notes:
        parts.append("\n\n---\n\n".join("\n".join(block) for block in notes))
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def block_key(block: list[str]) -> str | None:
    for line in block:
        if line.startswith("Q: ") and KEY_RE.fullmatch(line[3:].strip()):
            return line[3:].strip()
    return None


def deck_id_of(path: Path) -> int | None:
    header, _ = read_blocks(path)
    m = deckfile.DECK_ID_RE.match(header[0]) if header else None
    return int(m.group(1)) if m else None


# --- the model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    eid: int
    key: str
    side: str  # "md" (the deck files) or "anki"
    what: str  # "create", "edit", "move", "delete", or "resolve" (a conflict's outcome)
    token: str | None  # create, edit, resolve: the Answer's token
    deck: int | None  # create, move, resolve: the deck id
    known: frozenset[int]  # the events its side knew when it was made

    def __str__(self) -> str:
        value = self.token if self.what != "move" else f"deck {self.deck}"
        return f"#{self.eid} {self.side} {self.what} {self.key} {value or ''}".strip()


def concurrent(a: Event, b: Event) -> bool:
    return a.eid not in b.known and b.eid not in a.known


def newest(events: list[Event]) -> list[Event]:
    """The events no other of these knew (the frontier)."""
    return [e for e in events if not any(e.eid in o.known for o in events if o is not e)]


class Lost(AssertionError):
    """The suite's finding: an edit lost, a note twice, a note that came back."""


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Mark the machine broken if a step fails, so teardown does not sync on top."""

    @functools.wraps(fn)
    def step(self: SyncMachine, *args: Any, **kwargs: Any) -> None:
        COUNTS["steps"] += 1
        try:
            fn(self, *args, **kwargs)
        except BaseException:
            self.broken = True
            raise

    return step


class SyncMachine(RuleBasedStateMachine):
    """Two sides, each edited at random, synced by git as a user would."""

    template: Path
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        self.broken = False
        self.w = World(self.template, Path(tempfile.mkdtemp(dir=self.workdir)))
        self.events: dict[int, Event] = {}
        self.by_key: dict[str, list[Event]] = defaultdict(list)
        self.known: dict[str, set[int]] = {"md": set(), "anki": set()}
        self.acked: set[int] = set()  # shown to the user in a conflict
        self.resolving: set[str] = set()  # the keys of the conflicts being resolved
        self.next_key, self.next_token = 100, 100
        with self.w.anki() as col:
            self.unmanaged_before = World.unmanaged(col)
            notes = self.w.anki_notes(col)
            names = {d.name: int(d.id) for d in col.decks.all_names_and_ids()}
        self.deck_ids = [names[name] for name in DECKS]
        self.deck_names = {i: n for n, i in names.items() if i in self.deck_ids}
        for key, (seen,) in sorted(notes.items()):
            eid = self.add_event("anki", key, "create", seen.token, seen.deck)
            self.known["md"].add(eid)
            self.known["anki"].add(eid)
        self.md_deleted = self.anki_deleted = 0
        COUNTS["sequences"] += 1

    # --- model bookkeeping ---

    def add_event(
        self, side: str, key: str, what: str, token: str | None = None, deck: int | None = None
    ) -> int:
        eid = len(self.events)
        event = Event(eid, key, side, what, token, deck, frozenset(self.known[side]))
        self.events[eid] = event
        self.by_key[key].append(event)
        return eid

    def write(
        self, side: str, key: str, what: str, token: str | None = None, deck: int | None = None
    ) -> None:
        """A write made on `side`: it knows what its side knew, and its side knows it."""
        self.known[side].add(self.add_event(side, key, what, token, deck))
        COUNTS[f"{side} {what}"] += 1

    def new_token(self) -> str:
        self.next_token += 1
        return f"v{self.next_token:04d}"

    def learn(self, side: str, shown: dict[str, list[Seen]]) -> None:
        """A side knows the write it shows: a token is unique, so with all that its side
        knew then. A deck or an absence may be shown by chance (both sides moved a note
        to the same deck): only one its own knowledge does not explain teaches the other
        side's moves to that deck, or deletes, and those alone."""
        for key, events in self.by_key.items():  # first the tokens: they teach others
            seen = shown.get(key)
            if seen is not None:
                for e in events:
                    if e.token is not None and e.token == seen[0].token:
                        self.known[side] |= {e.eid} | e.known
        for key, events in self.by_key.items():
            seen = shown.get(key)
            mine = [e for e in events if e.eid in self.known[side]]
            if seen is None:
                # An absence shows every delete of the note, also one its own delete
                # explains: the other side's resolution that took a delete reached it
                # too (and with it what that resolution knew).
                explained = False
                teach = [e for e in events if e.what == "delete"]
            else:
                places = newest([e for e in mine if e.what in ("create", "move", "resolve")])
                deleted = any(e.what == "delete" for e in newest(mine))  # and yet it is here
                explained = seen[0].deck in {e.deck for e in places} and not deleted
                teach = [e for e in events if e.what == "move" and e.deck == seen[0].deck]
            if not explained:
                self.known[side].update(e.eid for e in teach)

    def fail(self, message: str, key: str | None = None) -> None:
        events = "\n".join(f"  {e}" for e in self.by_key.get(key or "", []))
        raise Lost(
            f"{message}\nevents of {key}:\n{events}\nacknowledged in conflicts: "
            f"{sorted(self.acked)}\nlast commands:\n{self.w.history()}"
        )

    def check_side(self, side: str, shown: dict[str, list[Seen]]) -> None:
        """Every event this side knows is what it shows, or was replaced by one that knew
        it, or was shown in a conflict; nothing twice."""
        for key, seen in shown.items():
            if len(seen) > 1:
                self.fail(f"{side}: note {key} is there {len(seen)} times: {seen}", key)
            if seen[0].token is None:
                self.fail(f"{side}: note {key} has no single token: {seen[0].answer!r}", key)
        for key, all_events in self.by_key.items():
            events = [e for e in all_events if e.eid in self.known[side]]
            if not events:
                continue
            now = shown.get(key)
            front = newest([e for e in events if e.what != "move"])  # values
            decks = newest([e for e in events if e.what != "edit"])  # places
            deletes = [e for e in front + decks if e.what == "delete"]
            if now is None:
                if not deletes:
                    self.fail(f"{side}: note {key} is gone, and nobody deleted it", key)
                # (a move against a delete may go either way: see moved_away)
                lost = [
                    e
                    for e in front + decks
                    if e.what not in ("delete", "move") and e.eid not in self.acked
                ]
                if lost:
                    self.fail(f"{side}: note {key} deleted over {lost[0]} (no conflict)", key)
                continue
            s = now[0]
            movers = []  # moves that kept the note against a delete
            for d in deletes:
                moved = [e for e in events if self.moved_away(e, d)]
                if d.eid not in self.acked and not moved:
                    self.fail(f"{side}: note {key} is back after {d}", key)
                movers += moved if d.eid not in self.acked else []
            # What a delete knew is gone with it; a delete overridden (kept in a conflict,
            # or moved meanwhile) leaves what was concurrent with it, else what it knew.
            values = [e for e in front if e.what != "delete"] or newest(
                [e for e in events if e.what in ("create", "edit", "resolve")]
            )
            if movers:
                # Kept where it moved: the mover's copy, or the last one before the delete
                # (whose own side deleted what it had written).
                values += newest(
                    [
                        self.events[i]
                        for m in movers
                        for i in m.known
                        if self.events[i].key == key and self.events[i].token is not None
                    ]
                )
            if s.token not in {e.token for e in values}:
                self.fail(f"{side}: note {key} shows {s.token}, not the last edit", key)
            for e in values:
                if e.token != s.token and e.eid not in self.acked and not movers:
                    self.fail(f"{side}: note {key} shows {s.token}: {e} lost (no conflict)", key)
            places = [e for e in decks if e.what != "delete"] or newest(
                [e for e in events if e.what in ("create", "move", "resolve")]
            )
            if s.deck not in {e.deck for e in places}:
                self.fail(
                    f"{side}: note {key} is in deck {s.deck} ({s.where}), not moved there", key
                )

    @staticmethod
    def moved_away(move: Event, delete: Event) -> bool:
        """A move concurrent with a delete: the note is kept where it moved (docs/
        conflicts.md), unless the move ended where the note was at the merge base (moved
        there and back is no change). The model does not know the base: either way."""
        return move.what == "move" and concurrent(move, delete)

    def observe(self) -> tuple[dict[str, list[Seen]], dict[str, list[Seen]]]:
        files = self.w.files()
        with self.w.anki() as col:
            unmanaged = World.unmanaged(col)
            notes = self.w.anki_notes(col)
        if unmanaged != self.unmanaged_before:
            self.fail("notes or cards of other note types changed")
        self.learn("md", files)
        self.learn("anki", notes)
        return files, notes

    @invariant()
    def nothing_lost_nothing_twice(self) -> None:
        if self.broken:
            return
        try:
            files, notes = self.observe()
            self.check_side("md", files)
            self.check_side("anki", notes)
            base = self.w.tree_note_ids("refs/remotes/anki/main")
            self.md_deleted = len(base - {s.note_id for v in files.values() for s in v})
            self.anki_deleted = len(base - {s.note_id for v in notes.values() for s in v})
        except BaseException:
            self.broken = True
            raise
        COUNTS["steps checked"] += 1

    # --- the deck files ---

    def md_note(self, i: int) -> tuple[str, Path] | None:
        found = sorted((k, self.w.root / s[0].where) for k, s in self.w.files().items())
        return found[i % len(found)] if found else None

    def edit_block(
        self, path: Path, key: str, change: Callable[[list[list[str]], int], None]
    ) -> None:
        header, notes = read_blocks(path)
        at = next(i for i, b in enumerate(notes) if block_key(b) == key)
        change(notes, at)
        write_blocks(path, header, notes)

    @rule(i=st.integers(0, 99), fmt=st.sampled_from(MD_FORMATS))
    @guarded
    def md_edit(self, i: int, fmt: str) -> None:
        found = self.md_note(i)
        if found is None:
            return
        key, path = found
        token = self.new_token()

        def change(notes: list[list[str]], at: int) -> None:
            block = notes[at]
            a = next(j for j, line in enumerate(block) if line.startswith("A:"))
            value = fmt.format(t=token).split("\n")
            block[a:] = ["A: " + value[0], *value[1:]]

        self.edit_block(path, key, change)
        self.write("md", key, "edit", token=token)

    @rule(i=st.integers(0, 99), fmt=st.sampled_from(MD_FORMATS))
    @guarded
    def md_add(self, i: int, fmt: str) -> None:
        paths = self.w.deck_paths()
        path = paths[i % len(paths)]
        key, token = QUESTION.format(self.next_key), self.new_token()
        self.next_key += 1
        header, notes = read_blocks(path)
        value = fmt.format(t=token).split("\n")
        notes.append([f"Q: {key}", "A: " + value[0], *value[1:]])
        write_blocks(path, header, notes)
        self.write("md", key, "create", token=token, deck=deck_id_of(path))

    @rule(i=st.integers(0, 99), j=st.integers(0, 99))
    @guarded
    def md_move(self, i: int, j: int) -> None:
        found = self.md_note(i)
        if found is None:
            return
        key, path = found
        others = [p for p in self.w.deck_paths() if p != path]
        target = others[j % len(others)]
        header, notes = read_blocks(path)
        block = next(b for b in notes if block_key(b) == key)
        notes.remove(block)
        write_blocks(path, header, notes)
        header, notes = read_blocks(target)
        write_blocks(target, header, [*notes, block])
        self.write("md", key, "move", deck=deck_id_of(target))

    @precondition(lambda self: self.md_deleted < 2)
    @rule(i=st.integers(0, 99))
    @guarded
    def md_delete(self, i: int) -> None:
        found = self.md_note(i)
        if found is None:
            return
        key, path = found

        def change(notes: list[list[str]], at: int) -> None:
            del notes[at]

        self.edit_block(path, key, change)
        self.write("md", key, "delete")

    @rule()
    @guarded
    def commit(self) -> None:
        self.commit_all()

    def commit_all(self) -> None:
        if not self.w.dirty():
            return
        self.w.must("add", "-A")
        done = self.w.git("commit", "-q", "-m", "edits")
        if done.returncode != 0:
            self.fail("a commit of valid edits was refused")
        COUNTS["commits"] += 1
        if "Anki has edits not merged yet" in done.stderr:
            COUNTS["pushes refused: fetch first"] += 1

    # --- Anki ---

    def anki_note(self, col: Collection, i: int) -> Seen | None:
        found = sorted((k, s[0]) for k, s in self.w.anki_notes(col).items())
        return found[i % len(found)][1] if found else None

    @rule(i=st.integers(0, 99), fmt=st.sampled_from(ANKI_FORMATS))
    @guarded
    def anki_edit(self, i: int, fmt: str) -> None:
        with self.w.anki() as col:
            seen = self.anki_note(col, i)
            if seen is None:
                return
            token = self.new_token()
            assert seen.note_id is not None
            set_field(col, seen.note_id, "Answer", fmt.format(t=token))
        self.write("anki", seen.key, "edit", token=token)

    @rule(i=st.integers(0, 99), fmt=st.sampled_from(ANKI_FORMATS))
    @guarded
    def anki_add(self, i: int, fmt: str) -> None:
        deck = self.deck_ids[i % len(self.deck_ids)]
        key, token = QUESTION.format(self.next_key), self.new_token()
        self.next_key += 1
        with self.w.anki() as col:
            name = col.decks.name(deck)  # type: ignore[arg-type]
            add_managed(col, name, "AnkiOpsQA", Question=key, Answer=fmt.format(t=token))
        self.write("anki", key, "create", token=token, deck=deck)

    @rule(i=st.integers(0, 99), j=st.integers(0, 99))
    @guarded
    def anki_move(self, i: int, j: int) -> None:
        with self.w.anki() as col:
            seen = self.anki_note(col, i)
            if seen is None:
                return
            others = [d for d in self.deck_ids if d != seen.deck]
            deck = others[j % len(others)]
            assert seen.note_id is not None
            move_to_deck(col, seen.note_id, col.decks.name(deck))  # type: ignore[arg-type]
        self.write("anki", seen.key, "move", deck=deck)

    @precondition(lambda self: self.anki_deleted < 2)
    @rule(i=st.integers(0, 99))
    @guarded
    def anki_delete(self, i: int) -> None:
        with self.w.anki() as col:
            seen = self.anki_note(col, i)
            if seen is None:
                return
            assert seen.note_id is not None
            col.remove_notes([seen.note_id])  # type: ignore[list-item]
        self.write("anki", seen.key, "delete")

    @rule(i=st.integers(0, 99), parent=st.sampled_from(["", "Gamma::"]))
    @guarded
    def anki_rename_deck(self, i: int, parent: str) -> None:
        deck = self.deck_ids[i % len(self.deck_ids)]
        new = f"{parent}R{self.new_token()[1:]}"
        with self.w.anki() as col:
            rename_deck(col, col.decks.name(deck), new)  # type: ignore[arg-type]
        self.deck_names[deck] = new
        COUNTS["anki rename"] += 1

    # --- syncing ---

    @rule(take=st.sampled_from(["ours", "theirs"]))
    @guarded
    def pull(self, take: str) -> None:
        self.pull_and_resolve(take)

    @rule()
    @guarded
    def push_rule(self) -> None:
        self.push()

    def push(self) -> None:
        done = self.w.git("push", "anki")
        COUNTS["pushes"] += 1
        if done.returncode != 0:
            if "fetch first" not in done.stderr and "non-fast-forward" not in done.stderr:
                self.fail("git push anki failed for an unexpected reason")
            COUNTS["pushes refused: fetch first"] += 1

    @rule(take=st.sampled_from(["ours", "theirs"]))
    @guarded
    def sync_both_ways(self, take: str) -> None:
        self.settle(take)

    def pull_and_resolve(self, take: str) -> bool:
        """`git pull anki`; a conflict is resolved taking one side. True if it merged."""
        merged = self.pull_once(take)
        if merged and any(len(seen) > 1 for seen in self.w.files().values()):
            self.fail("a pull left a note in two files")
        return merged

    def drop_copies(self, take: str, ours: str, theirs: str) -> bool:
        """A note in two files: keep the copy where `take`'s side (commit `ours` or
        `theirs`) has it, remove the other. True if there was one."""
        twice = {k: v for k, v in self.w.files().items() if len(v) > 1}
        side = ours if take == "ours" else theirs
        for key, seen in twice.items():
            keep = next(
                (
                    s
                    for s in seen
                    if f"note_id: {s.note_id} " in self.w.git("show", f"{side}:{s.where}").stdout
                ),
                seen[0],
            )
            for s in seen:
                if s is not keep:
                    path = self.w.root / s.where
                    header, notes = read_blocks(path)
                    gone = [b for b in notes if block_key(b) == key]
                    write_blocks(path, header, [b for b in notes if block_key(b) != key])
                    shown = "\n".join(line for b in gone for line in b)
                    self.acknowledge(shown, shown, {"move"})
        return bool(twice)

    def pull_once(self, take: str) -> bool:
        head = self.w.rev("HEAD")
        done = self.w.git("pull", "anki")
        COUNTS["pulls"] += 1
        if done.returncode == 0:
            return True
        if "would be overwritten" in done.stderr + done.stdout or "local changes" in (
            done.stderr + done.stdout
        ):
            # Uncommitted edits in the way: git refuses and changes nothing.
            if self.w.rev("HEAD") != head:
                self.fail("a refused pull moved HEAD")
            COUNTS["pulls refused: local changes"] += 1
            return False
        if not self.unmerged():
            if "`git commit` finishes the merge" not in done.stderr:
                self.fail("git pull anki failed without a conflict")
            # The pre-merge-commit hook stopped the merge: it carried an edit to a note
            # the other side moved into its new file (the commit holds it), or a note
            # is in two files (moved to two decks on the two sides): one copy is kept.
            self.resolving = set()
            if self.drop_copies(take, "HEAD", "MERGE_HEAD"):
                COUNTS["pulls stopped: a note moved to two decks, one copy kept"] += 1
                self.w.must("add", "-A")
            else:
                COUNTS["pulls finished by git commit (carried edits)"] += 1
            if self.w.git("commit", "-q", "--no-edit").returncode != 0:
                self.fail("the stopped merge could not be committed")
            self.resolved()
            return True
        self.resolving = set()
        for _ in range(3):
            self.resolve(take)
            if self.drop_copies(take, "HEAD", "MERGE_HEAD"):
                COUNTS["conflicts resolved leaving a note in two files"] += 1
                self.w.must("add", "-A")
            done = self.w.git("commit", "-q", "--no-edit")
            if done.returncode == 0:
                COUNTS["conflicts resolved"] += 1
                self.resolved()
                return True
            if not self.unmerged():
                break
        self.fail(f"the resolved merge ({take}) could not be committed")
        return False

    def resolved(self) -> None:
        """The user's resolution is a write of its own: it knows what the conflict showed."""
        files = self.w.files()
        for key in sorted(self.resolving):
            seen = files.get(key)
            if seen is None:
                self.write("md", key, "delete")
            else:
                self.write("md", key, "resolve", token=seen[0].token, deck=seen[0].deck)

    def unmerged(self) -> list[str]:
        out = self.w.git("diff", "--name-only", "--diff-filter=U", "-z").stdout
        return [p for p in out.split("\0") if p]

    def resolve(self, take: str) -> None:
        """Resolve every conflict taking one side, as a user following the messages would.
        Whatever a conflict shows, the user saw (acknowledge)."""
        status = {
            line[3:]: line[:2] for line in self.w.git("status", "--porcelain").stdout.splitlines()
        }
        unmerged = self.unmerged()
        copies: list[tuple[str, list[str]]] = []  # (file, note): an edit to carry there
        marked: set[str] = set()  # files with conflict regions
        for name in unmerged:
            path = self.w.root / name
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            self.w.outputs.append(f"--- {name} in conflict ({status.get(name)}):\n{text}")
            if "<<<<<<<" in text:
                path.write_text(self.resolve_text(text, take, copies), encoding="utf-8")
                marked.add(name)
        for name, block in copies:
            # "edited it; copy the edit to F, then delete it here": copied.
            path = self.w.root / name
            if path.exists() and "<<<<<<<" not in path.read_text(encoding="utf-8"):
                header, notes = read_blocks(path)
                key = block_key(block)
                notes = [b for b in notes if block_key(b) != key] + [block]
                write_blocks(path, header, notes)
                self.w.must("add", name)
        ids_elsewhere = {deck_id_of(p) for p in self.w.deck_paths() if p.name not in unmerged} - {
            None
        }
        for name in unmerged:
            path = self.w.root / name
            if name in marked or (path.exists() and status.get(name) == "UU"):
                if "<<<<<<<" in path.read_text(encoding="utf-8"):
                    self.fail(f"{name}: a conflict region left unresolved")
                self.tidy(path)
                self.w.must("add", name)
                continue
            # A file-level conflict (modify/delete): the user saw the whole file. If its
            # deck now has another file (a rename in Anki that git did not pair), the old
            # one goes; else `take` decides.
            COUNTS[f"file conflicts {status.get(name, '?')}"] += 1
            shown = "".join(self.w.git("show", f":{n}:{name}").stdout for n in (1, 2, 3))
            self.acknowledge(shown, shown, {"delete", "move", "edit", "create"})
            versions = [self.w.git("show", f":{n}:{name}").stdout for n in (2, 3)]
            deck_ids = {int(m) for v in versions for m in re.findall(r"deck_id: (\d+)", v)}
            deleted_by = {"UD": "theirs", "DU": "ours"}.get(status.get(name, ""), "")
            keep = path.exists() and take != deleted_by and not deck_ids & ids_elsewhere
            if keep:
                self.tidy(path)
                self.w.must("add", name)
            else:
                self.w.must("rm", "-q", "--cached", "--ignore-unmatch", name)
                path.unlink(missing_ok=True)

    def resolve_text(self, text: str, take: str, copies: list[tuple[str, list[str]]]) -> str:
        lines = text.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            if not lines[i].startswith("<<<<<<<"):
                out.append(lines[i])
                i += 1
                continue
            start = i
            ours: list[str] = []
            theirs: list[str] = []
            part = ours
            label_ours = lines[i]
            i += 1
            while not lines[i].startswith(">>>>>>>"):
                if lines[i].startswith("|||||||"):
                    part = []  # the base, in diff3 style
                elif lines[i] == "=======":
                    part = theirs
                else:
                    part.append(lines[i])
                i += 1
            label_theirs = lines[i]
            i += 1
            labels = label_ours + " " + label_theirs
            region = "\n".join(lines[start:i])
            # The note the region is in: from the separator before it to the one after.
            before = next(
                (j for j in range(start, -1, -1) if deckfile.SEPARATOR_RE.match(lines[j])), 0
            )
            after = next(
                (j for j in range(i, len(lines)) if deckfile.SEPARATOR_RE.match(lines[j])),
                len(lines),
            )
            kinds = {k for k in ("delete", "move") if k[:4] in labels}
            self.acknowledge(region, "\n".join(lines[before:after]), kinds)
            keys = [set(KEY_RE.findall("\n".join(side))) for side in (ours, theirs)]
            if all(keys) and keys[0] != keys[1]:
                # Not one note edited twice: two new notes the merge took for one (taking
                # a side loses the other). Fixed: see the test of k101/k102 below. (One
                # side empty is an edit against a delete, shown as such.)
                self.fail("two new notes shown as one note in a conflict:\n" + region)
            kept = ours if take == "ours" else theirs
            copy = re.search(r"copy the edit to (.+), then delete it here", labels)
            if copy and kept:
                copies.append((copy.group(1), [line for line in kept if line.strip()]))
                kept = []
            out.extend(kept)
            COUNTS[f"conflict regions resolved ({take})"] += 1
        return "\n".join(out)

    def acknowledge(self, region: str, note: str, kinds: set[str]) -> None:
        """The events a conflict showed the user: those whose tokens are in it, and for a
        delete/edit or move conflict (`kinds`) the deletes or moves of its notes."""
        tokens = set(TOKEN_RE.findall(region))
        keys = set(KEY_RE.findall(note))
        for e in self.events.values():
            if e.token in tokens or (e.key in keys and e.what in kinds):
                self.acked.add(e.eid)
                self.known["md"].update({e.eid} | e.known)
                self.resolving.add(e.key)

    def tidy(self, path: Path) -> None:
        """Drop notes a resolution left empty (a deleted note's separators)."""
        header, notes = read_blocks(path)
        write_blocks(path, header, notes)

    def settle(self, take: str) -> None:
        """Commit, pull and push until both sides hold the same, then check they do."""
        for _ in range(6):
            self.commit_all()
            self.pull_and_resolve(take)
            if self.w.rev("HEAD") != self.w.rev("refs/remotes/anki/main"):
                self.push()  # refused if anki/main moved on: the next round pulls
                continue
            again = self.w.git("pull", "anki")
            if again.returncode == 0 and "Already up to date" in again.stdout:
                break
        else:
            self.fail("six rounds of commit, pull and push did not converge")
        COUNTS["syncs to agreement"] += 1
        if self.w.dirty():
            self.fail("the working tree is not clean after syncing")
        if "Everything up-to-date" not in self.w.git("push", "anki").stderr:
            self.fail("a push right after agreeing still had something to send")
        files, notes = self.observe()
        self.check_side("md", files)
        self.check_side("anki", notes)
        self.check_agree(files, notes)

    def check_agree(self, files: dict[str, list[Seen]], notes: dict[str, list[Seen]]) -> None:
        if files.keys() != notes.keys():
            self.fail(
                f"after syncing, only in the files: {sorted(files.keys() - notes.keys())}, "
                f"only in Anki: {sorted(notes.keys() - files.keys())}"
            )
        for key in files:
            f, a = files[key][0], notes[key][0]
            if (f.token, f.deck, f.note_id) != (a.token, a.deck, a.note_id):
                self.fail(f"after syncing, the sides differ on {key}: {f} / {a}", key)
            if not export.html_same(export.render(f.answer), a.answer):
                self.fail(f"after syncing, {key}'s answer differs: {f.answer!r} / {a.answer!r}")
        with self.w.anki() as col:
            names = {int(d.id): d.name for d in col.decks.all_names_and_ids()}
        for deck, name in self.deck_names.items():
            if names.get(deck) != name:
                self.fail(f"deck {deck} is {names.get(deck)!r} in Anki, renamed to {name!r}")
        for path in self.w.deck_paths():
            deck_id = deck_id_of(path)
            if deck_id is None or names.get(deck_id) is None:
                self.fail(f"{path.name} names no deck of Anki")
            elif deckfile.deck_name_for_path(path.name) != names[deck_id]:
                self.fail(f"{path.name} holds deck {names[deck_id]!r}")

    def teardown(self) -> None:
        try:
            if not self.broken:
                self.settle("theirs")
        finally:
            shutil.rmtree(self.w.base, ignore_errors=True)


CI_SEED = int(os.environ.get("ANKIOPS_CI_SEED", 9))
SHARDS = 4 if SOAK else 1  # the soak runs them on as many workers as it is given (-n)


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_edit_is_lost_whatever_both_sides_do(template: Path, tmp_path: Path, shard: int) -> None:
    SyncMachine.template = template
    SyncMachine.workdir = tmp_path
    run = get_state_machine_test(
        SyncMachine,
        settings=settings(
            max_examples=-(-SEQUENCES // SHARDS),
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
            # ANKIOPS_SOAK_SHRINK=0: report a failure as found, without minimising it.
            phases=[p for p in Phase if p is not Phase.shrink or SHRINK],
        ),
    )
    if not SOAK:  # the CI size: the same sequences every run, a mix that meets conflicts
        run = hypothesis_seed(CI_SEED)(run)
    run()


# --- 2. kill points ---------------------------------------------------------------------


class Killed(BaseException):
    """The process dies here: a BaseException, so no `except Exception` handles it."""


class KillingBackend:
    """`Backend` over another one that dies at its `kill_at`-th call (close is not
    counted): before making it, or (`after`) once it returned."""

    def __init__(self, inner: Backend, kill_at: int | None, after: bool = False) -> None:
        self.inner = inner
        self.kill_at = kill_at
        self.after = after
        self.calls: list[str] = []
        self.renames_in_place = inner.renames_in_place
        self.note_types = inner.note_types

    def _call(self, name: str, *args: Any, **options: Any) -> Any:
        self.calls.append(name)
        here = len(self.calls) == self.kill_at
        if here and not self.after:
            raise Killed(f"before call {self.kill_at} ({name})")
        result = getattr(self.inner, name)(*args, **options)
        if here:
            raise Killed(f"after call {self.kill_at} ({name})")
        return result

    def profile(self) -> str:
        return str(self._call("profile"))

    def ensure_note_types(
        self, allow_field_changes: bool = False, *, dry_run: bool = False, pushed: Any = None
    ) -> list[str]:
        if dry_run:
            return list(self.inner.ensure_note_types(allow_field_changes, dry_run=True))
        return list(self._call("ensure_note_types", allow_field_changes, pushed=pushed))

    def read_note_type(self, name: str) -> Any:
        return self._call("read_note_type", name)

    def decks(self) -> dict[str, int]:
        return dict(self._call("decks"))

    def create_deck(self, name: str) -> int:
        return int(self._call("create_deck", name))

    def rename_deck(self, deck_id: int, new_name: str) -> int:
        return int(self._call("rename_deck", deck_id, new_name))

    def deck_holds_only(self, deck_id: int, note_ids: Any) -> bool:
        return bool(self._call("deck_holds_only", deck_id, note_ids))

    def mod_times(self, note_ids: Any = None) -> dict[int, int]:
        return dict(self._call("mod_times", note_ids))

    def note_decks(self, note_ids: Any = None) -> dict[int, str]:
        return dict(self._call("note_decks", note_ids))

    def deck_note_ids(self, deck_ids: Any) -> set[int]:
        return set(self._call("deck_note_ids", deck_ids))

    def read_notes(self, note_ids: Any = None) -> list[AnkiNote]:
        return list(self._call("read_notes", note_ids))

    def add_notes(self, notes: Any) -> list[int]:
        return list(self._call("add_notes", notes))

    def update_notes(self, updates: list[NoteUpdate]) -> None:
        self._call("update_notes", updates)

    def move_notes(self, note_ids: Any, deck: str) -> None:
        self._call("move_notes", note_ids, deck)

    def delete_notes(self, note_ids: Any) -> None:
        self._call("delete_notes", note_ids)

    def store_media(self, filename: str, data: bytes) -> str:
        return str(self._call("store_media", filename, data))

    def trash_media(self, filename: str) -> None:
        self._call("trash_media", filename)

    def read_media(self, filename: str) -> bytes | None:
        found = self._call("read_media", filename)
        return None if found is None else bytes(found)

    def sync(self) -> None:
        self._call("sync")

    def close(self) -> None:
        self.inner.close()


@contextmanager
def killing(kill_at: int | None, after: bool = False) -> Iterator[list[KillingBackend]]:
    """Every backend the library opens meanwhile is a KillingBackend (listed)."""
    opened: list[KillingBackend] = []
    real = ankiops_git.anki.open_backend

    def open_backend(spec: str, **options: Any) -> Backend:
        proxy = KillingBackend(real(spec, **options), kill_at, after)
        opened.append(proxy)
        return proxy  # type: ignore[return-value]

    ankiops_git.anki.open_backend = open_backend  # type: ignore[assignment]
    try:
        yield opened
    finally:
        ankiops_git.anki.open_backend = real


Expected = dict[str, tuple[str, str]]  # key -> (token, deck name)

SEED: Expected = {}
_n = 0
for _deck, _count in DECKS.items():
    for _ in range(_count):
        SEED[QUESTION.format(_n)] = (f"v{_n:04d}", _deck)
        _n += 1


class Scenario:
    """Changes on one side of a World, and what both sides must hold once synced."""

    def __init__(self, w: World, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        self.expected: Expected = dict(SEED)
        self.next = 900

    def token(self) -> str:
        self.next += 1
        return f"v{self.next:04d}"

    def key(self) -> str:
        self.next += 1
        return QUESTION.format(self.next % 1000)

    # --- in the deck files (a push) ---

    def path(self, deck: str) -> Path:
        return self.w.root / deckfile.filename_for_deck(deck)

    def md_edit(self, key: str) -> None:
        token = self.token()
        path = self.path(self.expected[key][1])
        header, notes = read_blocks(path)
        block = next(b for b in notes if block_key(b) == key)
        a = next(j for j, line in enumerate(block) if line.startswith("A:"))
        value = self.rng.choice(MD_FORMATS).format(t=token).split("\n")
        block[a:] = ["A: " + value[0], *value[1:]]
        write_blocks(path, header, notes)
        self.expected[key] = (token, self.expected[key][1])

    def md_add(self, deck: str) -> None:
        key, token = self.key(), self.token()
        path = self.path(deck)
        header, notes = read_blocks(path) if path.exists() else ([], [])
        notes.append([f"Q: {key}", f"A: {token}"])
        write_blocks(path, header, notes)
        self.expected[key] = (token, deck)

    def md_move(self, key: str, deck: str) -> None:
        source, target = self.path(self.expected[key][1]), self.path(deck)
        header, notes = read_blocks(source)
        block = next(b for b in notes if block_key(b) == key)
        notes.remove(block)
        write_blocks(source, header, notes)
        header, notes = read_blocks(target) if target.exists() else ([], [])
        write_blocks(target, header, [*notes, block])
        self.expected[key] = (self.expected[key][0], deck)

    def md_delete(self, key: str) -> None:
        path = self.path(self.expected[key][1])
        header, notes = read_blocks(path)
        write_blocks(path, header, [b for b in notes if block_key(b) != key])
        del self.expected[key]

    def md_rename(self, deck: str, new: str) -> None:
        self.w.must("mv", self.path(deck).name, self.path(new).name)
        self.expected = {k: (t, new if d == deck else d) for k, (t, d) in self.expected.items()}

    def commit(self) -> None:
        """Committed with the hooks off: the push is the run under test."""
        self.w.must("add", "-A")
        done = self.w.run(
            "git", "commit", "-q", "-m", "change", env=dict(self.w.env, **{sync.GUARD_ENV: "1"})
        )
        assert done.returncode == 0, self.w.history()

    # --- in Anki (a fetch) ---

    def anki_id(self, col: Collection, key: str) -> int:
        (seen,) = self.w.anki_notes(col)[key]
        assert seen.note_id is not None
        return seen.note_id

    def anki_edit(self, col: Collection, key: str) -> None:
        token = self.token()
        value = self.rng.choice(ANKI_FORMATS).format(t=token)
        set_field(col, self.anki_id(col, key), "Answer", value)
        self.expected[key] = (token, self.expected[key][1])

    def anki_add(self, col: Collection, deck: str) -> None:
        key, token = self.key(), self.token()
        add_managed(col, deck, "AnkiOpsQA", Question=key, Answer=token)
        self.expected[key] = (token, deck)

    def anki_move(self, col: Collection, key: str, deck: str) -> None:
        col.decks.id(deck, create=True)
        move_to_deck(col, self.anki_id(col, key), deck)
        self.expected[key] = (self.expected[key][0], deck)

    def anki_delete(self, col: Collection, key: str) -> None:
        col.remove_notes([self.anki_id(col, key)])  # type: ignore[list-item]
        del self.expected[key]

    def anki_rename(self, col: Collection, deck: str, new: str) -> None:
        rename_deck(col, deck, new)
        self.expected = {k: (t, new if d == deck else d) for k, (t, d) in self.expected.items()}


def push_change(s: Scenario, varied: bool) -> None:
    """A commit that adds, updates, moves and deletes notes, makes a deck and renames one.
    `varied`: which notes and decks (and how many) drawn from the scenario's random."""
    rng = s.rng
    keys = sorted(s.expected)
    pick = rng.sample if varied else (lambda seq, n: list(seq)[:n])
    if not varied:
        s.md_edit("k001?")
        s.md_add("Alpha")
        s.md_move("k002?", "Beta")
        s.md_delete("k005?")
        s.md_edit("k004?")
        s.md_add("Delta")  # a new deck file: a new deck
        s.md_edit("k006?")
        s.md_rename("Gamma::Sub", "Epsilon")
        s.commit()
        return
    for key in pick(keys, rng.randint(1, 3)):
        s.md_edit(key)
    for _ in range(rng.randint(1, 3)):
        s.md_add(rng.choice([*DECKS, "Delta"]))
    for key in pick(sorted(s.expected), rng.randint(1, 2)):
        decks = sorted({d for _, d in s.expected.values()} - {s.expected[key][1]})
        s.md_move(key, rng.choice(decks))
    for key in pick(sorted(s.expected), rng.randint(0, 2)):
        s.md_delete(key)
    live = sorted({d for _, d in s.expected.values()} & set(DECKS))
    if live and rng.random() < 0.8:
        s.md_rename(rng.choice(live), "Renamed" + str(rng.randint(0, 99)))
    s.commit()


def fetch_change(s: Scenario, varied: bool) -> None:
    """Changes made in Anki: edits, adds (one to a new deck), a move, a delete, a rename."""
    rng = s.rng
    with s.w.anki() as col:
        if not varied:
            s.anki_edit(col, "k000?")
            s.anki_edit(col, "k003?")
            s.anki_add(col, "Alpha")
            s.anki_add(col, "Zeta")  # a new deck
            s.anki_move(col, "k001?", "Beta")
            s.anki_delete(col, "k007?")
            s.anki_rename(col, "Beta", "Theta")
            return
        for key in rng.sample(sorted(s.expected), rng.randint(1, 3)):
            s.anki_edit(col, key)
        for _ in range(rng.randint(1, 3)):
            s.anki_add(col, rng.choice([*DECKS, "Zeta"]))
        for key in rng.sample(sorted(s.expected), rng.randint(1, 2)):
            decks = sorted({d for _, d in s.expected.values()} - {s.expected[key][1]})
            s.anki_move(col, key, rng.choice(decks))
        for key in rng.sample(sorted(s.expected), rng.randint(0, 2)):
            s.anki_delete(col, key)
        if rng.random() < 0.8:
            deck = rng.choice(sorted({d for _, d in s.expected.values()}))
            s.anki_rename(col, deck, "Renamed" + str(rng.randint(0, 99)))


def check_converged(w: World, expected: Expected, unmanaged: list[tuple[Any, ...]]) -> None:
    """Both sides hold exactly `expected`, each note once, with the same ids; a pull
    then finds nothing and the tree is clean."""
    again = w.git("pull", "anki")
    assert again.returncode == 0 and "Already up to date" in again.stdout, w.history()
    assert w.rev("HEAD") == w.rev("refs/remotes/anki/main"), w.history()
    assert not w.dirty(), w.history()
    files = w.files()
    with w.anki() as col:
        notes = w.anki_notes(col)
        names = {int(d.id): d.name for d in col.decks.all_names_and_ids()}
        assert World.unmanaged(col) == unmanaged
    for side, shown in (("files", files), ("Anki", notes)):
        twice = {k: v for k, v in shown.items() if len(v) > 1}
        assert not twice, f"{side}: notes twice: {twice}\n{w.history()}"
    in_files = {k: (s.token, deckfile.deck_name_for_path(s.where)) for k, (s, *_) in files.items()}
    in_anki = {k: (s.token, s.where) for k, (s, *_) in notes.items()}
    assert in_anki == expected, f"Anki: {in_anki}\nexpected {expected}\n{w.history()}"
    assert in_files == expected, f"files: {in_files}\nexpected {expected}\n{w.history()}"
    for key, (s, *_) in files.items():
        a = notes[key][0]
        assert (s.note_id, s.deck) == (a.note_id, a.deck), f"{key}: {s} / {a}"
        assert names[a.deck or 0] == deckfile.deck_name_for_path(s.where)


def run_killed(w: World, operation: str, kill_at: int, after: bool) -> list[str] | None:
    """The operation with its backend dying at call `kill_at`: the calls it made, or
    None if it finished first."""
    repo = gitstore.open_repo(w.root)
    with killing(kill_at, after) as opened:
        try:
            if operation == "push":
                sync.push_head(repo)  # what the post-commit hook runs
            else:  # what git-remote-anki runs for `git pull anki`
                with sync.open_anki(str(w.col_path), sync.load_config(repo)) as backend:
                    sync.fetch(repo, backend, sync.load_config(repo), update_ref=False)
        except Killed:
            return [call for proxy in opened for call in proxy.calls]
    return None


def rerun(w: World, operation: str, how: str) -> None:
    """Run the operation again, as a user would after the crash."""
    if operation == "push":
        if how == "library":
            sync.push_head(gitstore.open_repo(w.root))
        elif how == "ankiops-git push":
            done = w.run(str(VENV_BIN / "ankiops-git"), "push")
            assert done.returncode == 0, w.history()
        else:
            done = w.git("push", "anki")
            assert done.returncode == 0, w.history()
    done = w.git("pull", "anki")
    assert done.returncode == 0, w.history()


def kill_everywhere(
    template: Path, workdir: Path, operation: str, seed: int | None, modes: list[tuple[bool, str]]
) -> int:
    """Kill `operation` at each backend call in turn (for each (after, how) in `modes`),
    re-run it, check convergence. Returns the number of kill points."""
    prepared = workdir / f"{operation}-{seed}"
    w = World(template, prepared)
    s = Scenario(w, random.Random(seed))
    (push_change if operation == "push" else fetch_change)(s, seed is not None)
    with w.anki() as col:
        unmanaged = World.unmanaged(col)
    points = 0
    for after, how in modes:
        for kill_at in range(1, 1000):
            here = World(prepared, workdir / f"{operation}-{seed}-{after}-{kill_at}")
            calls = run_killed(here, operation, kill_at, after)
            if calls is None:  # done before reaching call kill_at: every point is covered
                rerun(here, operation, how)  # and run as a whole, it converges too
                check_converged(here, s.expected, unmanaged)
                break
            points += 1
            try:
                rerun(here, operation, how)
                check_converged(here, s.expected, unmanaged)
            except AssertionError as e:
                where = "after" if after else "before"
                raise AssertionError(
                    f"{operation} (scenario {seed}) killed {where} call {kill_at} "
                    f"({calls[-1]}; calls {calls}), re-run by {how}: {e}"
                ) from e
            shutil.rmtree(here.base, ignore_errors=True)
    COUNTS[f"kill points ({operation})"] += points
    return points


# CI: the fixed scenarios, killed before each call, re-run through the library (fast)
# and once through git. Soak: also after each call, re-run as a user would, and
# KILL_SCENARIOS drawn at random.
KILL_MODES = (
    [(False, "library"), (True, "git push anki"), (False, "ankiops-git push")]
    if SOAK
    else [(False, "library")]
)


@pytest.mark.parametrize("operation", ["push", "fetch"])
def test_a_push_or_fetch_killed_at_any_backend_call_converges_when_run_again(
    template: Path, tmp_path: Path, operation: str
) -> None:
    modes = (
        KILL_MODES if operation == "push" else [(False, "git"), (True, "git")][: 2 if SOAK else 1]
    )
    points = kill_everywhere(template, tmp_path, operation, None, modes)
    assert points >= (10 if operation == "push" else 3)
    for seed in range(KILL_SCENARIOS):
        kill_everywhere(template, tmp_path, operation, seed, modes[:2])


# --- 3. fuzzed deck files -----------------------------------------------------------------

VALID_FILES = [
    "<!-- deck_id: 1700000000000 -->\n\n<!-- note_id: 1700000000001 -->\n"
    "<!-- tags: spanish verbs::irregular -->\nQ: What is *ser*?\nA: To be (permanent).\n"
    "E: Compare *estar*.\n\n---\n\nT: The capital of France is {{c1::Paris}}.\n",
    "Q: What is the capital of Peru?\nA: Lima\nE: Founded in 1535.\nM: See also: Cusco.\n\n"
    "---\n\nF: el perro\nB: the dog\n\n---\n\nT: {{c1::Lima}} is in {{c2::Peru}}.\n\n---\n\n"
    "Q: 12 × 12 = ?\nI: 144\n\n---\n\nQ: Which are prime?\nC1: 2\nC2: 4\nC3: 7\nA: 1, 3\n",
    'Q: What does this print?\n~~~~python\nprint("---")\nA: not a field, still code\n~~~~\n'
    "A: `---`\n\n---\n\nQ:\n```python\nprint('hello')\n```\nA: It prints `hello`.\n",
    "<!-- deck_id: 12 -->\n\n<!-- note_id: 13 -->\nQ: A question over\ntwo lines, with a list:"
    "\n\n- one\n- two\nA: The answer.\n\n---\n\n<!-- note_id: 14 -->\nQ: list code\nA:\n- ```"
    "\n  pip install x\n  ```\n",
    "<!-- deck_id: 1 -->\r\n\r\nQ: crlf\r\nA: line one  \r\nline two\r\n\r\n---\r\n\r\n"
    "Q: | a | b |\nA: | - | - |\n",
    "<!-- deck_id: 5 -->\n\n<!-- note_id: 6 -->\nQ:\n",
    "",
    "<!-- deck_id: 99 -->\n",
    "\ufeffQ: bom\nA: yes <b>html</b> &amp; entities \\\nescaped Q\\: text\n",
]

# Lines and bytes hostile input is made of.
NOISE_LINES = [
    "---",
    "--- ",
    "***",
    "- ```",
    "```",
    "````",
    "~~~",
    "   ```js",
    "    ```",
    "Q:",
    "Q: ",
    "A:",
    "A:\t",
    "C1: x",
    "C8: x",
    "X: y",
    "Q:text",
    "T: {{c1::",
    "I: ",
    "<!-- note_id: 1700000000009 -->",
    "<!-- note_id: -5 -->",
    "<!-- note_id: x -->",
    "<!-- note_id: 99999999999999999999999999 -->",
    "<!-- deck_id: 3 -->",
    "<!-- tags: a a -->",
    "<!-- tags: -->",
    "<!-- ",
    "-->",
    "<!-- deck_id: 1700000000000",
    "<<<<<<< ours",
    "=======",
    ">>>>>>> theirs",
    "||||||| base",
    "<<<<<<<",
    ">>>>>>>",
    "<div>",
    "</div>",
    "<script>x",
    "\t- nested",
    "1. ```",
    "| a |",
    "",
    " ",
    "\\---",
    "Q\\: escaped",
]
NOISE_CHARS = [
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
    "\u202e",
    "\ud7ff",
    "e\u0301",
    "😀",
    "\r",
    "\t",
]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]


def mutate(rng: random.Random, text: str) -> bytes:
    """A valid file after one to five random damages."""
    lines = text.split("\n")
    raw: bytes | None = None
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(lines) + 1)
        kind = rng.randrange(12)
        if kind == 0 and lines:
            del lines[min(at, len(lines) - 1)]
        elif kind == 1 and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif kind == 2 and len(lines) > 1:
            i, j = rng.sample(range(len(lines)), 2)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind in (3, 4):
            lines.insert(at, rng.choice(NOISE_LINES))
        elif kind == 5 and lines:
            i = min(at, len(lines) - 1)
            lines[i] = rng.choice(NOISE_LINES + ["Q: ", "A: ", "  ", "> "]) + lines[i]
        elif kind == 6 and lines:
            i = min(at, len(lines) - 1)
            cut = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:cut] + rng.choice(NOISE_CHARS) + lines[i][cut:]
        elif kind == 7:
            joined = "\n".join(lines)
            joined = joined.replace("\n", rng.choice(["\r\n", "\r", "\n\n"]))
            lines = joined.split("\n")
        elif kind == 8:
            lines.insert(at, "<<<<<<< ours")
            lines.insert(min(at + rng.randint(1, 3), len(lines)), "=======")
            if rng.random() < 0.8:
                lines.insert(min(at + rng.randint(2, 5), len(lines)), ">>>>>>> theirs")
        elif kind == 9 and lines:
            i = min(at, len(lines) - 1)
            lines[i] = lines[i][: rng.randint(0, len(lines[i]))]
        elif kind == 10:
            lines.insert(at, rng.choice(["x" * rng.randint(200, 5000), "`" * 40, "-" * 3 + "-"]))
        else:
            raw = raw or b""
            raw += rng.choice(BAD_BYTES)
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if raw is not None:
        cut = rng.randint(0, len(data))
        data = data[:cut] + raw + data[cut:]
    if rng.random() < 0.2:
        data = data[: rng.randint(0, len(data))]  # cut off, maybe inside a character
    return data


# What a message must not hold raw: control characters (but tab and newline), line and
# paragraph separators, bidirectional controls.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def check_position(what: str, line: int, col: int, lines: list[str]) -> None:
    assert 1 <= line <= len(lines) + 1, f"{what}: line {line} of {len(lines)}"
    text = lines[line - 1] if line <= len(lines) else ""
    assert 1 <= col <= len(text) + 1, f"{what}: column {col} of a line of {len(text)}"


def check_fuzzed(data: bytes, path: str) -> str:
    """Parse and validate one file's bytes: only our errors, each at a real place, each
    message one printable line; a file that validates writes back to the same notes."""
    text = validate.decode(data, path)
    if isinstance(text, validate.Diagnostic):
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        check_position(str(text), text.line, text.col, [b.decode("latin-1") for b in lines])
        assert not CONTROL.search(str(text))
        return "not UTF-8"
    lines = deckfile.split_lines(text)
    try:
        deck = deckfile.parse(text, path)
    except errors.DeckFileError as e:
        check_position(str(e), e.line, e.col, lines)
        deck = None
    found = validate.check_text(text, path)
    for d in found:
        check_position(str(d), d.line, d.col, lines)
        assert d.path == path and d.severity in ("error", "warning")
        assert not CONTROL.search(str(d)) and "\n" not in str(d), repr(str(d))
    if deck is None:
        assert validate.has_errors(found), "the parser refuses a file the validator passes"
        return "refused"
    if validate.has_errors(found):
        return "errors"
    # Valid: what it says survives being written canonically (export, merges do it).
    again = deckfile.parse(deckfile.write(deck), path)
    assert again.deck_id == deck.deck_id
    assert [(n.note_type, n.note_id, n.tags) for n in again.notes] == [
        (n.note_type, n.note_id, n.tags) for n in deck.notes
    ]
    for old, new in zip(deck.notes, again.notes, strict=True):
        assert {k: deckfile.normalize_field(v) for k, v in old.fields.items() if v.strip()} == {
            k: v for k, v in new.fields.items() if v.strip()
        }, f"{old} written and read back is {new}"
    return "valid" if not found else "warnings"


def fuzz_cases(count: int, seed: int) -> Iterator[tuple[int, bytes]]:
    rng = random.Random(seed)
    for i in range(count):
        yield i, mutate(rng, rng.choice(VALID_FILES))


FUZZ_SEED = int(os.environ.get("ANKIOPS_FUZZ_SEED", time.time_ns() % 10**6 if SOAK else 0))


def test_fuzzed_deck_files_get_clear_errors_and_never_a_traceback() -> None:
    kinds: Counter[str] = Counter()
    for i, data in fuzz_cases(FUZZ_FILES, FUZZ_SEED):
        try:
            kinds[check_fuzzed(data, f"case{i}.md")] += 1
        except AssertionError as e:
            raise AssertionError(f"fuzz seed {FUZZ_SEED}, case {i}: {data!r}: {e}") from e
    COUNTS["fuzzed files"] += FUZZ_FILES
    for kind, n in kinds.items():
        COUNTS[f"fuzzed files: {kind}"] += n
    assert kinds["refused"] + kinds["errors"] + kinds["not UTF-8"] > FUZZ_FILES // 4


DIAGNOSTIC_RE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (error|warning): \S")


def test_ankiops_git_validate_on_fuzzed_files_names_file_line_and_column(tmp_path: Path) -> None:
    batches = 10 if SOAK else 1
    cases = list(fuzz_cases(40 * batches, FUZZ_SEED + 1))
    (tmp_path / "ankiops.toml").write_text("")
    for b in range(batches):
        names = []
        for i, data in cases[b * 40 : (b + 1) * 40]:
            (tmp_path / f"case{i}.md").write_bytes(data)
            names.append(f"case{i}.md")
        done = subprocess.run(
            [str(VENV_BIN / "ankiops-git"), "validate", *names],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            errors="strict",
            check=False,
        )
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
        assert not done.stderr.strip() or done.stderr.startswith("ankiops-git: "), done.stderr
        for line in done.stdout.splitlines():
            m = DIAGNOSTIC_RE.match(line)
            assert m, f"not FILE:LINE:COL: {line!r}"
            assert not CONTROL.search(line), repr(line)
            data = (tmp_path / m["path"]).read_bytes()
            count = len(deckfile.split_lines(data.decode("utf-8", "replace")))
            assert 1 <= int(m["line"]) <= count + 1, line
        COUNTS["fuzzed files through ankiops-git validate"] += len(names)


# --- what the suite found ------------------------------------------------------------------


def test_new_ids_come_back_when_the_index_has_stale_file_times(
    template: Path, tmp_path: Path
) -> None:
    """Found by the kill points (a copied repository): the fast-forward that writes the
    new ids back refused, `Entry 'Alpha.md' not uptodate. Cannot merge.`, after the push
    had gone through, when the index held other file times than the files (a copy, a
    restore from backup, an editor saving a file unchanged) and no git command had
    refreshed it; `git merge --ff-only`, which it replaces, refreshes first."""
    w = World(template, tmp_path / "w")
    s = Scenario(w, random.Random(0))
    s.md_add("Alpha")
    s.commit()
    for path in w.deck_paths():
        os.utime(path, (1_000_000_000, 1_000_000_000))  # content as committed, times not
    done = w.run(str(VENV_BIN / "ankiops-git"), "push")
    assert done.returncode == 0, w.history()
    assert re.search(r"<!-- note_id: \d+ -->\nQ: k901\?", (w.root / "Alpha.md").read_text())
    assert w.rev("HEAD") == w.rev("refs/remotes/anki/main") and not w.dirty()


def test_a_diagnostic_quoting_a_line_separator_or_a_bidi_control_stays_one_line(
    tmp_path: Path,
) -> None:
    """Found by the fuzzed files through `ankiops-git validate`: a U+2028 quoted from the
    file split a diagnostic in two for a line-based reader (Python, JavaScript), and a
    U+202E showed the rest of it reversed; they are escaped like control characters."""
    (tmp_path / "ankiops.toml").write_text("")
    text = "Q: a\nA: b\n\n---\n\nfoo\u2028bar \u202eevil\n"
    (tmp_path / "Deck.md").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(VENV_BIN / "ankiops-git"), "validate", "Deck.md"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    assert line.startswith("Deck.md:6:1: error: ") and "foo\\u2028bar \\u202eevil" in line
    assert not CONTROL.search(line)


def test_a_note_moved_to_two_decks_on_the_two_sides_stops_the_pull_until_one_copy_is_kept(
    template: Path, tmp_path: Path
) -> None:
    """Found by the stateful test. In the files, move k003 from Beta.md to Alpha.md and
    commit (not pushed: hooks off); in Anki, move k003 to Gamma::Sub. git takes each
    file from the side that changed it, so the merge holds k003 in Alpha.md and in
    Gamma__Sub.md: it was committed so, and only the post-merge hook's push refused it.
    Now the pre-merge-commit hook stops the merge, uncommitted, naming both places; the
    user keeps one copy and `git commit` finishes the merge."""
    w = World(template, tmp_path / "w")
    s = Scenario(w, random.Random(0))
    s.md_move("k003?", "Alpha")
    s.commit()
    head = w.rev("HEAD")
    with w.anki() as col:
        s.anki_move(col, "k003?", "Gamma::Sub")
    done = w.git("pull", "anki")
    assert done.returncode != 0 and w.rev("HEAD") == head, w.history()
    assert "is also in Alpha.md" in done.stderr and "merge not committed" in done.stderr
    assert "`git commit` finishes the merge" in done.stderr, done.stderr
    assert sorted(seen.where for seen in w.files()["k003?"]) == ["Alpha.md", "Gamma__Sub.md"]
    header, notes = read_blocks(w.root / "Alpha.md")  # as told: keep one copy
    write_blocks(w.root / "Alpha.md", header, [b for b in notes if block_key(b) != "k003?"])
    w.must("add", "-A")
    w.must("commit", "-q", "--no-edit")
    assert w.rev("HEAD^1") == head and w.git("rev-parse", "-q", "--verify", "HEAD^2").stdout
    assert [seen.where for seen in w.files()["k003?"]] == ["Gamma__Sub.md"]


def test_two_different_new_notes_with_the_same_answer_are_both_kept(
    template: Path, tmp_path: Path
) -> None:
    """Found by the stateful test (in the soak of ba6a934). Reproduction: in Anki,
    add `Q: k101? A: the same answer` to Beta; in Beta.md, add `Q: k102? A: the same
    answer` and commit (the hook's push is refused: Anki has changes there); `git pull
    anki` stopped with `CONFLICT Beta.md: note <k101's id>: Question changed differently
    on both sides`, and taking either side lost the other note. Now both are kept, and
    the merge says they are alike."""
    w = World(template, tmp_path / "w")
    with w.anki() as col:
        add_managed(col, "Beta", "AnkiOpsQA", Question="k101?", Answer="the same answer")
    path = w.root / "Beta.md"
    path.write_text(path.read_text() + "\n---\n\nQ: k102?\nA: the same answer\n")
    w.must("add", "-A")
    w.must("commit", "-q", "-m", "k102")
    done = w.git("pull", "anki")
    assert done.returncode == 0 and "CONFLICT" not in done.stdout, w.history()
    files = w.files()
    assert len(files["k101?"]) == 1 and len(files["k102?"]) == 1
    assert "is much like a new note without an id on the other; both are kept" in done.stderr
