"""Media benchmark: a collection whose 1,000 notes show 1,000 media files (10 MB).

python -m bench media [--files=1000] [--runs=5] [--backends=collection,connect,real]

Per backend ("collection": the collection file; "connect": the loopback AnkiConnect
stand-in of tests/ over it; "real": Anki desktop with the real AnkiConnect add-on, on a
copy of the collection and its media folder), as child processes (bench/spawn.py, as
the sync cases):

- first fetch: `git fetch anki` in an empty repository: every note, and every media
  file into media/ (bulk reads of 50 files; over AnkiConnect one `multi` each);
- no-op pull:  `git pull anki` with nothing new (median of --runs), media/ present;
- pull of 10:  `git pull anki` after 10 notes, each with a new 10 KB picture, were
  added in Anki (median of --runs, a new ten each time).

Prints one line per figure; docs/performance.md ("Media") has them by hand.
"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from ankiops_git.anki.base import NewNote
from ankiops_git.anki.collection import CollectionBackend
from bench import corpus
from bench.sync_cases import BIN, bench_env, empty_repo_fetch, git, loopback, must, run

FILE_BYTES = 10_000


def picture(rng: random.Random) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(FILE_BYTES - 8)


def build(folder: Path, files: int) -> Path:
    """A collection (profile Bench) with `files` notes, each showing its own picture."""
    col_path = folder / corpus.PROFILE / "collection.anki2"
    col_path.parent.mkdir(parents=True)
    backend = CollectionBackend(col_path, create=True)
    try:
        backend.ensure_note_types()
        rng = random.Random(15)
        media_dir = Path(backend.col.media.dir())
        notes = []
        for i in range(files):
            (media_dir / f"pic-{i:04}.png").write_bytes(picture(rng))
            question = f"Picture {i}?"
            answer = f'It shows <img src="pic-{i:04}.png" width="300">'
            deck = f"Media::Deck {i // 50:02}"
            notes.append(NewNote("AnkiOpsQA", deck, {"Question": question, "Answer": answer}))
        backend.add_notes(notes)
    finally:
        backend.close()
    return col_path


def add_ten(col: Any, round_: int) -> None:
    """10 notes with 10 new pictures, as Anki's editor adds them (also run inside real
    Anki by the probe add-on: it needs nothing from this module's globals)."""
    import random
    from pathlib import Path

    rng = random.Random(1000 + round_)
    names = [f"new-{round_}-{k}.png" for k in range(10)]
    for name in names:
        data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(10_000 - 8)
        (Path(col.media.dir()) / name).write_bytes(data)
    model = col.models.by_name("AnkiOpsQA")
    deck_id = col.decks.id("Media::Deck 00", create=True)
    for name in names:
        note = col.new_note(model)
        note["Question"], note["Answer"] = f"New {name}?", f'<img src="{name}">'
        col.add_note(note, deck_id)


def add_in_anki(col_path: Path, server: Any, anki: Any, round_: int) -> None:
    if anki is not None:
        anki.col.run(add_ten, round_)
    elif server is not None:
        with server._lock:
            add_ten(server.col, round_)
    else:
        backend = CollectionBackend(col_path)
        try:
            add_ten(backend.col, round_)
        finally:
            backend.close()


def real_anki_on(root: Path, col_path: Path) -> Any:
    """Real Anki started on a copy of `col_path` and of its media folder."""
    from bench import real_anki

    anki = real_anki.BenchAnki(root / "anki")
    media = anki.collection_path.with_suffix(".media")
    shutil.copytree(col_path.with_suffix(".media"), media)
    anki.load_collection(col_path)
    return anki


def main(argv: list[str]) -> None:
    options = dict(a.removeprefix("--").split("=", 1) for a in argv if "=" in a)
    files = int(options.get("files", 1000))
    runs = int(options.get("runs", 5))
    backends = options.get("backends", "collection,connect").split(",")
    for kind in backends:
        root = Path(tempfile.mkdtemp(prefix=f"bench-media-{kind}-"))
        try:
            col_path = build(root, files)
            server = loopback(col_path) if kind == "connect" else None
            anki = real_anki_on(root, col_path) if kind == "real" else None
            spec = server.url if server is not None else anki.url if anki else str(col_path)
            try:
                env = bench_env(root)
                repo = root / "decks"
                fetched = must(empty_repo_fetch(repo, spec, env), "git fetch anki")
                in_tree = git(repo, env, "ls-tree", "-r", "--name-only", "anki/main", "media/")
                count = len(in_tree.split())
                print(
                    f"{kind}: first fetch of {files} notes and {count} media files "
                    f"({count * FILE_BYTES / 1e6:.0f} MB): {fetched.seconds:.2f} s, "
                    f"peak {fetched.peak_kb / 1024:.0f} MB"
                )
                init = [str(BIN / "ankiops-git"), "init", str(repo), "--anki", spec]
                must(run(init, root, env), "ankiops-git init")
                noop = []
                for _ in range(runs):
                    done = must(run(["git", "pull", "anki"], repo, env), "git pull anki")
                    assert "Already up to date" in done.stdout, done.stdout
                    noop.append(done.seconds)
                print(f"{kind}: no-op pull with media/: {statistics.median(noop):.3f} s")
                tens = []
                for round_ in range(runs):
                    add_in_anki(col_path, server, anki, round_)
                    done = must(run(["git", "pull", "anki"], repo, env), "git pull anki")
                    assert "10 media file(s)" in done.stderr, done.stderr
                    tens.append(done.seconds)
                print(
                    f"{kind}: pull of 10 notes added in Anki with 10 new pictures: "
                    f"{statistics.median(tens):.3f} s"
                )
            finally:
                if server is not None:
                    server.stop()
                if anki is not None:
                    anki.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    sys.stdout.flush()
