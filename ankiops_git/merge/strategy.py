"""The `git-merge-ankiops` merge strategy: git's own merge, then the carried edits.

git runs a merge driver only on files both sides changed. A note moved on one side
into a file the other side did not touch, and edited on the other side, needs both:
git's merge (`git merge-recursive`, which runs the driver on the deck files through
.gitattributes) and then the edit merged into the note's new file, which git took
from the moving side. The driver records such edits (carry.py) when the strategy
asks it to; the strategy applies them and stages the result, or leaves the file
unmerged with the conflict inside the note.

git calls a strategy as `git-merge-<name> [--<option>...] <base>... -- <head> <remote>`;
it must leave index and working tree merged, exit 0 when clean, 1 when conflicts
remain, 2 when it cannot handle the merge (git then restores the state).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ankiops_git.errors import AnkiOpsError
from ankiops_git.merge import carry
from ankiops_git.merge.deck import Carried, merge_texts
from ankiops_git.merge.repo import CARRY_ENV, HEADS_ENV, note_types_at, repo_locator

CLEAN, CONFLICTS, NOT_HANDLED = 0, 1, 2
NO_OID = "0" * 40


@dataclass
class StrategyArgs:
    options: list[str]  # -X options, as `--<option>`
    bases: list[str]
    head: str
    remotes: list[str]


@dataclass
class StrategyResult:
    status: int  # CLEAN, CONFLICTS or NOT_HANDLED
    stdout: str = ""  # git merge-recursive's output, to pass on
    stderr: str = ""
    conflicts: list[str] = field(default_factory=list)  # conflicts in carried edits
    notices: list[str] = field(default_factory=list)  # what the strategy did beyond git


def parse_args(args: Sequence[str]) -> StrategyArgs:
    """`[--<option>...] <base>... -- <head> <remote>...` as git passes them."""
    if "--" not in args:
        raise AnkiOpsError("usage: git-merge-ankiops [--OPTION...] BASE... -- HEAD REMOTE")
    split = list(args).index("--")
    before, after = list(args[:split]), list(args[split + 1 :])
    if len(after) < 2:
        raise AnkiOpsError("usage: git-merge-ankiops [--OPTION...] BASE... -- HEAD REMOTE")
    options = [a for a in before if a.startswith("--")]
    bases = [a for a in before if not a.startswith("--")]
    return StrategyArgs(options, bases, after[0], after[1:])


def _git(
    root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        check=False,
    )


def _out(root: Path, *args: str) -> str:
    done = _git(root, *args)
    if done.returncode != 0:
        raise AnkiOpsError(f"`git {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def merge(args: StrategyArgs, cwd: Path) -> StrategyResult:
    """Merge `args.remotes[0]` into the index and working tree at `cwd`."""
    if len(args.remotes) != 1:
        return StrategyResult(NOT_HANDLED, stderr="git-merge-ankiops: merges two heads only\n")
    root = Path(_out(cwd, "rev-parse", "--show-toplevel"))
    ours = _out(root, "rev-parse", "--verify", f"{args.head}^{{commit}}")
    theirs = _out(root, "rev-parse", "--verify", f"{args.remotes[0]}^{{commit}}")
    record = Path(_out(root, "rev-parse", "--git-path", f"ankiops/merge-carry-{os.getpid()}"))
    record = record if record.is_absolute() else root / record
    record.parent.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)
    env = {**os.environ, CARRY_ENV: str(record), HEADS_ENV: f"{ours} {theirs}"}
    try:
        done = _git(
            root, "merge-recursive", *args.options, *args.bases, "--", args.head, theirs, env=env
        )
        if done.returncode not in (CLEAN, CONFLICTS):
            return StrategyResult(NOT_HANDLED, done.stdout, done.stderr)
        result = StrategyResult(done.returncode, done.stdout, done.stderr)
        try:
            _finish(root, carry.read(record), [ours, theirs], result)
        except Exception as problem:  # git's merge is done: stop with what is there
            result.conflicts.append(
                f"internal error after git's merge ({problem!r}); edits to moved notes may "
                "be missing: compare the result with both sides before committing"
            )
    finally:
        record.unlink(missing_ok=True)
    if result.conflicts:
        result.status = CONFLICTS
    return result


def _finish(root: Path, carried: list[Carried], heads: list[str], result: StrategyResult) -> None:
    """After git's merge: carried edits, then deck files emptied by moves."""
    apply_carried(root, carried, result)
    resolved, more = _emptied_files(root, heads)
    result.notices += [
        f"{p}: removed, as the side that deleted it moved its notes" for p in resolved
    ]
    apply_carried(root, more, result)
    if resolved and result.status == CONFLICTS and not _unmerged(root):
        result.status = CLEAN


