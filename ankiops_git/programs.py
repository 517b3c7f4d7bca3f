"""Where ankiops-git's own programs are installed, and an environment that finds them.

git finds `git-remote-anki` and the `git-merge-ankiops` strategy only on PATH, and
hooks run from GUI clients get a bare PATH: whatever runs git for us puts our
programs' folder first.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ankiops_git.errors import AnkiOpsError

GUARD_ENV = "ANKIOPS_GIT_IN_HOOK"  # set while a hook runs git: hooks then do nothing
HOOK_MARKER = "# ankiops-git hook shim"  # in every hook `ankiops-git init` writes


def program(name: str) -> str:
    """Absolute path of an installed program: beside this Python first (the venv)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise AnkiOpsError(f"`{name}` is not installed; reinstall ankiops-git (pip install -e .).")
    return str(Path(found).resolve())


def bin_dir() -> str:
    """The folder holding git-remote-anki, git-merge-ankiops and ankiops-hook."""
    return str(Path(program("git-remote-anki")).parent)


def git_env(**extra: str) -> dict[str, str]:
    """os.environ with our programs first on PATH, plus `extra`."""
    path = os.environ.get("PATH", "")
    return dict(os.environ, PATH=bin_dir() + (os.pathsep + path if path else ""), **extra)
