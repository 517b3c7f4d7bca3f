"""The command line as a user meets it: help, version, validate from anywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitrepo import BIN, git_env


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, env=git_env(), capture_output=True, text=True, check=False
    )


def test_help_version_and_defaults(tmp_path: Path) -> None:
    short = run(tmp_path, str(BIN / "ankiops-git"), "-h")
    assert short.returncode == 0 and "Usage: ankiops-git" in short.stdout
    assert run(tmp_path, str(BIN / "ankiops-git"), "--version").stdout.startswith("ankiops-git")
    init = run(tmp_path, str(BIN / "ankiops-git"), "init", "-h").stdout
    assert "default: the current folder" in init and "http://127.0.0.1:8765" in init
    hook = run(tmp_path, str(BIN / "ankiops-hook"), "--help")
    assert hook.returncode == 0 and "post-commit" in hook.stdout and "unknown" not in hook.stdout


def test_validate_checks_the_repository_from_a_subfolder(tmp_path: Path) -> None:
    run(tmp_path, "git", "init", "-q")
    (tmp_path / "Deck.md").write_text("Q: fine\nA: yes\n\n---\n\nQ: no answer\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "Stray.md").write_text("Q: here?\nA: no\n")
    found = run(tmp_path / "notes", str(BIN / "ankiops-git"), "validate")
    assert found.returncode == 1
    assert "../Deck.md:6:1: error: QA note has no A:" in found.stdout  # as git names it
    assert "Stray.md:1:1: warning: this looks like a deck file, but deck files live at the" in (
        found.stdout
    )
    (tmp_path / "Deck.md").write_text("Q: fine\nA: yes\n")
    ok = run(tmp_path / "notes", str(BIN / "ankiops-git"), "validate")
    assert ok.returncode == 0
    assert f"validate: 1 deck file(s) in {tmp_path}: no errors, 1 warning(s)" in ok.stdout


def test_validate_with_no_deck_files_says_so(tmp_path: Path) -> None:
    run(tmp_path, "git", "init", "-q")
    empty = run(tmp_path, str(BIN / "ankiops-git"), "validate")
    assert empty.returncode == 1
    assert f"no deck files in {tmp_path}" in empty.stderr


def test_pull_outside_a_repository_is_one_clear_line(tmp_path: Path) -> None:
    outside = run(tmp_path, str(BIN / "ankiops-git"), "pull")
    assert outside.returncode == 1
    assert outside.stderr == (
        f"ankiops-git: {tmp_path}: not inside a git repository. Run `ankiops-git init` first.\n"
    )
    run(tmp_path, "git", "init", "-q")
    unwired = run(tmp_path, str(BIN / "ankiops-git"), "pull")
    assert unwired.returncode == 1 and "no `anki` remote" in unwired.stderr
    assert "fatal" not in unwired.stderr


def test_shell_completion_as_the_readme_shows_it(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_ANKIOPS_GIT_COMPLETE=bash_source ankiops-git)"' in readme
    script = run(tmp_path, "env", "_ANKIOPS_GIT_COMPLETE=bash_source", str(BIN / "ankiops-git"))
    assert "complete -o nosort -F _ankiops_git_completion ankiops-git" in script.stdout
    done = subprocess.run(
        [str(BIN / "ankiops-git")],
        env={
            **git_env(),
            "COMP_WORDS": "ankiops-git st",
            "COMP_CWORD": "1",
            "_ANKIOPS_GIT_COMPLETE": "bash_complete",
        },
        capture_output=True,
        text=True,
    )
    assert done.stdout.splitlines() == ["plain,status"]
