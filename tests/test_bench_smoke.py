"""The benchmark harness runs end to end at a tiny size and writes its table.

No timing assertions: the figures depend on the machine. What is checked is that
every case ran through the real commands (each case checks its own effect: the
pull made no commit, the hook pushed the edit, the 100 Anki edits arrived) and
that the table lands between its markers, leaving the rest of the document alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ["first_fetch", "noop_pull", "commit_one", "pull_100", "merge_deck"]


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
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "100", "--backends", "collection"]
        + ["--runs", "1", "--docs", str(docs), "--json", str(results)]
        + ["--out", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
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
