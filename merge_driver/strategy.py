"""`git-merge-ankiops`: merge strategy for `git pull` (pull.twohead). Not implemented yet."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write("git-merge-ankiops: not implemented yet\n")
    sys.exit(2)
