"""`python -m ankiops_git.demo demo` (`make demo`): the whole loop with no Anki desktop.

Creates demo/ afresh: a collection file (demo/anki/User 1/collection.anki2) and a
deck repository (demo/decks) made by `ankiops-git init --tutorial`. Then one edit on
each side (a commit in Markdown, a field changed in Anki through the `anki`
package), `git pull anki`, and what each side holds afterwards. A surface script:
it prints.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from anki.collection import Collection

from ankiops_git.anki.collection import CollectionBackend
from ankiops_git.init import TUTORIAL_FILE
from ankiops_git.programs import git_env


def run(cwd: Path, *args: str, env: dict[str, str]) -> str:
    print(f"$ {' '.join(args)}")
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        print("  " + output.replace("\n", "\n  "))
    if result.returncode != 0:
        raise SystemExit(f"demo: `{' '.join(args)}` failed (exit {result.returncode})")
    return result.stdout


def demo(base: Path) -> None:
    if base.exists():
        shutil.rmtree(base)
    collection = base / "anki" / "User 1" / "collection.anki2"
    collection.parent.mkdir(parents=True)
    CollectionBackend(collection, create=True).close()
    decks = base / "decks"
    env = git_env()  # ankiops-git, git-remote-anki and the merge strategy on PATH
    for key, value in (("NAME", "Demo User"), ("EMAIL", "demo@example.org")):
        env.setdefault(f"GIT_AUTHOR_{key}", value)
        env.setdefault(f"GIT_COMMITTER_{key}", value)

    print("== 1. init: a deck repository wired to a fresh collection, with the tutorial deck")
    run(base, "ankiops-git", "init", str(decks), "--anki", str(collection), "--tutorial", env=env)

    print("\n== 2. an edit in Anki (through the `anki` package, as Anki desktop would)")
    col = Collection(str(collection))
    try:
        note_id = col.find_notes('"note:AnkiOpsCloze"')[0]
        note = col.get_note(note_id)
        note["Extra"] = "Edited in <b>Anki</b>."
        col.update_note(note)
        print(f"  note {note_id}: Extra = {note['Extra']!r}")
    finally:
        col.close()

    print("\n== 3. an edit in Markdown, committed (the hook sees Anki's edit and asks for a pull)")
    tutorial = decks / TUTORIAL_FILE
    text = tutorial.read_text(encoding="utf-8")
    tutorial.write_text(
        text.replace("B: Makes two cards", "B: Makes **two** cards (edited in Markdown)"),
        encoding="utf-8",
    )
    run(decks, "git", "commit", "-am", "Edit the reversed note in Markdown", env=env)

    print("\n== 4. git pull anki: Anki's edit merges note by note; the hook pushes the result")
    run(decks, "git", "pull", "anki", env=env)

    print("\n== What each side holds now")
    col = Collection(str(collection))
    try:
        for nid in col.find_notes('"note:AnkiOps*"'):
            n = col.get_note(nid)
            print(f"  Anki {nid}: {n.fields[0][:50]!r} | {n.fields[1][:50]!r}")
    finally:
        col.close()
    merged = tutorial.read_text(encoding="utf-8")
    for needle in ("(edited in Markdown)", "Edited in **Anki**."):
        where = "yes" if needle in merged else "NO"
        print(f"  {TUTORIAL_FILE} contains {needle!r}: {where}")
    print()
    run(decks, "git", "log", "--graph", "--oneline", "--all", env=env)
    print(f"\nThe demo repository is {decks}; its collection is {collection}.")


def main() -> None:
    if sys.argv[1:] != ["demo"]:
        raise SystemExit("usage: python -m ankiops_git.demo demo")
    demo(Path("demo").resolve())


if __name__ == "__main__":
    main()
