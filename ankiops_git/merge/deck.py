"""Three-way merge of one deck file, note by note.

Notes are matched across the three versions (match.py), each note is merged
(notes.py), and the result keeps ours' order with the other side's additions after
their predecessor. With an `Elsewhere` (what the repository's other deck files
hold), a note that moved to another file on one side keeps the other side's edits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ankiops_git import deckfile
from ankiops_git.errors import DeckFileError
from ankiops_git.merge import lines
from ankiops_git.merge.match import DuplicateId, content_key, match
from ankiops_git.merge.notes import Outcome, merge_note, merge_value, same_content
from ankiops_git.model import Deck, Note
from ankiops_git.notetypes import BUILTIN, NoteTypes


@dataclass
class Located:
    """A note as one side has it in another deck file."""

    path: str
    note: Note


@dataclass
class Elsewhere:
    """What the rest of the repository says about notes that left or entered this file.

    `base`/`ours`/`theirs`: notes by id in the other deck files of each side's tree
    (only the ids this merge asked about). `merged_by_driver`: other files git passes
    through this driver too, which will merge their notes the same way. `taken`: for
    other files git resolves by itself, the side whose version it takes (`one_sided`:
    those of them only one side changed, so git takes that side's file as it is).
    `earlier`: notes without an id in this file in each side's commits since the merge
    base (to find the version a new note was pushed to Anki as). `carry`: a note moved
    into a one-sided file and edited here on the other side leaves this file and its
    edit is returned in `MergeResult.carried` (the `git-merge-ankiops` strategy applies
    it after git's merge) instead of staying here as a conflict.
    """

    base: dict[int, Located] = field(default_factory=dict)
    ours: dict[int, Located] = field(default_factory=dict)
    theirs: dict[int, Located] = field(default_factory=dict)
    merged_by_driver: frozenset[str] = frozenset()
    taken: dict[str, str] = field(default_factory=dict)
    earlier: dict[str, list[Note]] = field(default_factory=dict)
    one_sided: frozenset[str] = frozenset()
    carry: bool = False

    def side(self, index: int) -> dict[int, Located]:
        return (self.base, self.ours, self.theirs)[index]


@dataclass
class Carried:
    """An edit this file's merge could not place (see carry.py): note `note_id` moved
    from `source` to `destination` by `mover` ("ours"/"theirs"), and git takes
    `destination` from the mover without the driver; the other side edited the note in
    `source`: `base` and `edited` are its versions there."""

    source: str
    destination: str
    note_id: int
    mover: str
    base: Note
    edited: Note

    @property
    def stayer(self) -> str:
        return "theirs" if self.mover == "ours" else "ours"


@dataclass
class MergeResult:
    text: str
    conflicts: list[str]  # one message per conflict left in `text`
    deck: Deck | None = None  # the merged deck, when clean and parsed
    carried: list[Carried] = field(default_factory=list)  # edits to apply in other files
    notices: list[str] = field(default_factory=list)  # what the user should look at

    @property
    def clean(self) -> bool:
        return not self.conflicts


def ids_to_locate(base: Deck, ours: Deck, theirs: Deck) -> set[int]:
    """Ids present in some but not all versions of the file: moved, added or deleted."""
    sets = [{n.note_id for n in d.notes if n.note_id is not None} for d in (base, ours, theirs)]
    return (sets[0] | sets[1] | sets[2]) - (sets[0] & sets[1] & sets[2])


def merge_location(base: str | None, ours: str | None, theirs: str | None) -> str | None:
    """The file a note ends up in (None: nowhere). Moved on both sides differently: ours."""
    if ours == theirs or theirs == base or theirs is None:
        return ours if ours is not None else theirs
    if ours == base or ours is None:
        return theirs
    return ours


def _delivered(where: str, note_id: int, outcome: Outcome, elsewhere: Elsewhere) -> bool:
    """Whether file `where` will hold the merged note without this file's help."""
    if where in elsewhere.merged_by_driver:
        return True  # its own merge computes the same outcome
    if outcome.conflict or outcome.note is None:
        return False
    side = elsewhere.theirs if elsewhere.taken.get(where) == "theirs" else elsewhere.ours
    found = side.get(note_id)
    return found is not None and found.path == where and same_content(found.note, outcome.note)


def _can_carry(
    elsewhere: Elsewhere, destination: str, mover: int, where: list[str | None], path: str
) -> bool:
    """Whether the strategy can apply this note's edit in `destination`: the note was
    here in the base and stays here on the other side, and git takes `destination` as
    the mover has it (the mover changed it, the other side did not)."""
    stayer = 3 - mover
    return (
        elsewhere.carry
        and where[0] == path
        and where[stayer] == path
        and destination in elsewhere.one_sided
        and elsewhere.taken.get(destination) == ("ours" if mover == 1 else "theirs")
    )


def _not_delivered(outcome: Outcome, where: str, mover: int, here: list[Note | None]) -> Outcome:
    """A conflict in this file for a note that moved to `where`, whose merged content
    git will not put there: shows the content that would otherwise be lost."""
    movers = "ours" if mover == 1 else "theirs"
    stayers = "theirs" if mover == 1 else "ours"
    kept = outcome.note if outcome.note is not None else (here[1] or here[2])
    moved_label = f"{movers}: moved this note to {where}"
    kept_label = f"{stayers}: edited it; copy the edit to {where}, then delete it here"
    reason = f"moved to {where} by {movers}, edited by {stayers}; the edit is not in {where}"
    if mover == 1:
        return Outcome(None, True, None, kept, moved_label, kept_label, reason)
    return Outcome(None, True, kept, None, kept_label, moved_label, reason)


def _base_from_history(ours: Note, theirs: Note, elsewhere: Elsewhere | None) -> Note | None:
    """For a new note that one side has with its fresh id and the other without: the
    version the id-less side pushed, if its history shows the id side is unchanged."""
    if elsewhere is None or (ours.note_id is None) == (theirs.note_id is None):
        return None
    idless, with_id = ("ours", theirs) if ours.note_id is None else ("theirs", ours)
    for earlier in elsewhere.earlier.get(idless, []):
        if earlier.note_id is None and same_content(earlier, with_id):
            return earlier
    return None


def _split_unproven(
    clusters: list[dict[int, int]],
    versions: tuple[list[Note], list[Note], list[Note]],
    elsewhere: Elsewhere | None,
    path: str,
) -> tuple[list[dict[int, int]], list[str]]:
    """A note the base lacks, with a fresh id on one side and none on the other, alike
    but not equal, is one note edited before its id came back only if the id-less
    side's history shows it pushed the other's version (_base_from_history). Else they
    are two notes, one added on each side (in Anki and in the file): both are kept,
    and the user is told, in case they are one."""
    out: list[dict[int, int]] = []
    notices: list[str] = []
    for members in clusters:
        if 0 not in members and 1 in members and 2 in members:
            o, t = versions[1][members[1]], versions[2][members[2]]
            if (
                (o.note_id is None) != (t.note_id is None)
                and content_key(o) != content_key(t)
                and _base_from_history(o, t, elsewhere) is None
            ):
                out += [{1: members[1]}, {2: members[2]}]
                fresh = o.note_id if o.note_id is not None else t.note_id
                notices.append(
                    f"{path or 'deck'}: note {fresh}, new on one side, is much like a new "
                    f"note without an id on the other; both are kept (delete one if they "
                    f"are the same note)"
                )
                continue
        out.append(members)
    return out, notices


def render(outcome: Outcome, types: NoteTypes = BUILTIN) -> str:
    """A merged note's text; for a conflict, the lines both sides share once and git's
    markers around the rest."""
    if outcome.note is not None:
        return deckfile.write_note(outcome.note, types)

    def written(note: Note | None) -> list[str]:
        return deckfile.write_note(note, types).rstrip("\n").split("\n") if note else []

    ours, theirs = written(outcome.ours), written(outcome.theirs)
    parts = lines.two_way(ours, theirs)
    return "\n".join(lines.marked(parts, outcome.ours_label, outcome.theirs_label)) + "\n"


def merge_decks(
    base: Deck,
    ours: Deck,
    theirs: Deck,
    path: str = "",
    elsewhere: Elsewhere | None = None,
    types: NoteTypes = BUILTIN,
) -> MergeResult:
    """Merge three versions of the deck file at `path`. Raises DuplicateId when a version
    holds an id twice (the caller falls back to a line merge)."""
    versions = (base.notes, ours.notes, theirs.notes)
    clusters, notices = _split_unproven(match(versions), versions, elsewhere, path)
    emitted: dict[int, Outcome] = {}  # cluster index -> what this file shows
    conflicts: list[str] = []
    carried: list[Carried] = []

    for c, members in enumerate(clusters):
        here: list[Note | None] = [
            versions[v][members[v]] if v in members else None for v in range(3)
        ]
        note_id = next((n.note_id for n in here if n is not None and n.note_id is not None), None)
        found: list[Note | None] = list(here)
        where: list[str | None] = [path if n is not None else None for n in here]
        if note_id is not None and elsewhere is not None:
            for v in range(3):
                other = elsewhere.side(v).get(note_id) if here[v] is None else None
                if other is not None:
                    found[v], where[v] = other.note, other.path
        b, o, t = found
        if b is None and o is not None and t is not None:
            b = _base_from_history(o, t, elsewhere)
        moved = tuple(
            where[v] is not None and where[0] is not None and where[v] != where[0] for v in (1, 2)
        )
        outcome = merge_note(b, o, t, (moved[0], moved[1]), types)
        if outcome.note is None and not outcome.conflict:
            continue  # deleted
        destination = merge_location(where[0], where[1], where[2])
        if destination != path:
            assert elsewhere is not None and note_id is not None and destination is not None
            if _delivered(destination, note_id, outcome, elsewhere):
                continue
            mover = 1 if where[1] == destination else 2
            if _can_carry(elsewhere, destination, mover, where, path):
                edited = here[3 - mover]
                assert b is not None and edited is not None
                movers = "ours" if mover == 1 else "theirs"
                carried.append(Carried(path, destination, note_id, movers, b, edited))
                continue
            outcome = _not_delivered(outcome, destination, mover, here)
        if outcome.conflict:
            conflicts.append(f"{path or 'deck'}: note {note_id or '(new)'}: {outcome.reason}")
        emitted[c] = outcome

    order = _order(clusters, emitted)
    deck_id, id_conflict = merge_value(base.deck_id, ours.deck_id, theirs.deck_id)
    if id_conflict:
        conflicts.insert(0, f"{path or 'deck'}: deck_id changed differently on both sides")
    if not conflicts:
        notes = [emitted[c].note for c in order]
        deck = Deck([n for n in notes if n is not None], deck_id, name=ours.name)
        return MergeResult(deckfile.write(deck, types), [], deck, carried, notices)

    header = ""
    if id_conflict:
        sides = [
            [f"<!-- deck_id: {d} -->"] if d is not None else []
            for d in (ours.deck_id, theirs.deck_id)
        ]
        header = "\n".join(lines.marked([lines.Conflict(*sides)])) + "\n"
    elif deck_id is not None:
        header = f"<!-- deck_id: {deck_id} -->\n"
    body = "\n---\n\n".join(render(emitted[c], types) for c in order)
    text = "\n".join(p for p in (header, body) if p)
    return MergeResult(text, conflicts, carried=carried, notices=notices)


def _in_order(clusters: list[dict[int, int]], v: int, also: int) -> list[int]:
    """Clusters version v shares with version `also`, in v's order."""
    return [c for _, c in sorted((m[v], c) for c, m in enumerate(clusters) if v in m and also in m)]


def _order(clusters: list[dict[int, int]], emitted: dict[int, Outcome]) -> list[int]:
    """Ours' order, unless only theirs reordered notes; a note that order lacks goes after
    its predecessor in the other side's (else the base's) order, or first if none."""
    ours_moved = _in_order(clusters, 1, 0) != _in_order(clusters, 0, 1)
    theirs_moved = _in_order(clusters, 2, 0) != _in_order(clusters, 0, 2)
    first, second = (2, 1) if theirs_moved and not ours_moved else (1, 2)
    placed = sorted((m[first], c) for c, m in enumerate(clusters) if first in m and c in emitted)
    result = [c for _, c in placed]
    done = set(result)
    for v in (second, 0):
        previous: int | None = None
        for _, c in sorted((m[v], c) for c, m in enumerate(clusters) if v in m):
            if c in emitted and c not in done:
                result.insert(result.index(previous) + 1 if previous is not None else 0, c)
                done.add(c)
            if c in done:
                previous = c
    return result


Locator = Callable[[Deck, Deck, Deck], "Elsewhere | None"]


def merge_texts(
    base: str,
    ours: str,
    theirs: str,
    path: str = "",
    locate: Locator | None = None,
    types: NoteTypes = BUILTIN,
) -> MergeResult:
    """Merge three versions of a deck file's text. Never raises for bad input: a version
    that does not parse (or repeats an id) gets a plain line merge with conflict markers.

    `locate`, given the three parsed versions, tells what other files hold (see
    `Elsewhere`); without it the merge sees this file only.
    """
    if ours == theirs or theirs == base:
        return MergeResult(ours, [])
    if ours == base:
        return MergeResult(theirs, [])
    try:
        b, o, t = (deckfile.parse(text, path, types) for text in (base, ours, theirs))
        elsewhere = locate(b, o, t) if locate is not None else None
        return merge_decks(b, o, t, path=path, elsewhere=elsewhere, types=types)
    except (DeckFileError, DuplicateId) as problem:
        return line_merge(base, ours, theirs, path, str(problem), types)


def line_merge(
    base: str, ours: str, theirs: str, path: str, why: str, types: NoteTypes = BUILTIN
) -> MergeResult:
    """The fallback: git-style line merge; clean only if the result is a valid deck file."""
    text, count = lines.merge_file_lines(base, ours, theirs)
    name = path or "deck"
    if count:
        return MergeResult(text, [f"{name}: merged line by line ({why}); {count} conflict(s)"])
    try:
        deck = deckfile.parse(text, path, types)
    except DeckFileError as problem:
        return MergeResult(text, [f"{name}: merged line by line ({why}); the result: {problem}"])
    return MergeResult(text, [], deck)
