"""Entry point of `ankiops-hook NAME`: the program git's hook shims call."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write("ankiops-hook: not implemented yet\n")
    sys.exit(1)


if __name__ == "__main__":
    main()
