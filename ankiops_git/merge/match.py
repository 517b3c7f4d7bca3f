"""Which notes of the three versions of a deck file are the same note.

Notes with an id are matched by id. A note without an id is matched to a note of
another version that has no id, or whose id that version does not know (the id
Anki just assigned): by equal content first, in file order, then by similar
content near the same position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import SequenceMatcher

from ankiops_git.errors import AnkiOpsError
from ankiops_git.model import Note

VERSIONS = ("base", "ours", "theirs")
SIMILAR = 0.6  # least similarity of two notes' text to be taken as one note, edited
FUZZY_LIMIT = 400  # beyond this many candidate pairs, compare only nearby notes
WINDOW = 20

Node = tuple[int, int]  # (version index into VERSIONS, note index in that version)


class DuplicateId(AnkiOpsError):
    """One version of the file holds the same note id twice."""


def content_key(note: Note) -> tuple[object, ...]:
    fields = tuple(sorted((k, v) for k, v in note.fields.items() if v))
    return (note.note_type, fields)


WORD = re.compile(r"\w+|[^\w\s]")


def note_words(note: Note) -> list[str]:
    """A note's words and punctuation marks, field by field."""
    return WORD.findall("\n".join(v for _, v in sorted(note.fields.items()) if v))


def similarity(a: list[str], b: list[str]) -> float:
    """How alike two notes' words are, 0..1 (difflib's ratio over words, not characters:
    as telling, and fast enough for hundreds of new notes)."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


class _Clusters:
    """Union-find over notes, keeping at most one note per version and one id per cluster."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}
        self.members: dict[Node, dict[int, int]] = {}  # root -> version -> note index
        self.ids: dict[Node, int | None] = {}

    def add(self, node: Node, note_id: int | None) -> None:
        self.parent[node] = node
        self.members[node] = {node[0]: node[1]}
        self.ids[node] = note_id

    def root(self, node: Node) -> Node:
        while self.parent[node] != node:
            node = self.parent[node]
        return node

    def can_join(self, a: Node, b: Node) -> bool:
        ra, rb = self.root(a), self.root(b)
        if ra == rb or set(self.members[ra]) & set(self.members[rb]):
            return False
        ia, ib = self.ids[ra], self.ids[rb]
        return ia is None or ib is None or ia == ib

    def join(self, a: Node, b: Node) -> None:
        ra, rb = self.root(a), self.root(b)
        self.parent[rb] = ra
        self.members[ra].update(self.members.pop(rb))
        self.ids[ra] = self.ids[ra] if self.ids[ra] is not None else self.ids.pop(rb)
        self.ids.pop(rb, None)


def _pair(
    left: list[tuple[Node, Note]],
    right: list[tuple[Node, Note]],
    clusters: _Clusters,
    fuzzy: Callable[[Node, Node], bool],
) -> None:
    """Join notes of two versions: equal content in order, then equal content anywhere,
    then similar content, closest positions first."""
    if not left or not right:
        return
    free_left = dict(left)
    free_right = dict(right)

    def take(a: Node, b: Node) -> None:
        if a in free_left and b in free_right and clusters.can_join(a, b):
            clusters.join(a, b)
            del free_left[a], free_right[b]

    lk = [content_key(n) for _, n in left]
    rk = [content_key(n) for _, n in right]
    for i, j, n in SequenceMatcher(None, lk, rk, autojunk=False).get_matching_blocks():
        for d in range(n):
            take(left[i + d][0], right[j + d][0])
    by_key: dict[tuple[object, ...], list[Node]] = {}
    for node, note in right:
        if node in free_right:
            by_key.setdefault(content_key(note), []).append(node)
    for node, note in left:
        for candidate in by_key.get(content_key(note), []):
            if node in free_left:
                take(node, candidate)

    rest_left = [(pos, x) for pos, x in enumerate(left) if x[0] in free_left]
    rest_right = [(pos, x) for pos, x in enumerate(right) if x[0] in free_right]
    nearby_only = len(rest_left) * len(rest_right) > FUZZY_LIMIT
    words = {node: note_words(note) for _, (node, note) in rest_left + rest_right}
    scored: list[tuple[float, int, Node, Node]] = []
    for pl, (a, na) in rest_left:
        for pr, (b, nb) in rest_right:
            distance = abs(pl * len(right) - pr * len(left)) // max(len(left), 1)
            if nearby_only and distance > WINDOW:
                continue
            if na.note_type != nb.note_type or not fuzzy(a, b):
                continue
            score = similarity(words[a], words[b])
            if score >= SIMILAR:
                scored.append((-score, distance, a, b))
    for _, _, a, b in sorted(scored):
        take(a, b)


