"""Entry point of `ankiops-merge`."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write("ankiops-merge: not implemented yet\n")
    sys.exit(1)


if __name__ == "__main__":
    main()
