"""Entry point of `ankiops-hook NAME`: the program git's hook shims call.

- pre-merge-commit (and pre-commit, for a merge the user finishes): merge the edits
  the merge driver carried to notes moved into other files (merge/pending.py).
- pre-commit, pre-merge-commit: validate the deck files being committed; refuse on
  errors (exit 1): a merge stops, uncommitted, for the user to finish.
- post-commit, post-merge: push the new HEAD to Anki, then bring new note ids back
  (fetch + fast-forward). These never fail the commit: if Anki is unreachable or has
  edits to merge first, they say so in one line and exit 0.

While a hook runs git itself (the fast-forward), GUARD_ENV is set, and any hook that
starts with it set returns at once, so hooks never re-trigger themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ankiops_git.errors import AnkiOpsError, printable
from ankiops_git.programs import GUARD_ENV

if TYPE_CHECKING:
    import pygit2

    from ankiops_git.validate import Identities

HOOKS = ("pre-commit", "post-commit", "post-merge", "pre-merge-commit", "post-rewrite")
STOPPING = ("pre-commit", "pre-merge-commit")  # a failure stops the commit (the shim passes it on)


def say(message: str) -> None:
    sys.stderr.write(printable(message) + "\n")


def git_lines(*args: str) -> list[str]:
    """NUL-separated output of a git command (it sees GIT_INDEX_FILE, as the commit does)."""
    out = subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout
    return [item for item in out.split("\0") if item]


def read_blobs(oids: list[str]) -> dict[str, bytes]:
    """The contents of these blobs, by one `git cat-file --batch`."""
    if not oids:
        return {}
    out = subprocess.run(
        ["git", "cat-file", "--batch"],
        input="\n".join(oids).encode() + b"\n",
        capture_output=True,
        check=True,
    ).stdout
    blobs: dict[str, bytes] = {}
    at = 0
    for oid in oids:  # "<oid> blob <size>\n<content>\n" each
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        blobs[oid] = out[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1
    return blobs


def pre_commit(merging: bool = False) -> int:
    """Validate the staged deck files (what the commit will hold, not the working tree);
    `merging`: those of a merge git is about to commit (a note each side moved to another
    file is in both files: git took each file from the side that changed it).

    The files the commit changes get every check; the other staged deck files only
    take part in the cross-file checks (duplicate note and deck ids), through their
    ids, which are kept by blob id in .git/ankiops so unchanged files are not read.
    It runs before every commit: it talks to git by its command line and loads neither
    pygit2 nor the sync code."""
    from ankiops_git import config as config_mod
    from ankiops_git import deckfile, validate

    where = ["git", "rev-parse", "--absolute-git-dir", "--show-toplevel"]
    git_dir, root = subprocess.run(where, capture_output=True, text=True, check=True).stdout.split(
        "\n"
    )[:2]
    staged = git_lines("ls-files", "--stage", "-z")
    # the settings the commit holds: the staged ankiops.toml, not the working tree's
    toml = [
        meta.split()[1]
        for meta, _, path in (e.partition("\t") for e in staged)
        if path == config_mod.CONFIG_NAME and meta.split()[2] == "0"
    ]
    config = config_mod.Config()
    if toml:
        text = blob_text(read_blobs(toml)[toml[0]], config_mod.CONFIG_NAME)
        config = config_mod.load(Path(root), text)
    changed = set(git_lines("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"))
    state = Path(git_dir) / "ankiops"
    cache = load_ids_cache(state)
    deck_blobs: dict[str, str] = {}
    nested: dict[str, str] = {}  # Markdown in subfolders this commit changes
    for entry in staged:
        meta, _, path = entry.partition("\t")
        if deckfile.is_deck_path(path, config):
            deck_blobs[path] = meta.split()[1]
        elif path in changed and "/" in path and path.endswith(deckfile.SUFFIX):
            nested[path] = meta.split()[1]
    nested_blobs = read_blobs(sorted(set(nested.values())))
    for path, oid in sorted(nested.items()):
        if validate.looks_like_a_deck(nested_blobs[oid].decode("utf-8", errors="replace")):
            say(f"{path}:1:1: warning: {validate.SUBFOLDER_DECK}")
    unread = [oid for path, oid in deck_blobs.items() if path in changed or oid not in cache]
    blobs = read_blobs(sorted(set(unread)))
    texts: dict[str, str] = {}
    others: dict[str, validate.Identities] = {}
    kept: dict[str, validate.Identities] = {}
    for path, oid in deck_blobs.items():
        if path in changed:
            texts[path] = blob_text(blobs[oid], path)
            continue
        ident = cache.get(oid)
        if ident is None:
            ident = validate.identities(blob_text(blobs[oid], path), path, config.note_types)
        others[path] = kept[oid] = ident
    if kept.keys() != cache.keys():
        save_ids_cache(state, kept)
    errors = 0
    found = validate.check_commit(texts, others, head_texts(sorted(texts)), config.note_types)
    for diag in found:
        say(f"{diag.path}:{diag.line}:{diag.col}: {diag.severity}: {diag.message}")
        errors += diag.severity == "error"
    if errors:
        what, then = ("merge not committed", ", then `git commit` finishes the merge")
        if not merging:
            what, then = "commit refused", " and commit again"
        say(f"ankiops: {what}: {errors} error(s) in deck files; fix them{then}.")
    return 1 if errors else 0


def head_texts(paths: list[str]) -> dict[str, str]:
    """These files' texts at HEAD (those that exist there and are UTF-8)."""
    if not paths:
        return {}
    listed = subprocess.run(
        ["git", "ls-tree", "-z", "HEAD", "--", *paths], capture_output=True, text=True
    )
    if listed.returncode != 0:
        return {}  # no commit yet
    oids = {}
    for entry in filter(None, listed.stdout.split("\0")):
        meta, _, path = entry.partition("\t")
        oids[path] = meta.split()[2]
    blobs = read_blobs(sorted(set(oids.values())))
    out = {}
    for path, oid in oids.items():
        try:
            out[path] = blobs[oid].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return out


