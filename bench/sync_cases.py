"""Sync benchmarks: the real git commands over generated collections, per backend.

For each size N (notes, across N / 50 decks; see bench/corpus.py) and each backend
("collection": the collection file; "connect": the loopback AnkiConnect server of
tests/ over the collection file; "real": Anki desktop with the real AnkiConnect
add-on, headless, see bench/real_anki.py), it times:

- first_fetch: `git fetch anki` in an empty repository (everything is exported);
- noop_pull:   `git pull anki` with nothing new in Anki;
- commit_one:  `git commit -am` editing one note, pre-commit and post-commit hooks
               included (the hook pushes the edit to Anki);
- pull_1:      `git pull anki` after 1 note was edited in Anki;
- pull_100:    `git pull anki` after 100 notes were edited in Anki;
- first_push:  `git commit` of N new notes in N / 50 new deck files into a repository
               wired to an empty Anki: the post-commit hook pushes them all in one run
               (in batches of push.ADD_BATCH), then brings their note ids back;
- merge_deck:  `git merge` running the merge driver on a 1,000-note deck with 50 edits
               a side (no Anki access: measured once, see bench/merge_deck.py).

Every command runs as a child process (git, then git-remote-anki or the hooks under
it); its wall time is taken around it and its peak memory from os.wait4's rusage
(the largest resident set among it and the children it waited for). Each case
reports the median wall time of its runs, the peak memory, and the floor: the time
the backend itself needs to hand over the same data, measured in this process
(collection opened + the read/write the case needs), so the ratio is our overhead.

The loopback server runs in this process, real Anki in its own: their memory is
Anki's, not ours, and is not in the figures. The floors of the first push are the
backend's own adding of the same notes in the same batches: `add_notes` on the
collection file, and over AnkiConnect `addNotes` requests sent directly (one `multi`
of `createDeck` first), without our client. Collections and initialised repositories
are cached under bench/out/ keyed by N.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pygit2

from ankiops_git import init
from bench import corpus, merge_deck

BACKENDS = ("collection", "connect", "real")

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:sync-table:begin (written by `make bench`; edits here are replaced) -->"
END = "<!-- bench:sync-table:end -->"

CASES = {
    "first_fetch": "first `git fetch anki`, empty repository",
    "noop_pull": "`git pull anki`, nothing new",
    "commit_one": "`git commit` editing one note (hooks included)",
    "pull_1": "`git pull anki` after 1 note edited in Anki",
    "pull_100": "`git pull anki` after 100 notes edited in Anki",
    "first_push": "first push: `git commit` of N new notes (hooks included)",
    "merge_deck": "`git merge` with the merge driver, 1,000-note deck",
}
FLOORS = {
    "first_fetch": "open + read all notes",
    "noop_pull": "open + mod times",
    "commit_one": "open + read 1 note + update it",
    "pull_1": "open + mod times + read 1 note",
    "pull_100": "open + mod times + read 100 notes",
    "first_push": "the backend's own add of the same notes, same batches",
    "merge_deck": "`git merge` with git's own text merge",
}
EDITED_IN_ANKI = 100


@dataclass
class Row:
    case: str
    notes: int
    decks: int
    backend: str
    runs: int = 0
    wall: list[float] = field(default_factory=list)
    peak_kb: int = 0
    floor: list[float] = field(default_factory=list)
    problem: str = ""  # set when a run did not do what the case expects

    @property
    def median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def floor_median(self) -> float:
        return statistics.median(self.floor) if self.floor else float("nan")


@dataclass
class Options:
    sizes: list[int]
    backends: list[str]
    runs: int
    max_case_seconds: float  # stop repeating a case once its runs took this long
    docs: Path | None
    json: Path | None = None  # rows so far are saved here after each case
    cases: list[str] = field(default_factory=lambda: list(CASES))
    log: Callable[[str], None] = functools.partial(print, flush=True)
    first_push_max: int = 10_000  # first_push only up to this many notes (0: no limit)


# --- child processes ------------------------------------------------------------------


def bench_env(home: Path) -> dict[str, str]:
    """The venv's programs first; no user or system git config; hooks not suppressed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        HOME=str(home),
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.org",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.org",
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.pop("ANKIOPS_GIT_IN_HOOK", None)
    return env


