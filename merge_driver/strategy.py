"""`git-merge-ankiops`: a merge strategy for `ankiops-git pull` and `git merge -s ankiops`.

git runs it as `git-merge-ankiops [--OPTION...] BASE... -- HEAD REMOTE`. It runs git's
own merge (the `ankiops-merge` driver merges the deck files) and then merges the edits
to notes that moved into files git took from one side (ankiops_git.merge.strategy).
Exits 0 when clean, 1 when conflicts are left, 2 when it cannot handle the merge.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ankiops_git.errors import AnkiOpsError
from ankiops_git.merge.strategy import NOT_HANDLED, merge, parse_args


def run(args: list[str]) -> int:
    try:
        result = merge(parse_args(args), Path.cwd())
    except AnkiOpsError as problem:
        sys.stderr.write(f"git-merge-ankiops: {problem}\n")
        return NOT_HANDLED
    except Exception as problem:  # before git's merge ran (after it, merge() reports it)
        sys.stderr.write(f"git-merge-ankiops: internal error, nothing merged: {problem!r}\n")
        return NOT_HANDLED
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    for notice in result.notices:
        sys.stdout.write(f"ankiops: {notice}\n")
    for message in result.conflicts:
        sys.stdout.write(f"CONFLICT (ankiops, moved note): {message}\n")
    return result.status


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
