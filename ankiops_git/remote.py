"""`git-remote-anki`: the git remote-helper protocol loop (gitremote-helpers(7))."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write("git-remote-anki: not implemented yet\n")
    sys.exit(1)
