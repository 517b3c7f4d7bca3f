"""Export in-process against a real collection: deterministic, incremental, keeps Markdown."""

from __future__ import annotations

from pathlib import Path

import pygit2
from anki.collection import Collection
from test_sync_e2e import add_managed

from ankiops_git import export, gitstore, syncstate
from ankiops_git.anki.base import NoteUpdate
from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.config import Config


def commit_tree(repo: pygit2.Repository, tree: pygit2.Oid, parent: pygit2.Oid | None) -> pygit2.Oid:
    parents = [parent] if parent is not None else []
    return gitstore.create_commit(repo, tree, parents, "x", gitstore.anki_signature())


def test_export_is_deterministic_incremental_and_keeps_markdown(
    tmp_path: Path, anki_collection_path: Path
) -> None:
    col = Collection(str(anki_collection_path))
    try:
        ids = [
            add_managed(col, "Deck", "AnkiOpsQA", Question=f"q{i}", Answer=f"<b>a{i}</b>")
            for i in range(30)
        ]
        assert col.db is not None
        col.db.execute("update notes set mod = mod - 3600 - id % 1000")
    finally:
        col.close()
    repo = pygit2.init_repository(str(tmp_path / "repo"), initial_head="main")
    config = Config()
    backend = CollectionBackend(anki_collection_path)
    try:
        view = export.anki_view(backend, export.EMPTY, None)
        assert view.read == 30
        first_tree = export.export_tree(repo, view, export.EMPTY)
        first = commit_tree(repo, first_tree, None)
        export.save_state(repo, first, view.mods, view.taken)
        text = gitstore.blob_text(repo, repo.get(first_tree)["Deck.md"].id)  # type: ignore[index]
        assert "A: **a7**" in text

        # The user writes the answer differently in Markdown: same HTML in Anki.
        reference = export.snapshot_of_commit(repo, first, config)
        note = next(n for n in reference.decks["Deck.md"].notes if n.note_id == ids[7])
        note.fields["Answer"] = "__a7__"
        state = syncstate.load(repo)
        assert state is not None and state.commit == str(first)

        # Unchanged Anki: (almost) nothing is read, the tree is the same.
        again = export.anki_view(backend, export.snapshot_of_commit(repo, first, config), state)
        assert again.read == 0  # no note was edited at or after the second of the read
        assert (
            export.export_tree(repo, again, export.snapshot_of_commit(repo, first, config))
            == first_tree
        )

        # One note edited in Anki: that note is read; Markdown spelling kept elsewhere.
        backend.update_notes([NoteUpdate(ids[3], {"Answer": "<i>new</i>"}, None)])
        view3 = export.anki_view(backend, reference, state)
        assert view3.read <= 2
        decks = export.export_decks(view3, reference)
        answers = {n.note_id: n.fields["Answer"] for n in decks["Deck.md"].notes}
        assert answers[ids[3]] == "*new*"
        assert answers[ids[7]] == "__a7__"  # HTML unchanged: the user's Markdown stays
        assert [n.note_id for n in decks["Deck.md"].notes] == sorted(ids)

        # A full read (no state) converts nothing whose HTML still matches.
        full = export.anki_view(backend, reference, None)
        assert full.read == 30
        kept = {n.note_id: n for n in export.export_decks(full, reference)["Deck.md"].notes}
        assert kept[ids[7]].fields["Answer"] == "__a7__"
    finally:
        backend.close()


def test_splice_keeps_every_byte_of_unchanged_notes_in_a_hand_formatted_file() -> None:
    from ankiops_git import deckfile

    original = (
        "<!-- deck_id: 5 -->\r\n\r\n\r\n"
        "<!-- note_id: 1 -->\r\nQ: one\r\nA: first\r\n\r\n---   \r\n\r\n\r\n"
        "<!-- note_id: 2 -->\r\nQ: two\r\nA: second\r\n\r\n---\r\n\r\n"
        "<!-- note_id: 3 -->\r\nQ: three\r\nA: third\r\n"
    )
    old = deckfile.parse(original, "D.md")
    new = deckfile.parse(original, "D.md")
    new.notes[1].fields["Answer"] = "changed in Anki"
    spliced = export.splice(original, old, new)
    assert spliced == original.replace("A: second", "A: changed in Anki")
    # Removed in Anki: the note leaves with its separator; the rest stays byte for byte.
    new.notes.pop(0)
    assert export.splice(original, old, new) == (
        "<!-- deck_id: 5 -->\r\n\r\n\r\n"
        "<!-- note_id: 2 -->\r\nQ: two\r\nA: changed in Anki\r\n\r\n---\r\n\r\n"
        "<!-- note_id: 3 -->\r\nQ: three\r\nA: third\r\n"
    )
    # Added in Anki: appended after the last note, in canonical form.
    new.notes.append(deckfile.parse("<!-- note_id: 9 -->\nQ: nine\nA: new\n").notes[0])
    assert export.splice(original, old, new) == (
        "<!-- deck_id: 5 -->\r\n\r\n\r\n"
        "<!-- note_id: 2 -->\r\nQ: two\r\nA: changed in Anki\r\n\r\n---\r\n\r\n"
        "<!-- note_id: 3 -->\r\nQ: three\r\nA: third\r\n\r\n---\r\n\r\n"
        "<!-- note_id: 9 -->\r\nQ: nine\r\nA: new\r\n"
    )
    # Reordered: not a splice (the caller writes canonical text).
    new.notes.reverse()
    assert export.splice(original, old, new) is None


def test_a_tree_built_on_a_base_is_the_tree_built_from_scratch(tmp_path: Path) -> None:
    """gitstore.build_tree on a base tree changes only what differs, and gives the very
    tree a full build gives: top-level changes, removals, and nested paths."""
    repo = pygit2.init_repository(str(tmp_path / "r"))

    def blob(text: str) -> tuple[pygit2.Oid, int]:
        return gitstore.write_blob(repo, text), gitstore.FILE_MODE

    base_files = {f"D{i}.md": blob(f"Q: {i}\nA: a\n") for i in range(30)}
    base_files["docs/notes.txt"] = blob("x")
    base = gitstore.build_tree(repo, base_files)
    changes: list[dict[str, tuple[pygit2.Oid, int] | None]] = [
        {"D3.md": blob("Q: changed\nA: a\n")},
        {"D4.md": None, "New.md": blob("Q: new\nA: b\n")},
        {"docs/notes.txt": blob("y")},  # nested: built from scratch
        {},
    ]
    for change in changes:
        files = {**base_files, **{p: e for p, e in change.items() if e is not None}}
        files = {p: e for p, e in files.items() if change.get(p, e) is not None}
        on_base = gitstore.build_tree(repo, files, (base, base_files))
        assert on_base == gitstore.build_tree(repo, files)
        assert gitstore.tree_files(repo, repo.get(on_base)) == files  # type: ignore[arg-type]
