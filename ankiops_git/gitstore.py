"""pygit2 plumbing: open the repository, read and write trees, commits and refs.

Everything here works on the object database and refs only; it never touches the
working tree, so the remote helper can use it while git holds the index.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pygit2

from ankiops_git.errors import AnkiOpsError

ANKI_REF = "refs/remotes/anki/main"  # where Anki's state lives locally
REMOTE_BRANCH = "refs/heads/main"  # the one branch the `anki` remote offers
ANKI_NAME = "Anki"
ANKI_EMAIL = "anki@ankiops-git"

FILE_MODE = pygit2.enums.FileMode.BLOB
TREE_MODE = pygit2.enums.FileMode.TREE

# path -> (blob id, file mode), for every blob in a tree, paths with "/"
Files = dict[str, tuple[pygit2.Oid, int]]


def open_repo(start: Path | str | None = None) -> pygit2.Repository:
    """The repository at GIT_DIR (as git sets it for helpers and hooks), else around `start`."""
    git_dir = os.environ.get("GIT_DIR")
    if git_dir and start is None:
        return pygit2.Repository(git_dir)
    found = pygit2.discover_repository(str(start or Path.cwd()))
    if found is None:
        raise AnkiOpsError(
            f"{start or Path.cwd()}: not inside a git repository. Run `ankiops-git init` first."
        )
    return pygit2.Repository(found)


def workdir(repo: pygit2.Repository) -> Path:
    if repo.workdir is None:
        raise AnkiOpsError(f"{repo.path}: a bare repository has no deck files; use a clone.")
    return Path(repo.workdir)


def state_dir(repo: pygit2.Repository) -> Path:
    """Private state of ankiops-git inside .git (never committed)."""
    path = Path(repo.path) / "ankiops"
    try:
        path.mkdir(exist_ok=True)
    except OSError as e:  # a file there, or no room
        raise AnkiOpsError(
            f"{path}: ankiops-git keeps its sync state in this folder and cannot make it "
            f"({e.strerror}). Move what is there away (mv {path} {path}.old) and run the "
            f"command again: the state is rebuilt from Anki and the files."
        ) from e
    return path


def ref_target(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    ref = repo.references.get(name)
    if ref is None:
        return None
    return ref.resolve().target  # type: ignore[return-value]


def head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    if repo.head_is_unborn:
        return None
    return repo.head.peel(pygit2.Commit)


def branch_name(repo: pygit2.Repository) -> str | None:
    """The checked-out branch ("main"), also when it has no commit yet; None if detached."""
    if repo.head_is_detached:
        return None
    target = repo.references["HEAD"].target
    name = str(target)
    return name.removeprefix("refs/heads/")


def set_ref(repo: pygit2.Repository, name: str, oid: pygit2.Oid, message: str) -> None:
    repo.create_reference_direct(name, oid, True, message=message)


def commit_of(repo: pygit2.Repository, oid: pygit2.Oid | str) -> pygit2.Commit:
    return repo.get(oid).peel(pygit2.Commit)  # type: ignore[union-attr]


def is_ancestor(repo: pygit2.Repository, ancestor: pygit2.Oid, descendant: pygit2.Oid) -> bool:
    return ancestor == descendant or repo.descendant_of(descendant, ancestor)


def tree_files(repo: pygit2.Repository, tree: pygit2.Tree | None) -> Files:
    files: Files = {}
    if tree is None:
        return files

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for entry in t:
            path = prefix + str(entry.name)
            if entry.type_str == "tree":
                walk(repo.get(entry.id), path + "/")  # type: ignore[arg-type]
            else:
                files[path] = (entry.id, entry.filemode)

    walk(tree, "")
    return files


def blob_bytes(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    return bytes(repo.get(oid).data)  # type: ignore[union-attr]


def blob_text(repo: pygit2.Repository, oid: pygit2.Oid) -> str:
    data = blob_bytes(repo, oid)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AnkiOpsError(f"blob {oid}: not UTF-8 text ({e}).") from e


def write_blob(repo: pygit2.Repository, text: str) -> pygit2.Oid:
    return repo.create_blob(text.encode("utf-8"))


def build_tree(
    repo: pygit2.Repository, files: Files, base: tuple[pygit2.Oid, Files] | None = None
) -> pygit2.Oid:
    """Write a (nested) tree holding exactly `files`. `base`: a tree and its files, most
    of them the same: when only top-level entries differ, the tree is that tree with
    those entries changed (a one-file change to a 2,000-file tree: 1 insert, not 2,000).
    """
    if base is not None:
        base_tree, base_files = base
        changed = {p for p in files.keys() | base_files.keys() if files.get(p) != base_files.get(p)}
        if not any("/" in p for p in changed):
            builder = repo.TreeBuilder(base_tree)
            for path in sorted(changed):
                if path in files:
                    builder.insert(path, *files[path])
                else:
                    builder.remove(path)
            return builder.write()
    top: dict[str, tuple[pygit2.Oid, int]] = {}
    subdirs: dict[str, Files] = {}
    for path, entry in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            subdirs.setdefault(head, {})[rest] = entry
        else:
            top[path] = entry
    builder = repo.TreeBuilder()
    for name, (oid, mode) in sorted(top.items()):
        builder.insert(name, oid, mode)
    for name, sub in sorted(subdirs.items()):
        builder.insert(name, build_tree(repo, sub), TREE_MODE)
    return builder.write()


def anki_signature() -> pygit2.Signature:
    return pygit2.Signature(ANKI_NAME, ANKI_EMAIL, int(time.time()), 0)


def user_signature(repo: pygit2.Repository) -> pygit2.Signature:
    """The user's identity (env or config), else a stand-in so init never fails on it."""
    name = os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_AUTHOR_EMAIL")
    if name and email:
        return pygit2.Signature(name, email)
    try:
        return repo.default_signature
    except (KeyError, pygit2.GitError):
        return pygit2.Signature("ankiops-git", "ankiops-git@localhost")


def create_commit(
    repo: pygit2.Repository,
    tree: pygit2.Oid,
    parents: list[pygit2.Oid],
    message: str,
    author: pygit2.Signature,
) -> pygit2.Oid:
    """A commit object only; no ref moves (callers decide which ref points at it)."""
    return repo.create_commit(None, author, author, message, tree, parents)
