"""Run benchmarks.

python -m bench [--sizes 1000,10000 --backends collection,connect,real --runs 3 --quick]
    the sync cases over generated collections; writes the table into
    docs/performance.md (`make bench` runs this with the defaults; the backend
    `real` is Anki desktop with the real AnkiConnect add-on, see bench/real_anki.py);
python -m bench read_notes [--notes=N]     reading every note, per backend;
python -m bench merge_deck [--notes=N]     the three-way merge of one deck file;
python -m bench convert_fields [--runs=N]  HTML -> Markdown over the corpora;
python -m bench real_profile [--notes=N]   where a small sync's time goes on real Anki.
python -m bench media [--files=N]         fetch and pull of a collection with N media files.
"""

from __future__ import annotations

import importlib
import sys

# modules in bench/ with a main(argv)
OTHER_BENCHMARKS = ["read_notes", "merge_deck", "convert_fields", "real_profile", "media"]


def main(argv: list[str]) -> int:
    if argv and argv[0] in OTHER_BENCHMARKS:
        importlib.import_module(f"bench.{argv[0]}").main(argv[1:])
        return 0
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(OTHER_BENCHMARKS)}")
        print(__doc__)
        return 2
    from bench import sync_cases

    return sync_cases.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
