"""Line-level merging: a small diff3 and git-style conflict markers.

Used inside one field (when both sides changed it differently) and for a whole
file that does not parse (the fallback that never drops content).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

MARKER_SIZE = 7


@dataclass
class Conflict:
    """Lines where both sides changed the same base lines differently."""

    ours: list[str]
    theirs: list[str]


Part = list[str] | Conflict  # a run of merged lines, or a conflict


def _matched(a: list[str], b: list[str]) -> dict[int, int]:
    """Index in `b` of each line of `a` that the longest-common-subsequence keeps."""
    pairs: dict[int, int] = {}
    for i, j, n in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(n):
            pairs[i + k] = j + k
    return pairs


def _resolve(base: list[str], ours: list[str], theirs: list[str]) -> Part:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return Conflict(ours, theirs)


def diff3(base: list[str], ours: list[str], theirs: list[str]) -> list[Part]:
    """Three-way merge of line lists: changes on one side win, overlapping changes conflict.

    Base lines kept by both sides are sync points; between two sync points a side that
    did not change the base lines yields to the other. Adjacent edits conflict, as in git.
    """
    in_ours, in_theirs = _matched(base, ours), _matched(base, theirs)
    parts: list[Part] = []

    def add(part: Part) -> None:
        if isinstance(part, Conflict):
            parts.append(part)
        elif part:
            if parts and not isinstance(parts[-1], Conflict):
                parts[-1] = parts[-1] + part
            else:
                parts.append(list(part))

    i = j = k = 0
    syncs = sorted(set(in_ours) & set(in_theirs))
    for s in [*syncs, len(base)]:
        je, ke = (in_ours[s], in_theirs[s]) if s < len(base) else (len(ours), len(theirs))
        add(_resolve(base[i:s], ours[j:je], theirs[k:ke]))
        if s < len(base):
            add([base[s]])
            i, j, k = s + 1, je + 1, ke + 1
    return parts


def has_conflict(parts: list[Part]) -> bool:
    return any(isinstance(p, Conflict) for p in parts)


def side(parts: list[Part], which: str) -> list[str]:
    """The lines as one side would have them: clean parts plus that side of each conflict."""
    out: list[str] = []
    for p in parts:
        out += (p.ours if which == "ours" else p.theirs) if isinstance(p, Conflict) else p
    return out


def marked(
    parts: list[Part], ours_label: str = "ours", theirs_label: str = "theirs", eol: str = ""
) -> list[str]:
    """Lines with git's conflict markers around each conflict (`eol` ends marker lines)."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, Conflict):
            out.append("<" * MARKER_SIZE + " " + ours_label + eol)
            out += p.ours
            out.append("=" * MARKER_SIZE + eol)
            out += p.theirs
            out.append(">" * MARKER_SIZE + " " + theirs_label + eol)
        else:
            out += p
    return out


def two_way(ours: list[str], theirs: list[str]) -> list[Part]:
    """Lines of two versions: shared lines once, every difference as a conflict."""
    parts: list[Part] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(ours[i1:i2])
        else:
            parts.append(Conflict(ours[i1:i2], theirs[j1:j2]))
    return parts


def merge_file_lines(base: str, ours: str, theirs: str) -> tuple[str, int]:
    """Plain line merge of whole texts, like `git merge-file`: (text, number of conflicts).

    Line ends are kept as they are; a last line without a newline gets one if a
    conflict marker has to follow it.
    """
    split = [t.splitlines(keepends=True) for t in (base, ours, theirs)]
    for lines in split:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
    parts = diff3(*split)
    text = "".join(marked(parts, eol="\n"))
    conflicts = sum(isinstance(p, Conflict) for p in parts)
    if not conflicts and not (ours.endswith("\n") or theirs.endswith("\n")) and text:
        text = text[:-1]  # neither side ended with a newline: keep it that way
    return text, conflicts