def match(versions: tuple[list[Note], list[Note], list[Note]]) -> list[dict[int, int]]:
    """Clusters of the same note: each maps version index (0 base, 1 ours, 2 theirs) to the
    note's index in that version. Raises DuplicateId if a version repeats an id."""
    clusters = _Clusters()
    by_id: dict[int, Node] = {}
    ids: list[set[int]] = []
    for v, notes in enumerate(versions):
        seen: set[int] = set()
        for i, note in enumerate(notes):
            node = (v, i)
            clusters.add(node, note.note_id)
            if note.note_id is None:
                continue
            if note.note_id in seen:
                raise DuplicateId(f"note_id {note.note_id} appears twice in the {VERSIONS[v]}")
            seen.add(note.note_id)
            if note.note_id in by_id:
                clusters.join(by_id[note.note_id], node)
            else:
                by_id[note.note_id] = node
        ids.append(seen)

    def candidates(v: int, other: int) -> list[tuple[Node, Note]]:
        # Notes of version v that may be one of `other`'s notes without matching by id.
        return [
            ((v, i), n)
            for i, n in enumerate(versions[v])
            if n.note_id is None or n.note_id not in ids[other]
        ]

    def unpaired(cands: list[tuple[Node, Note]], other: int) -> list[tuple[Node, Note]]:
        return [
            (node, n) for node, n in cands if other not in clusters.members[clusters.root(node)]
        ]

    def gaps() -> dict[Node, Node | None]:
        """For each note of ours and theirs: the nearest note before it that both sides
        share (its cluster), so new notes can be compared within the same gap only."""
        result: dict[Node, Node | None] = {}
        for v, other in ((1, 2), (2, 1)):
            anchor: Node | None = None
            for i in range(len(versions[v])):
                root = clusters.root((v, i))
                if other in clusters.members[root]:
                    anchor = root
                result[(v, i)] = anchor
        return result

    def fuzzy(a: int, b: int) -> Callable[[Node, Node], bool]:
        # Similar, not equal, notes are one note edited only when that is the likely
        # story: a new note (no id, or an id Anki just assigned, which the base lacks)
        # against the base's new note, or against the other side's copy with its fresh
        # id in the same place. Two new notes without ids, one on each side, are one
        # note only if equal: both sides may add notes.
        gap = gaps() if a != 0 else {}

        def allowed(x: Node, y: Node) -> bool:
            notes = (versions[x[0]][x[1]], versions[y[0]][y[1]])
            with_id = [n.note_id for n in notes if n.note_id is not None]
            if not with_id:
                return a == 0
            fresh = len(with_id) == 1 and with_id[0] not in ids[0]
            return fresh and (a == 0 or gap[x] == gap[y])

        return allowed

    for a, b in ((0, 1), (0, 2), (1, 2)):
        left, right = candidates(a, b), candidates(b, a)
        # Two notes that both carry (different) ids are never one note.
        left_idless = [x for x in left if x[1].note_id is None]
        right_idless = [x for x in right if x[1].note_id is None]
        left_ids = [x for x in left if x[1].note_id is not None]
        right_ids = [x for x in right if x[1].note_id is not None]
        rule = fuzzy(a, b)
        _pair(unpaired(left_idless, b), unpaired(right_idless, a), clusters, rule)
        _pair(unpaired(left_idless, b), unpaired(right_ids, a), clusters, rule)
        _pair(unpaired(left_ids, b), unpaired(right_idless, a), clusters, rule)

    return [clusters.members[r] for r in clusters.members]
