"""How long the three-way merge of a deck file takes: library and driver process.

Builds a 1,000-note deck (Markdown fields of a few lines, tags) and two versions of
it with 50 edits each (field edits, tag changes, new and deleted notes, on different
notes), then times, median of several runs:
  - `merge_texts` (the library merge, what the driver spends its time on);
  - the `ankiops-merge` process on three files (Python start-up included);
  - a real `git merge` in a temporary repository with the driver configured.

    python -m bench.merge_deck [--notes=N] [--runs=N]
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.merge import merge_texts
from ankiops_git.model import Deck, Note

LIMIT_SECONDS = 0.3  # the library merge of 1,000 notes with 50 edits a side
BIN = Path(sys.executable).parent


def base_deck(count: int) -> Deck:
    notes = [
        Note(
            "QA",
            {
                "Question": f"What does *term {i}* mean in chapter {i % 37}?",
                "Answer": f"Term {i} is the name for\n- the first idea ({i})\n"
                f"- the second idea\n\nSee `code_{i}()` too.",
                **({"Extra": f"Compare term {i + 1}."} if i % 3 == 0 else {}),
            },
            1_700_000_000_000 + i,
            ["bench", f"topic::{i % 50}"],
        )
        for i in range(count)
    ]
    return Deck(notes, 1_600_000_000_000)


def edited(base: Deck, positions: list[int], seed: int, new_ids: int) -> Deck:
    """`base` with one edit at each position: mostly field edits, some tag changes,
    deletions and new notes (half of them without an id yet)."""
    rng = random.Random(seed)
    notes = list(base.notes)
    deleted: set[int] = set()
    added: list[tuple[int, Note]] = []
    for n, pos in enumerate(positions):
        note = notes[pos]
        kind = n % 10
        if kind < 6:
            answer = note.fields["Answer"].replace("second idea", f"second idea, edited {seed}")
            notes[pos] = replace(note, fields={**note.fields, "Answer": answer})
        elif kind < 8:
            notes[pos] = replace(note, tags=[*note.tags, f"side{seed}"])
        elif kind == 8:
            deleted.add(pos)
        else:
            note_id = new_ids + n if rng.random() < 0.5 else None
            added.append((pos, Note("QA", {"Question": f"New {seed}/{n}", "Answer": "x"}, note_id)))
    out: list[Note] = []
    for pos, note in enumerate(notes):
        if pos not in deleted:
            out.append(note)
        out += [new for at, new in added if at == pos]
    return Deck(out, base.deck_id)


def texts(count: int) -> tuple[str, str, str]:
    base = base_deck(count)
    rng = random.Random(1)
    picked = rng.sample(range(count), 100)
    ours = edited(base, picked[:50], 1, 9_000_000_000_000)
    theirs = edited(base, picked[50:], 2, 9_100_000_000_000)
    return deckfile.write(base), deckfile.write(ours), deckfile.write(theirs)


def median_seconds(
    runs: int, fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(runs):
        started = clock()
        fn()
        times.append(clock() - started)
    return statistics.median(times)


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def driver_process(work: Path, base: str, ours: str, theirs: str, runs: int) -> float:
    for name, text in (("O", base), ("B", theirs)):
        (work / name).write_text(text)

    def once() -> None:
        (work / "A").write_text(ours)
        done = subprocess.run(
            ["ankiops-merge", "O", "A", "B", "Deck.md"], cwd=work, env=_env(), capture_output=True
        )
        assert done.returncode == 0, done.stderr

    return median_seconds(runs, once)


def merge_repo(
    work: Path,
    base: str,
    ours: str,
    theirs: str,
    env: dict[str, str] | None = None,
    driver: bool = True,
) -> tuple[Path, str]:
    """A repository at `work` whose main (ours) and anki (theirs) branches both changed
    Deck.md from base; the merge driver configured unless `driver` is False (then git
    uses its own text merge). Returns the repository and main's head commit."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=work, env=env or _env(), check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    work.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    git("config", "user.name", "Bench")
    git("config", "user.email", "bench@example.com")
    if driver:
        git("config", "merge.ankiops.driver", "ankiops-merge %O %A %B %P")
    (work / ".gitattributes").write_text("*.md merge=ankiops\n")
    for name, text, branch in (
        ("base", base, None),
        ("anki", theirs, "anki"),
        ("main", ours, None),
    ):
        if branch:
            git("checkout", "-q", "-b", branch)
        elif name == "main":
            git("checkout", "-q", "main")
        (work / "Deck.md").write_text(text)
        git("add", "-A")
        git("commit", "-q", "-m", name)
    return work, git("rev-parse", "HEAD")


def git_merge(work: Path, base: str, ours: str, theirs: str, runs: int) -> float:
    """`git merge` of two branches that both changed the 1,000-note deck file."""
    repo, main_head = merge_repo(work / "repo", base, ours, theirs)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=_env(), check=True, capture_output=True)

    def once() -> None:
        git("reset", "-q", "--hard", main_head)
        git("merge", "-q", "--no-edit", "anki")

    return median_seconds(runs, once)


def main(argv: list[str]) -> None:
    options = dict(a.removeprefix("--").split("=", 1) for a in argv if "=" in a)
    count, runs = int(options.get("notes", 1000)), int(options.get("runs", 7))
    base, ours, theirs = texts(count)
    result = merge_texts(base, ours, theirs, "Deck.md")
    assert result.clean, result.conflicts
    library = median_seconds(runs, lambda: merge_texts(base, ours, theirs, "Deck.md"))
    cpu = median_seconds(
        runs, lambda: merge_texts(base, ours, theirs, "Deck.md"), time.process_time
    )
    work = Path(tempfile.mkdtemp(prefix="merge-bench-"))
    try:
        process = driver_process(work, base, ours, theirs, runs)
        merge = git_merge(work, base, ours, theirs, max(3, runs // 2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verdict = "ok" if library < LIMIT_SECONDS else f"OVER the {LIMIT_SECONDS} s limit"
    cpu_verdict = "ok" if cpu < LIMIT_SECONDS else f"OVER the {LIMIT_SECONDS} s limit"
    print(f"merge_deck: {count} notes, 50 edits a side, median of {runs} runs")
    print(f"  library merge_texts:       {library:.3f} s  ({verdict})")
    print(f"  ... as CPU time:           {cpu:.3f} s  ({cpu_verdict})")
    print(f"  ankiops-merge process:     {process:.3f} s  (Python start-up included)")
    print(f"  git merge with the driver: {merge:.3f} s  (reset + merge)")


if __name__ == "__main__":
    main(sys.argv[1:])
