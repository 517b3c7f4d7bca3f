"""Three-way merge of deck files, note by note and field by field.

`merge_texts(base, ours, theirs, path, locate)` is what the git merge driver calls;
`merge_decks` works on parsed decks. See docs/conflicts.md for the rules.
"""

from ankiops_git.merge.deck import (
    Carried,
    Elsewhere,
    Located,
    Locator,
    MergeResult,
    ids_to_locate,
    line_merge,
    merge_decks,
    merge_texts,
)

__all__ = [
    "Carried",
    "Elsewhere",
    "Located",
    "Locator",
    "MergeResult",
    "ids_to_locate",
    "line_merge",
    "merge_decks",
    "merge_texts",
]
