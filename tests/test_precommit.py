"""The published pre-commit hook, run by the real pre-commit framework on `git commit`.

What `pre-commit try-repo` does, made cacheable: this repository's tracked files as they
are now (HEAD plus uncommitted changes) are committed into a scratch "shadow" repository
with fixed author and dates, so the same content always gets the same commit id. A
scratch deck repository uses that repo/rev in its .pre-commit-config.yaml, runs
`pre-commit install`, and commits. pre-commit builds the hook's isolated environment
from .pre-commit-hooks.yaml (installing the project and its pinned dependencies) into
PRE_COMMIT_HOME under the pytest cache, keyed by repo and rev: built once per content,
reused by later runs. (`try-repo` itself always installs into a throwaway store, about
20 s per call here, which is why the test does not call it twice.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git_env

PROJECT = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
FIXED = "2000-01-01T00:00:00+0000"
INSTALLED = [
    ".pre-commit-hooks.yaml",
    "pyproject.toml",
    "README.md",
    "ankiops_git",
    "merge_driver",
    "hooks",
]

BAD = "<!-- note_id: 1 -->\nQ: a\nA: b\n\n---\n\nT: no cloze here\n"
GOOD = "<!-- note_id: 1 -->\nQ: a\nA: b\n\n---\n\nT: {{c1::a cloze}} here\n"


def _git(repo: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _shadow_repo(target: Path, env: dict[str, str]) -> str:
    """Commit the project's tracked files, as they are on disk, into `target`; its id.

    Only what installing the project reads, so edits to tests or docs keep the id.
    """
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *INSTALLED], cwd=PROJECT, capture_output=True, check=True
    ).stdout
    for name in listed.decode().split("\0"):
        source = PROJECT / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    fixed = dict(env, GIT_AUTHOR_DATE=FIXED, GIT_COMMITTER_DATE=FIXED)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shadow"]):
        assert _git(target, *args, env=fixed).returncode == 0
    return _git(target, "rev-parse", "HEAD", env=env).stdout.strip()


@pytest.fixture
def published(request: pytest.FixtureRequest) -> tuple[Path, str, dict[str, str]]:
    """(repo, rev, env) of this project as a pre-commit hook repository, its hook
    environment cached under the pytest cache."""
    assert PRE_COMMIT.exists(), "pre-commit must be installed in the project's .venv"
    cache = Path(request.config.cache.mkdir("ankiops-pre-commit"))
    home = cache / "home"
    env = git_env(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    shadow = cache / "shadow-repo"
    rev = _shadow_repo(shadow, env)
    # Keep one hook environment (about 90 MB): drop the store when the project changed.
    built_for = cache / "rev"
    if not built_for.exists() or built_for.read_text() != rev:
        shutil.rmtree(home, ignore_errors=True)
        built_for.write_text(rev)
    return shadow, rev, env


def _install(repo: Path, env: dict[str, str], *stages: str) -> None:
    args = [str(PRE_COMMIT), "install", *(a for s in stages for a in ("-t", s))]
    installed = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr


def test_precommit_hook_blocks_a_bad_deck_then_passes(
    tmp_path: Path, published: tuple[Path, str, dict[str, str]]
) -> None:
    shadow, rev, env = published
    repo = tmp_path / "decks"
    repo.mkdir()
    assert _git(repo, "init", "-q", env=env).returncode == 0
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {shadow}\n    rev: {rev}\n    hooks:\n      - id: ankiops-validate\n",
        encoding="utf-8",
    )
    _install(repo, env, "pre-commit")
    (repo / "Spanish.md").write_text(BAD, encoding="utf-8")
    # Not decks: excluded by name, or in a subfolder. They must not be reported.
    (repo / "README.md").write_text("# My decks\n\nX: not a field\n", encoding="utf-8")
    (repo / "notes").mkdir()
    (repo / "notes" / "todo.md").write_text("Q:no space\n", encoding="utf-8")
    _git(repo, "add", "-A", env=env)

    blocked = _git(repo, "commit", "-m", "add decks", env=env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "ankiops-git validate" in output and "Failed" in output
    assert [line for line in output.splitlines() if ": error: " in line] == [
        "Spanish.md:7:1: error: cloze note has no cloze deletion; mark the text to hide as "
        "`{{c1::text}}`"
    ]
    assert _git(repo, "rev-parse", "--verify", "-q", "HEAD", env=env).returncode != 0

    (repo / "Spanish.md").write_text(GOOD, encoding="utf-8")
    _git(repo, "add", "-A", env=env)
    committed = _git(repo, "commit", "-m", "add decks", env=env)
    output = committed.stdout + committed.stderr
    assert committed.returncode == 0, output
    assert "ankiops-git validate" in output and "Passed" in output
    assert _git(repo, "rev-parse", "--verify", "-q", "HEAD", env=env).returncode == 0


def test_published_push_hook_applies_a_commit_to_anki(
    tmp_path: Path, published: tuple[Path, str, dict[str, str]], anki_collection_path: Path
) -> None:
    """ankiops-validate and ankiops-push from .pre-commit-hooks.yaml, installed by the
    framework (not by `ankiops-git init`): a commit is validated, then applied to Anki
    from the hooks' own environment, and anki/main follows."""
    from anki.collection import Collection
    from gitrepo import BIN
    from test_sync_e2e import add_managed

    shadow, rev, env = published
    col = Collection(str(anki_collection_path))
    try:
        note_id = add_managed(col, "Spanish", "AnkiOpsQA", Question="ser?", Answer="To be")
    finally:
        col.close()
    repo = tmp_path / "decks"
    init = [str(BIN / "ankiops-git"), "init", str(repo), "--anki", str(anki_collection_path)]
    done = subprocess.run([*init, "--no-hooks"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = "".join(f"      - id: {h}\n" for h in ("ankiops-validate", "ankiops-push"))
    config = f"repos:\n  - repo: {shadow}\n    rev: {rev}\n    hooks:\n{hooks}"
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    _install(repo, env, "pre-commit", "post-commit")
    deck = repo / "Spanish.md"
    deck.write_text(deck.read_text(encoding="utf-8").replace("A: To be", "A: To be (permanent)"))
    _git(repo, "add", "-A", env=env)

    committed = _git(repo, "commit", "-m", "permanent", env=env)
    output = committed.stdout + committed.stderr
    assert committed.returncode == 0, output
    assert "ankiops-git validate" in output and "ankiops-git push to Anki" in output, output
    assert "(no files to check)" not in output  # validate runs before the commit only
    assert "0 added, 1 updated" in output, output
    col = Collection(str(anki_collection_path))
    try:
        assert col.get_note(note_id)["Answer"] == "To be (permanent)"  # type: ignore[arg-type]
    finally:
        col.close()
    head = _git(repo, "rev-parse", "HEAD", env=env).stdout
    assert _git(repo, "rev-parse", "anki/main", env=env).stdout == head
