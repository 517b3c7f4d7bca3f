"""How long reading every managed note takes, per backend.

Builds a collection of N AnkiOps notes (default 10,000: QA notes with realistic HTML
fields and tags, spread over 20 decks), then times `read_notes()` and `mod_times()`
on the collection backend, and on the AnkiConnect backend through the loopback
server in tests/ (whose server side runs the add-on's own per-note loop, so its
figure is indicative of, not equal to, the real add-on). Best of 3 runs.

    python -m bench read_notes [--notes=N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ankiops_git.anki.base import NewNote
from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.anki.connect import ConnectBackend

LIMIT_SECONDS = 1.0  # the collection backend must read 10,000 notes faster than this


def _notes(count: int) -> list[NewNote]:
    answer = (
        "<p>The <b>answer</b> with some <code>code</code>, a list:</p>"
        "<ul><li>first point</li><li>second point</li></ul>"
    )
    return [
        NewNote(
            "AnkiOpsQA",
            f"Bench::Deck {i % 20:02d}",
            {
                "Question": f"<p>Question number {i}: what does <i>term {i}</i> mean?</p>",
                "Answer": answer,
                "Extra": f"See chapter {i % 37}." if i % 3 == 0 else "",
            },
            ("bench", f"topic::{i % 50}"),
        )
        for i in range(count)
    ]


def build_collection(path: Path, count: int) -> float:
    """A collection with `count` managed notes at `path`; returns seconds to add them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with CollectionBackend(path, create=True) as backend:
        backend.ensure_note_types()
        started = time.perf_counter()
        backend.add_notes(_notes(count))
        return time.perf_counter() - started


def best_of(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: list[str]) -> None:
    count = 10_000
    for arg in argv:
        if arg.startswith("--notes="):
            count = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Bench" / "collection.anki2"
        added = build_collection(path, count)
        print(f"read_notes: {count} AnkiOpsQA notes in 20 decks (added in {added:.2f} s)")

        with CollectionBackend(path) as backend:
            seconds, notes = best_of(3, backend.read_notes)
            assert isinstance(notes, list) and len(notes) == count
            mod_seconds, _ = best_of(3, backend.mod_times)
        verdict = "ok" if seconds < LIMIT_SECONDS or count != 10_000 else "TOO SLOW"
        print(
            f"  collection  read_notes {seconds:7.3f} s   mod_times {mod_seconds:7.3f} s  {verdict}"
        )

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from ankiconnect_server import LoopbackAnkiConnect

        server = LoopbackAnkiConnect(path, profile="Bench")
        server.start()
        try:
            client = ConnectBackend(server.url)
            seconds, notes = best_of(3, client.read_notes)
            assert isinstance(notes, list) and len(notes) == count
            mod_seconds, _ = best_of(3, client.mod_times)
        finally:
            server.stop()
        print(f"  connect*    read_notes {seconds:7.3f} s   mod_times {mod_seconds:7.3f} s")
        print("  * through the loopback AnkiConnect server (tests/ankiconnect_server.py)")
        if verdict != "ok":
            raise SystemExit(1)
