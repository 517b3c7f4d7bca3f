"""The repository around a merge driver run: the three trees, and where notes went.

git runs the driver once per file, with temporary copies of the three versions and
no MERGE_HEAD yet; `git merge` does put the other side's commit in the environment
as GITHEAD_<sha>, and the `git-merge-ankiops` strategy names both commits in
ANKIOPS_MERGE_HEADS. From those two commits and their merge base we read the other
deck files, so a note that moved between files on one side keeps the other side's
edits. Under the strategy (ANKIOPS_MERGE_CARRY names its record file) an edit whose
note moved into a file git takes without the driver is recorded for the strategy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pygit2

from ankiops_git import config as config_module
from ankiops_git import deckfile
from ankiops_git.errors import AnkiOpsError, DeckFileError
from ankiops_git.merge.deck import Elsewhere, Located, MergeResult, ids_to_locate, merge_texts
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteTypes

HISTORY_LIMIT = 200  # commits per side searched for a new note's pushed version
CARRY_ENV = "ANKIOPS_MERGE_CARRY"  # set by the strategy: where the driver records carries
HEADS_ENV = "ANKIOPS_MERGE_HEADS"  # set by the strategy: "<ours sha> <theirs sha>"


def _commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit | None:
    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return commit if isinstance(commit, pygit2.Commit) else None


def merge_heads(
    repo: pygit2.Repository, named: list[str] | None = None
) -> tuple[pygit2.Commit, pygit2.Commit] | None:
    """(ours, theirs) of the merge under way: `named` (revisions), else as the strategy
    names them in the environment, else HEAD and `theirs_commit`."""
    named = named or os.environ.get(HEADS_ENV, "").split()
    if len(named) == 2:
        ours, theirs = (_commit(repo, rev) for rev in named)
        return (ours, theirs) if ours is not None and theirs is not None else None
    try:
        head = repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError):
        return None
    other = theirs_commit(repo)
    return (head, other) if isinstance(head, pygit2.Commit) and other is not None else None


def theirs_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    """The commit being merged in: GITHEAD_<sha> from `git merge`, else MERGE_HEAD."""
    heads = [k.removeprefix("GITHEAD_") for k in os.environ if k.startswith("GITHEAD_")]
    if len(heads) == 1:
        return _commit(repo, heads[0])
    if heads:
        return None  # an octopus merge: no single other side
    merge_head = Path(repo.path) / "MERGE_HEAD"
    if merge_head.is_file():
        lines = merge_head.read_text(encoding="ascii", errors="replace").split()
        if len(lines) == 1:
            return _commit(repo, lines[0])
    return None


def _text(blob: pygit2.Object) -> str:
    assert isinstance(blob, pygit2.Blob)
    return blob.data.decode("utf-8", errors="surrogateescape")


def _blob_id(tree: pygit2.Tree | None, path: str) -> pygit2.Oid | None:
    if tree is None:
        return None
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry.id if entry.type_str == "blob" else None


class _Trees:
    """Blob reads and parses, cached by blob id."""

    def __init__(self, repo: pygit2.Repository, types: NoteTypes = BUILTIN) -> None:
        self.repo = repo
        self.types = types
        self.texts: dict[pygit2.Oid, str] = {}
        self.decks: dict[pygit2.Oid, Deck | None] = {}

    def text(self, oid: pygit2.Oid) -> str:
        if oid not in self.texts:
            self.texts[oid] = _text(self.repo[oid])
        return self.texts[oid]

    def deck(self, oid: pygit2.Oid, path: str) -> Deck | None:
        if oid not in self.decks:
            try:
                self.decks[oid] = deckfile.parse(self.text(oid), path, self.types)
            except DeckFileError:
                self.decks[oid] = None  # a broken file elsewhere tells us nothing
        return self.decks[oid]


def _deck_paths(repo: pygit2.Repository, trees: list[pygit2.Tree | None]) -> list[str]:
    """Deck files at the top of any of the trees (as deckfile.deck_files sees a folder)."""
    try:
        config = config_module.load(Path(repo.workdir or "."))
    except AnkiOpsError:
        config = config_module.Config()
    names: set[str] = set()
    for tree in trees:
        for entry in tree or []:
            name = entry.name or ""
            if (
                entry.type_str == "blob"
                and name.endswith(deckfile.SUFFIX)
                and not name.startswith(".")
                and not deckfile.is_excluded(name, config)
            ):
                names.add(name)
    return sorted(names)


def _earlier_notes(
    repo: pygit2.Repository, trees: _Trees, head: pygit2.Oid, base: pygit2.Oid, path: str
) -> list[Note]:
    """Notes without an id in `path` in the commits after `base` up to `head`."""
    notes: list[Note] = []
    seen: set[pygit2.Oid] = set()
    walker = repo.walk(head, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(base)
    for count, commit in enumerate(walker):
        if count >= HISTORY_LIMIT:
            break
        oid = _blob_id(commit.tree, path)
        if oid is None or oid in seen:
            continue
        seen.add(oid)
        deck = trees.deck(oid, path)
        if deck is not None:
            notes += [n for n in deck.notes if n.note_id is None]
    return notes


def _discover(start: Path | None) -> pygit2.Repository | None:
    """The repository around `start` (the current folder), if there is one."""
    try:
        found = pygit2.discover_repository(str(start or Path.cwd()))
        return pygit2.Repository(found) if found is not None else None
    except (pygit2.GitError, KeyError, ValueError):
        return None


def repo_locator(
    path: str,
    texts: tuple[str, str, str],
    start: Path | None = None,
    carry: bool = False,
    heads: list[str] | None = None,
) -> Callable[[Deck, Deck, Deck], Elsewhere | None] | None:
    """A locator for `merge_texts`, or None when not inside a two-headed `git merge` whose
    trees hold exactly the three given versions of `path` (then the merge sees one file).
    `carry`: the merge may return edits for files git takes from one side (Elsewhere).
    `heads`: ours and theirs, if the caller knows them (see `merge_heads`)."""
    repo = _discover(start)
    if repo is None:
        return None
    commits = merge_heads(repo, heads)
    if commits is None:
        return None
    ours, theirs = commits
    base_id = repo.merge_base(ours.id, theirs.id)
    if base_id is None:
        return None
    base = repo[base_id].peel(pygit2.Commit)
    tree_list: list[pygit2.Tree | None] = [base.tree, ours.tree, theirs.tree]
    trees = _Trees(repo, note_types_of(repo))
    for tree, text in zip(tree_list, texts, strict=True):
        oid = _blob_id(tree, path)
        if (trees.text(oid) if oid is not None else "") != text:
            return None  # a virtual base or a rename: the trees do not describe this merge

    def locate(base_deck: Deck, ours_deck: Deck, theirs_deck: Deck) -> Elsewhere | None:
        ids = ids_to_locate(base_deck, ours_deck, theirs_deck)
        elsewhere = Elsewhere(carry=carry)
        if ids:
            _locate_ids(repo, trees, tree_list, path, ids, elsewhere)
        if any(n.note_id is None for d in (ours_deck, theirs_deck) for n in d.notes):
            for side, head in (("ours", ours.id), ("theirs", theirs.id)):
                elsewhere.earlier[side] = _earlier_notes(repo, trees, head, base_id, path)
        return elsewhere

    return locate


def _locate_ids(
    repo: pygit2.Repository,
    trees: _Trees,
    tree_list: list[pygit2.Tree | None],
    path: str,
    ids: set[int],
    elsewhere: Elsewhere,
) -> None:
    needles = [str(i) for i in ids]
    others = [p for p in _deck_paths(repo, tree_list) if p != path]
    touched: set[str] = set()
    for side, tree in enumerate(tree_list):
        index = elsewhere.side(side)
        for other in others:
            oid = _blob_id(tree, other)
            if oid is None:
                continue
            text = trees.text(oid)
            if not any(needle in text for needle in needles):
                continue  # cheap test first: most files hold none of the ids
            deck = trees.deck(oid, other)
            for note in deck.notes if deck is not None else []:
                if note.note_id in ids and note.note_id not in index:
                    index[note.note_id] = Located(other, note)
                    touched.add(other)
    attribute = repo.get_attr(path, "merge")
    driven: set[str] = set()
    one_sided: set[str] = set()
    for other in touched:
        b, o, t = (_blob_id(tree, other) for tree in tree_list)
        both_changed = o is not None and t is not None and len({b, o, t}) == 3
        if both_changed and repo.get_attr(other, "merge") == attribute:
            driven.add(other)
        else:
            elsewhere.taken[other] = "theirs" if o == b else "ours"
            if len({b, o, t}) < 3:
                one_sided.add(other)
    elsewhere.merged_by_driver = frozenset(driven)
    elsewhere.one_sided = frozenset(one_sided)


def _pending_record(start: Path | None) -> str | None:
    """Where a plain `git merge` records carried edits for the hooks (merge/pending.py),
    if they are installed to apply them."""
    from ankiops_git.merge import pending

    repo = _discover(start)
    if repo is None:
        return None
    theirs = pending.merging_in(Path(repo.path))
    if theirs is None or not pending.hooks_installed(repo):
        return None
    path = pending.record_path(Path(repo.path), theirs)
    path.parent.mkdir(exist_ok=True)
    return str(path)


def note_types_of(repo: pygit2.Repository | None) -> NoteTypes:
    """The note types the repository's ankiops.toml declares (the built-ins if it has
    none, or cannot be read: the merge then sees those notes line by line)."""
    if repo is None or repo.workdir is None:
        return BUILTIN
    return note_types_at(Path(repo.workdir))


def note_types_at(root: Path) -> NoteTypes:
    try:
        return config_module.load(root).note_types
    except AnkiOpsError:
        return BUILTIN


def merge_in_repo(
    base: str, ours: str, theirs: str, path: str, start: Path | None = None
) -> MergeResult:
    """What the merge driver does: merge one deck file, seeing the repository if it can.
    Edits for other files are recorded (carry.py) where the strategy asked, or for the
    hooks (merge/pending.py)."""
    record_to = os.environ.get(CARRY_ENV) or _pending_record(start)
    texts = (base, ours, theirs)
    locate = repo_locator(path, texts, start, carry=bool(record_to))
    types = note_types_of(_discover(start))
    result = merge_texts(base, ours, theirs, path, locate, types)
    if record_to and result.carried:
        from ankiops_git.merge.carry import record

        record(Path(record_to), result.carried)
    return result