def blob_text(data: bytes, path: str) -> str:
    from ankiops_git.validate import decode

    text = decode(data, path)
    if not isinstance(text, str):
        raise AnkiOpsError(str(text))
    return text


IDS_CACHE = "ids.json"  # blob id -> [deck id, [note id, line, note id, line, ...]]


def load_ids_cache(state: Path) -> dict[str, Identities]:
    from ankiops_git.validate import Identities

    try:
        data = json.loads((state / IDS_CACHE).read_text(encoding="utf-8"))
        cache = {str(oid): Identities(ident, tuple(flat)) for oid, (ident, flat) in data.items()}
        if any(len(ident.flat) % 2 for ident in cache.values()):
            raise ValueError("note ids and lines come in pairs")
        return cache
    except (OSError, ValueError, TypeError, AttributeError):
        return {}  # none yet, or unreadable: the files are scanned again


def save_ids_cache(state: Path, ids: dict[str, Identities]) -> None:
    data = {oid: [ident.deck_id, list(ident.flat)] for oid, ident in ids.items()}
    path = state / IDS_CACHE
    tmp = path.with_suffix(".tmp")
    try:
        state.mkdir(exist_ok=True)
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # only a cache: the next commit reads the files again


def synced_branch(repo: pygit2.Repository) -> str:
    """The branch `init` wired to Anki (git config ankiops.branch), main by default."""
    config = repo.config
    return str(config["ankiops.branch"]) if "ankiops.branch" in config else "main"