def apply_carried(root: Path, carried: list[Carried], result: StrategyResult) -> None:
    """Apply carried edits, file by file; conflicts and notices go into `result`."""
    by_destination: dict[str, list[Carried]] = {}
    for c in carried:
        by_destination.setdefault(c.destination, []).append(c)
    for destination, items in by_destination.items():
        conflicts = _apply_to_file(root, destination, items)
        result.conflicts += conflicts
        if not conflicts:
            result.notices += [
                f"{destination}: note {c.note_id}, moved here from {c.source} by {c.mover}, "
                f"with the edit {c.stayer} made there"
                for c in items
            ]


def _apply_to_file(root: Path, path: str, items: list[Carried]) -> list[str]:
    """Merge the carried edits into `path` in the working tree and index; its conflicts."""
    file = root / path
    text = file.read_bytes().decode("utf-8", errors="surrogateescape") if file.exists() else ""
    try:
        applied = carry.apply(text, path, items, note_types_at(root))
    except Exception as problem:  # a bug must not cost the user the edit: append it as is
        applied = carry.appended(text, path, items, f"internal error: {problem!r}")
    file.write_bytes(applied.result.text.encode("utf-8", errors="surrogateescape"))
    listed = _out(root, "ls-files", "-s", "--", path).splitlines()
    if any(line.split()[2] != "0" for line in listed):
        return applied.result.conflicts  # git left it unmerged already: keep its stages
    if applied.stages is None:
        _out(root, "update-index", "--add", "--", path)
        return []
    mode = listed[0].split()[0] if listed else "100644"
    entries = [f"0 {NO_OID}\t{path}"]
    for stage, stage_text in enumerate(applied.stages, start=1):
        done = _git(root, "hash-object", "-w", "--stdin", "--path", path, stdin=stage_text)
        if done.returncode != 0:
            raise AnkiOpsError(f"`git hash-object` failed: {done.stderr.strip()}")
        entries.append(f"{mode} {done.stdout.strip()} {stage}\t{path}")
    done = _git(root, "update-index", "--index-info", stdin="\n".join(entries) + "\n")
    if done.returncode != 0:
        raise AnkiOpsError(f"`git update-index` failed for {path}: {done.stderr.strip()}")
    return applied.result.conflicts


def _unmerged(root: Path) -> dict[str, dict[int, str]]:
    """Paths git left unmerged: stage number -> blob id."""
    found: dict[str, dict[int, str]] = {}
    for entry in _out(root, "ls-files", "-u", "-z").split("\0"):
        if not entry:
            continue
        info, path = entry.split("\t", 1)
        _mode, oid, stage = info.split()
        found.setdefault(path, {})[int(stage)] = oid
    return found


def _emptied_files(root: Path, heads: list[str]) -> tuple[list[str], list[Carried]]:
    """Resolve git's modify/delete conflicts on deck files that one side deleted after
    moving its notes elsewhere: when the note-by-note merge of the file (the deleted
    side as an empty file) is clean and leaves no note, the file goes, and the other
    side's edits to the moved notes go with them (returned, to be carried)."""
    resolved: list[str] = []
    carried: list[Carried] = []
    for path, stages in _unmerged(root).items():
        if 1 not in stages or (2 in stages) == (3 in stages):
            continue  # not a modify/delete
        attribute = _out(root, "check-attr", "merge", "--", path).rsplit(": ", 1)[-1]
        if attribute != "ankiops":
            continue
        base, ours, theirs = (
            _out_raw(root, "cat-file", "blob", stages[k]) if k in stages else "" for k in (1, 2, 3)
        )
        locate = repo_locator(path, (base, ours, theirs), root, carry=True, heads=heads)
        if locate is None:
            continue
        merged = merge_texts(base, ours, theirs, path, locate, note_types_at(root))
        if not merged.clean or merged.deck is None or merged.deck.notes:
            continue  # an edit to a note that was deleted, or a new note: git's conflict stays
        _out(root, "update-index", "--force-remove", "--", path)
        (root / path).unlink(missing_ok=True)
        resolved.append(path)
        carried += merged.carried
    return resolved, carried


def _out_raw(root: Path, *args: str) -> str:
    done = _git(root, *args)
    if done.returncode != 0:
        raise AnkiOpsError(f"`git {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout
