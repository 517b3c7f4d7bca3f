"""Real git repositories for tests.

`git_env`: an environment with a fixed identity, no system or user git config, and
this venv's programs (git-remote-anki, ankiops-merge, git-merge-ankiops) first on
PATH. `DeckRepo`: a repository of deck files whose merges are configured as
`ankiops-git init` configures them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ankiops_git import deckfile
from ankiops_git.model import Deck, Note
from ankiops_git.sync import GUARD_ENV

BIN = Path(sys.executable).parent


def git_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """os.environ for running git as a user would; HOME moved only if `home` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        GIT_AUTHOR_NAME="Tess Ter",
        GIT_AUTHOR_EMAIL="tess@example.org",
        GIT_COMMITTER_NAME="Tess Ter",
        GIT_COMMITTER_EMAIL="tess@example.org",
        GIT_CONFIG_NOSYSTEM="1",
    )
    if home is not None:
        env["HOME"] = str(home)
    env.pop(GUARD_ENV, None)
    env.update(extra)
    return env


def qa(note_id: int | None, q: str, a: str, tags: list[str] | None = None) -> Note:
    return Note("QA", {"Question": q, "Answer": a}, note_id, tags or [])


def deck_text(*notes: Note, deck_id: int = 1) -> str:
    return deckfile.write(Deck(list(notes), deck_id))


class DeckRepo:
    """Deck files `NAME.md` in a fresh repository on `main`, merged by our driver (and,
    with `hooks`, with the hooks that carry edits to moved notes, as init installs
    them: pre-merge-commit and pre-commit)."""

    def __init__(self, root: Path, hooks: bool = True) -> None:
        from ankiops_git.init import shim_text
        from ankiops_git.merge import pending

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.env = git_env(root.parent)
        self.git("init", "-q", "-b", "main")
        self.git("config", "merge.ankiops.driver", "ankiops-merge %O %A %B %P")
        if hooks:
            for name in pending.HOOKS:
                path = root / ".git" / "hooks" / name
                path.write_text(shim_text(name), encoding="utf-8")
                path.chmod(0o755)
        (root / ".gitattributes").write_text("*.md merge=ankiops\n")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, text=True, capture_output=True, check=check
        )

    def commit(self, message: str, **files: str | None) -> None:
        """Write (or, for None, delete) deck files, then commit everything."""
        for name, content in files.items():
            if content is None:
                (self.root / f"{name}.md").unlink()
            else:
                (self.root / f"{name}.md").write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def text(self, name: str) -> str:
        return (self.root / f"{name}.md").read_text()

    def deck(self, name: str) -> Deck:
        return deckfile.parse(self.text(name), f"{name}.md")

    def notes(self, name: str) -> list[Note]:
        return self.deck(name).notes

    def merge(self, branch: str, *options: str) -> subprocess.CompletedProcess[str]:
        """`git merge`, finished with `git commit` when the hook staged carried edits and
        asks for it (as a user would); the outputs of both."""
        return self.finished(self.git("merge", "--no-edit", *options, branch, check=False))

    def finished(self, done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        """A merge (or pull) followed by `git commit` if the hook asks for it."""
        if done.returncode == 1 and "`git commit` finishes the merge" in done.stderr:
            finished = self.git("commit", "--no-edit", check=False)
            return subprocess.CompletedProcess(
                done.args,
                finished.returncode,
                done.stdout + finished.stdout,
                done.stderr + finished.stderr,
            )
        return done

    def status(self) -> str:
        return self.git("status", "--porcelain").stdout