@dataclass
class Done:
    seconds: float
    peak_kb: int
    returncode: int
    stdout: str
    stderr: str


_spawner: subprocess.Popen[str] | None = None


def run(args: list[str], cwd: Path, env: dict[str, str]) -> Done:
    """Run a command through bench/spawn.py: wall time and peak RSS of it and its
    descendants (os.wait4), free of this process's own size."""
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        spawn = Path(__file__).with_name("spawn.py")
        _spawner = subprocess.Popen(
            [sys.executable, "-S", str(spawn)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    assert _spawner.stdin is not None and _spawner.stdout is not None
    with tempfile.TemporaryDirectory(prefix="bench-io-") as tmp:
        out, err = Path(tmp) / "out", Path(tmp) / "err"
        request = {"args": args, "cwd": str(cwd), "env": env, "out": str(out), "err": str(err)}
        _spawner.stdin.write(json.dumps(request) + "\n")
        _spawner.stdin.flush()
        reply = json.loads(_spawner.stdout.readline())
        return Done(
            reply["seconds"],
            int(reply["peak_kb"]),
            reply["returncode"],
            out.read_text(encoding="utf-8", errors="replace"),
            err.read_text(encoding="utf-8", errors="replace"),
        )


def must(done: Done, what: str) -> Done:
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return must(run(["git", *args], repo, env), f"git {' '.join(args)}").stdout.strip()


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# --- set-up: cached repositories, workspaces, backends ---------------------------------


def empty_repo_fetch(repo: Path, spec: str, env: dict[str, str]) -> Done:
    """`git init` + the `anki` remote at `repo`, then the timed first `git fetch anki`."""
    repo.mkdir(parents=True)
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "remote", "add", "anki", "anki::" + spec)
    # The refspec `ankiops-git init` sets: a plain `git pull anki` merges anki/main.
    git(repo, env, "config", "remote.anki.fetch", "+refs/heads/main:refs/remotes/anki/main")
    return run(["git", "fetch", "anki"], repo, env)


def initialised_repo(count: int, col: Path, log: Callable[[str], None]) -> tuple[Path, Done | None]:
    """bench/out/repo-N/decks: a first `git fetch anki` then `ankiops-git init` on the
    N-note collection. The fetch is the first_fetch case's first run on the collection
    backend when the repository is built now (an export of 100,000 notes is too slow to
    do twice), so it is returned along with the path (None when cached)."""
    cached = corpus.OUT / f"repo-{count}-v{corpus.CORPUS_VERSION}"
    if (cached / "decks" / ".git").is_dir():
        return cached / "decks", None
    partial = corpus.OUT / f"repo-{count}-v{corpus.CORPUS_VERSION}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / corpus.PROFILE).mkdir(parents=True)
    copy = partial / corpus.PROFILE / "collection.anki2"
    shutil.copyfile(col, copy)
    env = bench_env(partial)
    fetched = must(empty_repo_fetch(partial / "decks", str(copy), env), "git fetch anki")
    log(f"  first fetch of {count} notes (collection) in {fetched.seconds:.1f} s")
    init = [str(BIN / "ankiops-git"), "init", str(partial / "decks"), "--anki", str(copy)]
    must(run(init, partial, env), "ankiops-git init")
    shutil.rmtree(partial / corpus.PROFILE)
    shutil.rmtree(cached, ignore_errors=True)
    partial.rename(cached)
    return cached / "decks", fetched


@dataclass
class Workspace:
    root: Path
    repo: Path
    col: Path
    spec: str
    env: dict[str, str]
    server: Any = None  # LoopbackAnkiConnect for "connect"
    fetched: Done | None = None  # a first fetch made while setting up (see initialised_repo)
    anki: Any = None  # real_anki.BenchAnki for "real"
    kind: str = "collection"  # the backend's name

    def edit_in_anki(self, note_ids: list[int], stamp: str) -> None:
        """Edit the first field of these notes, as a user in Anki's editor would."""
        from bench import real_anki

        with self.collection() as col:
            real_anki.edit_first_fields(col, note_ids, stamp)

    @contextmanager
    def collection(self) -> Iterator[Any]:
        """Anki's collection as the cases look at it: the `anki` Collection, or for
        real Anki the probe's RemoteCollection (the same calls, run inside Anki)."""
        if self.anki is not None:
            yield self.anki.col
            return
        if self.server is not None:
            with self.server._lock:
                yield self.server.col
            return
        from anki.collection import Collection

        col = Collection(str(self.col))
        try:
            yield col
        finally:
            col.close()

    def backend(self) -> Any:
        from ankiops_git.anki import open_backend

        return open_backend(self.spec)


@contextmanager
def workspace(count: int, backend: str, col: Path, repo: Path) -> Iterator[Workspace]:
    # Unique per run: two benchmark runs sharing bench/out must not share a workspace.
    corpus.OUT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"work-{count}-{backend}-", dir=corpus.OUT))
    (root / corpus.PROFILE).mkdir(parents=True)
    col_copy = root / corpus.PROFILE / "collection.anki2"
    shutil.copyfile(col, col_copy)
    shutil.copytree(repo, root / "decks", symlinks=True)
    # The hooks as this code writes them: the cached repository may be older.
    init.install_hooks(pygit2.Repository(str(root / "decks")))
    env = bench_env(root)
    server = None
    anki = None
    spec = str(col_copy)
    try:
        if backend == "connect":
            server = loopback(col_copy)
            spec = server.url
        elif backend == "real":
            from bench import real_anki

            anki = real_anki.BenchAnki(root / "anki")
            anki.load_collection(col_copy)  # starts Anki on a copy of it
            col_copy.unlink()
            col_copy = anki.collection_path
            spec = anki.url
        git(root / "decks", env, "config", "remote.anki.url", "anki::" + spec)
        # One untimed pull: the cases measure a repository in use (synced at least once),
        # not the first sync after `ankiops-git init`.
        git(root / "decks", env, "pull", "-q", "anki")
        yield Workspace(root, root / "decks", col_copy, spec, env, server, anki=anki, kind=backend)
    finally:
        if server is not None:
            server.stop()
        if anki is not None:
            anki.stop()
        shutil.rmtree(root, ignore_errors=True)


