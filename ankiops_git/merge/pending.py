"""Edits carried to moved notes, pending until the merge is committed.

A note moved from A.md to B.md on one side and edited in A.md on the other: git runs
the merge driver on A.md but takes B.md from the moving side. The driver drops the
note from A.md and records the edit (carry.py) in .git/ankiops/merge-carry-<theirs>,
named by the commit being merged in; the pre-merge-commit hook (a merge git commits
by itself) or the pre-commit hook (a merge the user finishes) merges it into B.md,
stages it, and removes the record. No merge strategy on PATH is needed, so a git GUI
with a bare PATH merges deck-aware too.

The driver records only where these hooks are installed (`ankiops-git init`):
elsewhere nothing would apply the record, and the edit would be lost, so the driver
keeps the note where the edit is instead (git then shows it in both files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git.programs import HOOK_MARKER

PREFIX = "merge-carry-"
HOOKS = ("pre-merge-commit", "pre-commit")  # both apply the record


def record_path(git_dir: Path, theirs: str) -> Path:
    return git_dir / "ankiops" / f"{PREFIX}{theirs}"


def _hooks_dir(repo: pygit2.Repository) -> Path:
    configured = repo.config["core.hooksPath"] if "core.hooksPath" in repo.config else None  # noqa: SIM401
    if configured:
        path = Path(str(configured)).expanduser()
        return path if path.is_absolute() else Path(repo.workdir or repo.path) / path
    return Path(repo.path) / "hooks"


def hooks_installed(repo: pygit2.Repository) -> bool:
    """Whether the hooks that apply recorded edits are ours."""
    folder = _hooks_dir(repo)
    try:
        return all(HOOK_MARKER in (folder / name).read_text(errors="replace") for name in HOOKS)
    except OSError:
        return False


def merging_in(git_dir: Path) -> str | None:
    """The commit being merged: GITHEAD_<sha> (git merge sets it for its hooks and
    drivers), else MERGE_HEAD (a merge the user finishes)."""
    heads = [k.removeprefix("GITHEAD_") for k in os.environ if k.startswith("GITHEAD_")]
    if len(heads) == 1:
        return heads[0]
    try:
        lines = (git_dir / "MERGE_HEAD").read_text(encoding="ascii").split()
    except OSError:
        return None
    return lines[0] if len(lines) == 1 else None


@dataclass
class Applied:
    notices: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def apply_pending(root: Path, git_dir: Path) -> Applied:
    """Merge the recorded edits of the merge under way into their files and stage them;
    records of other (aborted) merges are removed."""
    theirs = merging_in(git_dir)
    folder = git_dir / "ankiops"
    found = sorted(folder.glob(PREFIX + "*")) if folder.is_dir() else []
    applied = Applied()
    for record in found:
        if theirs is not None and record == record_path(git_dir, theirs):
            from ankiops_git.merge import carry
            from ankiops_git.merge.strategy import CLEAN, StrategyResult, apply_carried

            result = StrategyResult(CLEAN)
            apply_carried(root, carry.read(record), result)
            applied.notices += result.notices
            applied.conflicts += result.conflicts
        record.unlink(missing_ok=True)
    return applied