def post_commit(after_rebase: bool = False) -> int:
    """Push HEAD (on the synced branch) to Anki; never fails the commit. Mid-rebase it
    waits for the result (`after_rebase`: post-rewrite, the rebase is done)."""
    from ankiops_git import gitstore, sync
    from ankiops_git.errors import AnkiBusy, AnkiUnavailable
    from ankiops_git.push import PushRejected
    from ankiops_git.remote import adding_bar

    repo = gitstore.open_repo()
    if gitstore.branch_name(repo) != synced_branch(repo):
        return 0
    if not after_rebase and (
        os.path.exists(os.path.join(repo.path, "rebase-merge"))
        or os.path.exists(os.path.join(repo.path, "rebase-apply"))
    ):
        return 0  # mid-rebase: push once the result is there (post-rewrite)
    try:
        outcome = sync.push_head(repo, progress=adding_bar)
    except AnkiBusy as e:
        say(f"ankiops: Anki is slow to answer: {e} Your commit stands.")
        return 0
    except AnkiUnavailable as e:
        say(f"ankiops: Anki is not reachable ({e}); your commit stands. Push later: git push anki")
        return 0
    except PushRejected as e:
        if e.reason == "fetch first":
            say(
                "ankiops: Anki has edits not merged yet: "
                "run git pull anki; the merge pushes by itself"
            )
        else:
            say(f"ankiops: not pushed: {e}")
        return 0
    except AnkiOpsError as e:
        say(f"ankiops: not pushed to Anki: {e}")
        return 0
    for line in outcome.lines():
        say(line)
    return 0


def carry_pending(finishing: bool) -> int:
    """Before a merge commit: the edits the merge driver carried to moved notes go into
    their new files (merge/pending.py). 1 if that left a conflict to resolve; and, when
    git commits the merge by itself (not `finishing` one), 1 whenever something was
    carried: git commits the tree it merged, not the index this hook changed, so the
    user's `git commit` finishes the merge."""
    from ankiops_git.merge import pending

    where = ["git", "rev-parse", "--absolute-git-dir", "--show-toplevel"]
    git_dir, root = subprocess.run(where, capture_output=True, text=True, check=True).stdout.split(
        "\n"
    )[:2]
    applied = pending.apply_pending(Path(root), Path(git_dir))
    for notice in applied.notices:
        say(f"ankiops: {notice}")
    for conflict in applied.conflicts:
        say(f"ankiops: CONFLICT {conflict}")
    if applied.conflicts:
        say("ankiops: merge not committed: resolve the conflicts above, then `git commit`.")
        return 1
    if applied.notices and not finishing:
        say("ankiops: the carried edits are staged: `git commit` finishes the merge.")
        return 1
    return 0


def run(name: str) -> int:
    if os.environ.get(GUARD_ENV):
        return 0
    try:
        if name == "pre-merge-commit":
            return carry_pending(finishing=False) or pre_commit(merging=True)
        if name == "pre-commit":
            if carry_pending(finishing=True):
                return 1
            return pre_commit()
        if name in ("post-commit", "post-merge"):
            return post_commit()
        if name == "post-rewrite":  # after `git rebase` (an amend ran post-commit already)
            return post_commit(after_rebase=True) if sys.argv[2:3] == ["rebase"] else 0
    except AnkiOpsError as e:
        say(f"ankiops: {e}")
        return 1 if name in STOPPING else 0
    say(f"ankiops-hook: unknown hook {name!r} (known: {', '.join(HOOKS)})")
    return 2


USAGE = f"""usage: ankiops-hook {{{"|".join(HOOKS)}}}

The program the git hooks that `ankiops-git init` installs call:
  pre-commit    validate the deck files being committed; refuse on errors
  pre-merge-commit  carry edits of notes the other side moved into their new files,
                then validate the merge as pre-commit does
  post-commit   push the new commit to Anki, then write new note ids back
  post-merge    the same after a merge (`git pull anki`)
  post-rewrite  the same after a rebase (`git pull --rebase anki`)
A hook never fails a commit because Anki is unreachable: it says so and exits 0."""


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    try:
        code = run(sys.argv[1])
    except KeyboardInterrupt:
        # Every step is safe to repeat: nothing is half-done that a push cannot finish.
        say("ankiops: interrupted; your commit stands. Push later: git push anki")
        code = 130 if sys.argv[1] in STOPPING else 0
    sys.exit(code)


if __name__ == "__main__":
    main()