def loopback(col: Path) -> Any:
    """The loopback AnkiConnect server of tests/ over `col`, started."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from ankiconnect_server import LoopbackAnkiConnect

    server = LoopbackAnkiConnect(col, profile=corpus.PROFILE)
    server.start()
    return server


# --- the cases ----------------------------------------------------------------------------


def repeat(
    row: Row, options: Options, once: Callable[[int], Done | None], first: Done | None = None
) -> None:
    """Run `once(run_index)` up to options.runs times (fewer if the case is slow);
    `first`: a run made already (counted as run 0)."""
    spent = 0.0
    for index in range(options.runs):
        done = first if index == 0 and first is not None else once(index)
        if done is None:
            return
        row.runs += 1
        row.wall.append(done.seconds)
        row.peak_kb = max(row.peak_kb, done.peak_kb)
        spent += done.seconds
        if spent > options.max_case_seconds:
            return


def first_fetch(ws: Workspace, row: Row, options: Options) -> None:
    def once(index: int) -> Done | None:
        repo = ws.root / f"empty-{index}"
        done = empty_repo_fetch(repo, ws.spec, ws.env)
        if done.returncode != 0 or not git(repo, ws.env, "ls-tree", "--name-only", "anki/main"):
            row.problem = f"fetch failed: {done.stderr.strip()[-300:]}"
            return None
        shutil.rmtree(repo)
        return done

    repeat(row, options, once, ws.fetched)

    def floor() -> None:
        backend = ws.backend()
        try:
            backend.decks()
            notes = backend.read_notes()
            assert len(notes) == row.notes, len(notes)
        finally:
            backend.close()

    row.floor = [timed(floor) for _ in range(max(1, min(3, row.runs)))]


def noop_pull(ws: Workspace, row: Row, options: Options) -> None:
    head = git(ws.repo, ws.env, "rev-parse", "HEAD")

    def once(index: int) -> Done | None:
        done = run(["git", "pull", "anki"], ws.repo, ws.env)
        if done.returncode != 0 or git(ws.repo, ws.env, "rev-parse", "HEAD") != head:
            row.problem = f"pull changed something or failed: {done.stderr.strip()[-300:]}"
            return None
        return done

    repeat(row, options, once)

    def floor() -> None:
        backend = ws.backend()
        try:
            backend.decks()
            backend.mod_times()
        finally:
            backend.close()

    row.floor = [timed(floor) for _ in range(3)]


FIELD_LINE = re.compile(r"^(Q|F|T): .*$", re.MULTILINE)


def edit_one_note(repo: Path, index: int) -> None:
    """Append a word to the first Q/F/T line of the index-th deck file."""
    files = sorted(p for p in repo.glob("*.md"))
    path = files[index % len(files)]
    text = path.read_text(encoding="utf-8")
    match = FIELD_LINE.search(text)
    assert match is not None, path
    edited = text[: match.end()] + f" (edit {index})" + text[match.end() :]
    path.write_text(edited, encoding="utf-8")


def commit_one(ws: Workspace, row: Row, options: Options) -> None:
    def once(index: int) -> Done | None:
        edit_one_note(ws.repo, index)
        done = run(["git", "commit", "-q", "-am", f"edit {index}"], ws.repo, ws.env)
        head = git(ws.repo, ws.env, "rev-parse", "HEAD")
        anki = git(ws.repo, ws.env, "rev-parse", "anki/main")
        if done.returncode != 0 or head != anki or "1 updated" not in done.stderr:
            row.problem = f"the hook did not push the edit: {done.stderr.strip()[-300:]}"
            return None
        return done

    repeat(row, options, once)

    reader = ws.backend()
    try:
        note_id = min(reader.mod_times())
    finally:
        reader.close()

    def floor() -> None:
        from ankiops_git.anki.base import NoteUpdate

        backend = ws.backend()
        try:
            note = backend.read_notes([note_id])[0]
            first = next(iter(note.fields))
            value = note.fields[first] + " (floor)"
            backend.update_notes([NoteUpdate(note.note_id, {first: value})])
        finally:
            backend.close()

    # The floor writes to Anki outside git: it runs after the cases that need a clean state.
    row.floor = [timed(floor) for _ in range(3)]


def pull_edited(ws: Workspace, row: Row, options: Options, count: int = EDITED_IN_ANKI) -> None:
    """`git pull anki` after `count` notes were edited in Anki (other notes each run)."""
    from bench import real_anki

    with ws.collection() as col:
        managed = real_anki.managed_note_ids(col)
    count = min(count, len(managed))
    step = max(1, len(managed) // (count * max(1, options.runs)))
    picked = managed[::step]

    def chunk(index: int) -> list[int]:
        return picked[index * count : (index + 1) * count] or picked[:count]

    expected = re.compile(rf"(?<![0-9]){count} updated")

    def once(index: int) -> Done | None:
        before = git(ws.repo, ws.env, "rev-parse", "HEAD")
        ws.edit_in_anki(chunk(index), f"{count}/{index}")
        done = run(["git", "pull", "anki"], ws.repo, ws.env)
        subject = git(ws.repo, ws.env, "log", "-1", "--format=%s", "anki/main")
        after = git(ws.repo, ws.env, "rev-parse", "HEAD")
        if done.returncode != 0 or after == before or not expected.search(subject):
            row.problem = f"pull did not bring the {count} updated: {subject}; {done.stderr[-300:]}"
            return None
        return done

    repeat(row, options, once)

    def floor() -> None:
        backend = ws.backend()
        try:
            backend.mod_times()
            backend.read_notes(chunk(0))
        finally:
            backend.close()

    row.floor = [timed(floor) for _ in range(3)]


# --- the first push -------------------------------------------------------------------


def new_deck_files(count: int, repo: Path) -> Path:
    """bench/out/new-N: the deck files of the N-note repository without note and deck
    ids, i.e. N notes no Anki has seen (cached)."""
    from ankiops_git import deckfile
    from ankiops_git.model import Deck

    folder = corpus.OUT / f"new-{count}-v{corpus.CORPUS_VERSION}"
    if folder.is_dir():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for path in deckfile.deck_files(repo):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
        fresh = Deck([replace(note, note_id=None) for note in deck.notes], None)
        (partial / path.name).write_text(deckfile.write(fresh), encoding="utf-8")
    partial.rename(folder)
    return folder


@functools.cache
def notes_to_add(folder: Path) -> list[Any]:
    """The NewNotes a push of these deck files adds, in its order (files by path, notes
    in file order), with the HTML it renders."""
    from ankiops_git import deckfile
    from ankiops_git.anki.base import NewNote
    from ankiops_git.export import render
    from ankiops_git.notetypes import NOTE_TYPES

    notes = []
    for path in sorted(folder.glob("*.md")):
        deck = deckfile.parse(path.read_text(encoding="utf-8"), path.name)
        name = deckfile.deck_name_for_path(path.name)
        for note in deck.notes:
            kind = NOTE_TYPES[note.note_type]
            fields = {f: render(note.field(f)) for f in kind.core_field_names}
            notes.append(NewNote(kind.anki_name, name, fields, tuple(note.tags)))
    return notes


@contextmanager
def empty_anki(ws: Workspace, index: int) -> Iterator[str]:
    """An Anki with no notes and only stock note types, as a new profile has: its spec."""
    if ws.anki is not None:
        ws.anki.reset()  # the probe's reset: notes, decks, note types, media all gone
        yield ws.spec
        return
    folder = ws.root / f"empty-anki-{index}"
    col = folder / corpus.PROFILE / "collection.anki2"
    col.parent.mkdir(parents=True)
    shutil.copyfile(corpus.empty_collection(), col)
    server = loopback(col) if ws.kind == "connect" else None
    try:
        yield server.url if server is not None else str(col)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def first_push(ws: Workspace, row: Row, options: Options) -> None:
    """One `git commit` of N new notes in N / 50 deck files, in a repository `ankiops-git
    init` wired to an empty Anki: the post-commit hook pushes them all. Each run has its
    own empty Anki and repository, and is followed by one run of the floor (in another
    empty Anki): the backend adding the same notes in the same batches by itself."""
    from ankiops_git.push import ADD_BATCH

    files = new_deck_files(row.notes, ws.repo)
    notes = notes_to_add(files)
    assert len(notes) == row.notes, len(notes)
    expected = re.compile(rf"(?<![0-9]){row.notes} added")

    def once(index: int) -> Done | None:
        repo = ws.root / f"push-{index}"
        with empty_anki(ws, index) as spec:
            init = [str(BIN / "ankiops-git"), "init", str(repo), "--anki", spec]
            must(run(init, ws.root, ws.env), "ankiops-git init")
            for path in files.glob("*.md"):
                shutil.copyfile(path, repo / path.name)
            git(repo, ws.env, "add", "-A")
            done = run(["git", "commit", "-q", "-m", f"{row.notes} new notes"], repo, ws.env)
            head = git(repo, ws.env, "rev-parse", "HEAD")
            anki = git(repo, ws.env, "rev-parse", "anki/main")
            if done.returncode != 0 or head != anki or not expected.search(done.stderr):
                row.problem = f"the hook did not push the notes: {done.stderr.strip()[-300:]}"
                return None
            if ws.anki is not None:
                from bench import real_anki

                in_anki = real_anki.note_count(ws.anki.col)
                if in_anki != row.notes:
                    row.problem = f"Anki has {in_anki} notes after the push, not {row.notes}"
                    return None
        shutil.rmtree(repo)
        # A run can take an hour (100,000 notes on real Anki): say each half as it ends.
        print(f"    first push run {index + 1}: {done.seconds:.1f} s", file=sys.stderr, flush=True)
        with empty_anki(ws, index) as spec:
            row.floor.append(add_floor(ws, spec, notes, ADD_BATCH))
        print(f"    its floor: {row.floor[-1]:.1f} s", file=sys.stderr, flush=True)
        return done

    repeat(row, options, once)


def add_floor(ws: Workspace, spec: str, notes: list[Any], batch: int) -> float:
    """The backend's own time to add `notes` in batches of `batch` (note types made
    first, untimed): `add_notes` on the collection file (open and close included),
    `addNotes` requests sent directly over AnkiConnect."""
    from ankiops_git.anki import open_backend

    backend = open_backend(spec)
    try:
        backend.ensure_note_types()
    finally:
        backend.close()
    if ws.kind == "collection":

        def add() -> None:
            from ankiops_git.anki.collection import CollectionBackend

            backend = CollectionBackend(Path(spec))
            try:
                for start in range(0, len(notes), batch):
                    backend.add_notes(notes[start : start + batch])
            finally:
                backend.close()

        return timed(add)
    from bench import real_anki

    return timed(lambda: real_anki.add_notes_directly(spec, notes, batch))


def merge_case(options: Options) -> Row:
    """The merge driver through `git merge`; floor: git's own text merge of the same."""
    row = Row("merge_deck", 1000, 1, "none")
    base, ours, theirs = merge_deck.texts(1000)
    with tempfile.TemporaryDirectory(prefix="merge-bench-") as tmp:
        env = bench_env(Path(tmp))
        with_driver, head = merge_deck.merge_repo(Path(tmp) / "driver", base, ours, theirs, env)
        plain, plain_head = merge_deck.merge_repo(
            Path(tmp) / "plain", base, ours, theirs, env, driver=False
        )

        def once(index: int) -> Done | None:
            git(with_driver, env, "reset", "-q", "--hard", head)
            done = run(["git", "merge", "-q", "--no-edit", "anki"], with_driver, env)
            if done.returncode != 0:
                row.problem = f"merge failed: {done.stderr.strip()[-300:]}"
                return None
            return done

        repeat(row, options, once)
        for _ in range(max(1, min(3, options.runs))):
            git(plain, env, "reset", "-q", "--hard", plain_head)
            # Exit status 1 is a textual conflict: still the time git's own merge takes.
            row.floor.append(run(["git", "merge", "-q", "--no-edit", "anki"], plain, env).seconds)
    return row


