"""The benchmark harness runs end to end at a tiny size and writes its table.

No timing assertions: the figures depend on the machine. What is checked is that
every case ran through the real commands (each case checks its own effect: the
pull made no commit, the hook pushed the edit, the Anki edits arrived, the first
push added every note) and that the table lands between its markers, leaving the
rest of the document alone. The real-Anki backend's path (Anki desktop with the real
AnkiConnect add-on, bench/real_anki.py) runs at 20 notes where that tier can run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import realanki

ROOT = Path(__file__).resolve().parent.parent
SYNC_CASES = ["first_fetch", "noop_pull", "commit_one", "pull_1", "pull_100", "first_push"]
CASES = [*SYNC_CASES, "merge_deck"]
REAL_CASES = ["noop_pull", "commit_one", "pull_1", "first_push"]  # in table order


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_bench_quick_run_writes_every_case_into_the_table(tmp_path: Path) -> None:
    from_bench = ROOT / "bench" / "sync_cases.py"
    begin = next(
        line.split('"')[1]
        for line in from_bench.read_text().splitlines()
        if line.startswith("BEGIN = ")
    )
    docs = tmp_path / "performance.md"
    docs.write_text(
        f"# Performance\n\nIntro kept.\n\n{begin}\nOLD TABLE\n<!-- bench:sync-table:end -->\n"
        "\n## Later section\n\nKept too.\n",
        encoding="utf-8",
    )
    results = tmp_path / "results.json"
    done = bench(
        *("--sizes", "100", "--backends", "collection", "--runs", "1"),
        *("--docs", str(docs), "--json", str(results), "--out", str(tmp_path / "out")),
    )
    assert done.returncode == 0, done.stdout + done.stderr

    rows = json.loads(results.read_text(encoding="utf-8"))
    assert [r["case"] for r in rows] == CASES
    for row in rows:
        assert row["runs"] == 1 and not row["problem"], row
        assert row["wall"][0] > 0 and row["floor"] and row["peak_kb"] > 0, row
    assert {r["backend"] for r in rows[:-1]} == {"collection"}
    assert all(r["notes"] == 100 and r["decks"] == 2 for r in rows[:-1])

    text = docs.read_text(encoding="utf-8")
    assert "OLD TABLE" not in text
    assert text.startswith("# Performance\n\nIntro kept.\n")
    assert text.endswith("\n## Later section\n\nKept too.\n")
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(CASES)  # header + one row per case
    for case_row, row in zip(table[1:], rows, strict=True):
        assert f"| {row['notes']:,} |" in case_row


def test_corpus_html_is_what_the_converter_gives_for_each_notes_markdown() -> None:
    """Each template is rendered once and the note's number put into the HTML: that
    must be the HTML of the Markdown with the number put in, or the benchmark's
    collection would hold HTML no push writes (as a placeholder word once did, in code)."""
    sys.path.insert(0, str(ROOT))
    from ankiops_git.convert import md_to_html
    from bench import corpus

    assert len(corpus.TEMPLATES) > 15
    for template in corpus.TEMPLATES:
        assert corpus.TOKEN in template, template
        for number in (0, 7, 42, 1234, 99999):
            cached = md_to_html(template).replace(corpus.TOKEN, str(number))
            assert cached == md_to_html(template.replace(corpus.TOKEN, str(number))), template


@pytest.mark.real_anki
def test_bench_runs_every_sync_case_against_real_anki(tmp_path: Path) -> None:
    """The `real` backend: a generated collection loaded into Anki desktop, the cases
    through the real AnkiConnect add-on, the first push's floor as `addNotes` sent
    directly. 20 notes, one run, no table written; the cases whose set-up, edits in
    Anki, checks or floors differ for real Anki (first_fetch and pull_100 share their
    code with noop_pull and pull_1), so that it stays a few seconds."""
    why = realanki.unavailable()
    if why is not None:
        if realanki.required():
            pytest.fail(f"{why}; {realanki.REQUIRE_ENV} is set, so this is a failure")
        pytest.skip(why)
    results = tmp_path / "results.json"
    done = bench(
        *("--sizes", "20", "--backends", "real", "--runs", "1", "--no-docs"),
        *("--cases", ",".join(REAL_CASES), "--json", str(results)),
        *("--out", str(tmp_path / "out")),
    )
    assert done.returncode == 0, done.stdout + done.stderr

    rows = json.loads(results.read_text(encoding="utf-8"))
    assert [r["case"] for r in rows] == REAL_CASES
    for row in rows:
        assert row["backend"] == "real" and row["notes"] == 20, row
        assert row["runs"] == 1 and not row["problem"], row
        assert row["wall"][0] > 0 and row["floor"] and row["floor"][0] > 0, row
