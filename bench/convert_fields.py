"""How long HTML -> Markdown takes per field: the cost of a first fetch.

Three sets of fields: the two public corpora in tests/corpus (HTML written by
Anki's editor over years: omscs, ultimate-geography) and the fields of the generated
10,000-note benchmark collection (HTML as a push writes it). For each, one pass of
`convert.html_to_md` over every field in a fresh process (the converter's caches would
make a second pass in the same process quicker than a first fetch ever is), the best
of `--runs` such processes, and how many fields had markup at all (plain text needs
no parser).

    python -m bench convert_fields [--runs=N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
SETS = ["omscs", "ultimate-geography", "bench-10000"]


def fields_of(name: str) -> list[str]:
    if name.startswith("bench-"):
        from bench import corpus

        notes = corpus.generate(int(name.split("-")[1]))
        return [value for note in notes for value in note.fields.values()]
    with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["html"] for line in lines]


def measure(name: str) -> dict[str, float | int | str]:
    """In this process: one pass over the set's fields."""
    from ankiops_git.convert import html_to_md

    fields = fields_of(name)
    started = time.perf_counter()
    for html in fields:
        html_to_md(html)
    seconds = time.perf_counter() - started
    markup = sum(1 for f in fields if "<" in f or "&" in f)
    return {"set": name, "fields": len(fields), "markup": markup, "seconds": seconds}


def main(argv: list[str]) -> None:
    runs = 2
    for arg in argv:
        if arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
        elif arg.startswith("--one="):  # internal: measure one set in this process
            print(json.dumps(measure(arg.split("=", 1)[1])))
            return
    print(f"html_to_md, one pass a process, best of {runs} process(es) per set")
    print(f"  {'set':<20} {'fields':>7} {'markup':>7} {'seconds':>8} {'ms/field':>9}")
    for name in SETS:
        if not name.startswith("bench-") and not (CORPUS / f"{name}.jsonl").exists():
            print(f"  {name:<20} (no {CORPUS / name}.jsonl here: skipped)")
            continue
        rows = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-m", "bench", "convert_fields", f"--one={name}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
        row = min(rows, key=lambda r: float(r["seconds"]))
        per = 1000 * float(row["seconds"]) / max(1, int(row["fields"]))
        print(
            f"  {name:<20} {row['fields']:>7} {row['markup']:>7} "
            f"{float(row['seconds']):>8.2f} {per:>9.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
