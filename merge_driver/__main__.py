"""`ankiops-merge %O %A %B %P`: git merge driver for deck files.

Writes the merged file to %A; exits 0 when clean, 1 when conflicts are left in it.
It also records the edits to notes that moved into files git does not pass to it,
for the strategy (strategy.py) or, in a plain merge, the hooks (merge/pending.py) to
apply.
Configure with `ankiops-git init`, or by hand (docs/conflicts.md):
    git config merge.ankiops.driver "ankiops-merge %O %A %B %P"
    echo "*.md merge=ankiops" >> .gitattributes
"""

from __future__ import annotations

import sys
from pathlib import Path

from ankiops_git.merge import line_merge
from ankiops_git.merge.repo import merge_in_repo

USAGE = "usage: ankiops-merge BASE OURS THEIRS [PATH]   (git passes %O %A %B %P)\n"


def _read(path: str) -> str:
    return Path(path).read_bytes().decode("utf-8", errors="surrogateescape")


def run(args: list[str]) -> int:
    if len(args) not in (3, 4):
        sys.stderr.write(USAGE)
        return 2
    base_file, ours_file, theirs_file = args[:3]
    path = args[3] if len(args) == 4 else ours_file
    try:
        texts = (_read(base_file), _read(ours_file), _read(theirs_file))
    except OSError as problem:
        sys.stderr.write(f"ankiops-merge: cannot read {problem.filename}: {problem.strerror}\n")
        return 2
    try:
        result = merge_in_repo(*texts, path)
    except Exception as problem:  # a bug must not cost the user's edits: merge by lines
        result = line_merge(*texts, path, f"internal error: {problem!r}")
    Path(ours_file).write_bytes(result.text.encode("utf-8", errors="surrogateescape"))
    for message in result.notices:
        sys.stderr.write(f"ankiops-merge: {message}\n")
    for message in result.conflicts:
        sys.stderr.write(f"ankiops-merge: CONFLICT {message}\n")
    return 0 if result.clean else 1


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
