"""git-remote-anki speaks gitremote-helpers(7): driven over stdin/stdout like git does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pygit2

VENV_BIN = Path(sys.executable).parent


def helper(repo: Path, spec: str, commands: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "git-remote-anki"), "anki", f"anki::{spec}"],
        input=commands,
        env={"GIT_DIR": str(repo / ".git"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_capabilities_options_and_list_for_push(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path), initial_head="main")
    sig = pygit2.Signature("Anki", "anki@ankiops-git")
    tree = repo.TreeBuilder().write()
    commit = repo.create_commit(None, sig, sig, "x", tree, [])
    repo.create_reference_direct("refs/remotes/anki/main", commit, True)
    # `list for-push` answers from anki/main without opening Anki (the spec is unused).
    result = helper(
        tmp_path,
        "/nonexistent/collection.anki2",
        "capabilities\noption verbosity 1\noption cloning true\nlist for-push\n\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"fetch\npush\noption\n\nok\nunsupported\n{commit} refs/heads/main\n\n"


def test_unreachable_anki_is_one_clear_line(tmp_path: Path) -> None:
    pygit2.init_repository(str(tmp_path), initial_head="main")
    result = helper(tmp_path, "/nonexistent/collection.anki2", "capabilities\nlist\n\n")
    assert result.returncode == 1
    assert "No Anki collection at /nonexistent/collection.anki2" in result.stderr
    assert "Traceback" not in result.stderr