# In the order they run: the pulls before commit_one, whose floor writes to Anki outside
# git; first_push last, as it empties Anki (real Anki: the one Anki of the workspace).
SYNC_CASES: dict[str, Callable[[Workspace, Row, Options], None]] = {
    "first_fetch": first_fetch,
    "noop_pull": noop_pull,
    "pull_1": functools.partial(pull_edited, count=1),
    "pull_100": functools.partial(pull_edited, count=EDITED_IN_ANKI),
    "commit_one": commit_one,
    "first_push": first_push,
}


def combined(rows: list[Row]) -> list[Row]:
    """Rows of several result files in table order; the first of duplicates is kept."""
    seen: dict[tuple[str, int, str], Row] = {}
    for row in rows:
        seen.setdefault((row.case, row.notes, row.backend), row)
    order = list(CASES)
    return sorted(
        seen.values(),
        key=lambda r: (r.case == "merge_deck", r.notes, r.backend, order.index(r.case)),
    )


def save_json(path: Path | None, rows: list[Row]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")


def run_all(options: Options) -> list[Row]:
    rows: list[Row] = []
    sizes = options.sizes if any(case in SYNC_CASES for case in options.cases) else []
    for count in sizes:
        decks = max(1, count // corpus.NOTES_PER_DECK)
        options.log(f"{count} notes, {decks} decks")
        col = corpus.build_collection(count, options.log)
        repo, fetched = initialised_repo(count, col, options.log)
        for backend in options.backends:
            with workspace(count, backend, col, repo) as ws:
                if backend == "collection":
                    ws.fetched = fetched
                for case, fn in SYNC_CASES.items():
                    if case not in options.cases:
                        continue
                    if case == "first_push" and 0 < options.first_push_max < count:
                        options.log(
                            f"  {backend:10} {case:12} skipped: over --first-push-max "
                            f"{options.first_push_max} (at 100,000 notes a run and its "
                            f"floor take 25 minutes on the stand-in, longer on real Anki)"
                        )
                        continue
                    row = Row(case, count, decks, backend)
                    fn(ws, row, options)
                    options.log(f"  {backend:10} {case:12} {describe(row)}")
                    rows.append(row)
                    save_json(options.json, rows)
    if "merge_deck" in options.cases:
        options.log("merge driver, 1,000-note deck")
        row = merge_case(options)
        options.log(f"  {'-':10} {'merge_deck':12} {describe(row)}")
        rows.append(row)
    return combined(rows)  # table order (the cases run in SYNC_CASES order)


# --- the table -------------------------------------------------------------------------


def seconds(value: float) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def describe(row: Row) -> str:
    if not row.wall:
        return f"FAILED: {row.problem}"
    ratio = row.median / row.floor_median if row.floor else float("nan")
    return (
        f"{seconds(row.median)} ({row.runs} run(s)), peak {row.peak_kb / 1024:.0f} MB, "
        f"floor {seconds(row.floor_median)}, x{ratio:.1f}"
        + (f" [{row.problem}]" if row.problem else "")
    )


def target(row: Row) -> str:
    """The issue's targets, for the sizes they are set at ('' where none applies)."""
    if not row.wall:
        return "FAILED"
    wall, mb = row.median, row.peak_kb / 1024
    verdicts = []
    if row.backend == "real":
        # Issue "Real Anki in the loop": at 10,000 notes, real Anki + AnkiConnect.
        if row.notes == 10_000:
            if row.case == "first_push" and row.floor:
                ratio = wall / row.floor_median
                verdicts.append((f"<= 1.3x floor ({ratio:.2f}x)", ratio <= 1.3))
            limits = {"noop_pull": 0.6, "commit_one": 0.7, "pull_1": 0.8}
            if row.case in limits:
                verdicts.append((f"<= {limits[row.case]} s", wall <= limits[row.case]))
        return ", ".join(f"{text} {'met' if ok else 'MISSED'}" for text, ok in verdicts)
    if row.case == "noop_pull" and row.notes == 10_000:
        verdicts.append(("< 0.5 s", wall < 0.5))
    if row.case == "noop_pull" and row.notes == 100_000:
        verdicts.append(("< 1.5 s", wall < 1.5))
    if row.case == "commit_one" and row.notes in (1_000, 10_000, 100_000):
        verdicts.append(("< 0.5 s", wall < 0.5))
    if row.case == "first_fetch" and row.notes == 10_000:
        verdicts.append(("< 6 s", wall < 6))
    if row.case == "first_fetch" and row.notes == 100_000:
        verdicts.append(("< 500 MB", mb < 500))
    return ", ".join(f"{text} {'met' if ok else 'MISSED'}" for text, ok in verdicts)


def table(rows: list[Row]) -> str:
    lines = [
        "| case | notes | decks | backend | runs | median wall | peak memory "
        "| floor | floor is | ratio | target |",
        "|---|--:|--:|---|--:|--:|--:|--:|---|--:|---|",
    ]
    for row in rows:
        ratio = row.median / row.floor_median if row.wall and row.floor else float("nan")
        peak = f"{row.peak_kb / 1024:.0f} MB" if row.wall else "-"
        lines.append(
            f"| {CASES[row.case]} | {row.notes:,} | {row.decks:,} | {row.backend} | {row.runs} "
            f"| {seconds(row.median)} | {peak} | {seconds(row.floor_median)} "
            f"| {FLOORS[row.case]} | {'-' if ratio != ratio else f'{ratio:.1f}x'} "
            f"| {target(row)} |"
        )
    problems = [r for r in rows if r.problem]
    for row in problems:
        lines.append("")
        lines.append(f"- {row.case}, {row.notes:,} notes, {row.backend}: {row.problem}")
    return "\n".join(lines)


def machine(backends: list[str]) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    import anki.buildinfo

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    real = ""
    if "real" in backends:
        from bench import real_anki

        real = f", {real_anki.version()}"
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, anki {anki.buildinfo.version}{real}, "
        f"{git_version.strip()}; load average at the start: {load}"
    )


def start_up() -> str:
    """What every command pays before any work: Python with `anki` imported (median of 3)."""
    env = bench_env(Path(tempfile.gettempdir()))
    probe = [sys.executable, "-c", "import anki.collection"]
    times = [must(run(probe, ROOT, env), "python").seconds for _ in range(3)]
    return f"Python start-up with `import anki.collection`: {seconds(statistics.median(times))}"


def section(rows: list[Row], options: Options, command: str, about: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join(
        [
            BEGIN,
            f"Measured {stamp} with `{command}`, median of up to {options.runs} run(s) per "
            f"case (a case stops repeating once its runs took {options.max_case_seconds:.0f} s).",
            f"Machine: {about}.",
            f"{start_up()} (in every wall time below, not in the floors).",
            "",
            table(rows),
            END,
        ]
    )


def write_docs(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + text + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="note counts, comma-separated")
    parser.add_argument(
        "--backends",
        default="collection,connect",
        help=f"comma-separated, of {', '.join(BACKENDS)} (real: Anki desktop + AnkiConnect, "
        "headless, see bench/real_anki.py)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES), help="which cases to run")
    parser.add_argument("--max-case-seconds", type=float, default=60.0)
    parser.add_argument(
        "--first-push-max",
        type=int,
        default=10_000,
        help="run first_push only at sizes up to this (0: at every size); default 10000",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 200 notes, 1 run")
    parser.add_argument("--docs", default=str(DOCS), help="file to write the table into")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument("--json", default=None, help="results file (default OUT/results.json)")
    parser.add_argument("--out", default=str(corpus.OUT), help="cache and work folder")
    parser.add_argument(
        "--table-from",
        default=None,
        help="write the table from saved results files (comma-separated), running nothing",
    )
    args = parser.parse_args(argv)
    corpus.OUT = Path(args.out).resolve()
    if args.json is None:
        args.json = str(corpus.OUT / "results.json")
    if args.quick:
        args.sizes, args.runs = "200", 1
    options = Options(
        sizes=[int(s) for s in args.sizes.split(",") if s],
        backends=[b for b in args.backends.split(",") if b],
        runs=args.runs,
        max_case_seconds=args.max_case_seconds,
        docs=None if args.no_docs else Path(args.docs),
        json=Path(args.json),
        cases=[c for c in args.cases.split(",") if c],
        first_push_max=args.first_push_max,
    )
    unknown = set(options.backends) - set(BACKENDS)
    unknown |= set(options.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown backend(s) or case(s): {', '.join(sorted(unknown))}")
    if "real" in options.backends and not args.table_from:
        from bench import real_anki

        if why := real_anki.unavailable():
            parser.error(f"backend real: {why}")
    about = machine(options.backends)
    started = time.perf_counter()
    if args.table_from:
        rows = [
            Row(**data)
            for name in args.table_from.split(",")
            for data in json.loads(Path(name).read_text(encoding="utf-8"))
        ]
        rows = combined([r for r in rows if r.case in options.cases])
    else:
        rows = run_all(options)
    command = "python -m bench " + " ".join(argv) if argv else "make bench"
    print(table(rows))
    print(f"(all cases in {time.perf_counter() - started:.0f} s)")
    save_json(options.json, rows)
    if options.docs is not None:
        write_docs(options.docs, section(rows, options, command.strip(), about))
        print(f"table written to {options.docs}")
    return 1 if any(r.problem for r in rows) else 0
