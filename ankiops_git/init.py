"""`ankiops-git init`: wire a folder of deck files to Anki as the git remote `anki`.

Idempotent: every step checks what is there first, so running it twice is harmless.
Order matters for "nothing written on either side" on a wrong profile: Anki is
opened and the profile checked before the repository is touched.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git import adopt, adopt_types, export, gitstore, media, sync
from ankiops_git import config as config_mod
from ankiops_git.anki.base import Backend
from ankiops_git.errors import AnkiOpsError
from ankiops_git.notetypes_config import with_table
from ankiops_git.programs import HOOK_MARKER, bin_dir, program

# The hooks init installs (hooks/__main__.py runs each).
HOOK_NAMES = ("pre-commit", "post-commit", "post-merge", "pre-merge-commit", "post-rewrite")

ATTRIBUTES_LINE = "*.md merge=ankiops"
FETCH_REFSPEC = f"+{gitstore.REMOTE_BRANCH}:{gitstore.ANKI_REF}"
TUTORIAL_FILE = "ankiops-git Tutorial.md"


@dataclass
class InitResult:
    root: Path
    lines: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def open_or_create_repo(root: Path) -> pygit2.Repository:
    if (root / ".git").exists():
        return pygit2.Repository(str(root))
    return pygit2.init_repository(str(root), bare=False, initial_head="main")


def write_gitattributes(root: Path) -> bool:
    path = root / ".gitattributes"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if ATTRIBUTES_LINE in text.splitlines():
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + ATTRIBUTES_LINE + "\n", encoding="utf-8")
    return True


def configure_git(repo: pygit2.Repository, spec: str) -> None:
    cfg = repo.config
    cfg["merge.ankiops.name"] = "ankiops-git: merge deck files note by note"
    cfg["merge.ankiops.driver"] = driver_command(program("ankiops-merge"))
    # An edit to a note the other side moved into a file git does not pass to the driver
    # is carried there by the pre-merge-commit / pre-commit hooks (merge/pending.py):
    # no merge strategy on PATH is needed, so git GUIs with a bare PATH merge too.
    if "pull.twohead" in cfg and str(cfg["pull.twohead"]) == "ankiops":
        del cfg["pull.twohead"]  # set by earlier versions: it broke every GUI merge
    cfg["pull.rebase"] = "false"
    url = sync.URL_PREFIX + spec
    try:
        remote = repo.remotes[sync.REMOTE]
    except KeyError:
        remote = repo.remotes.create(sync.REMOTE, url, FETCH_REFSPEC)
    if remote.url != url:
        repo.remotes.set_url(sync.REMOTE, url)
    if FETCH_REFSPEC not in remote.fetch_refspecs:
        repo.remotes.add_fetch(sync.REMOTE, FETCH_REFSPEC)
    # `git push anki` with no branch named (no upstream needed) pushes the synced branch.
    branch = str(cfg["ankiops.branch"]) if "ankiops.branch" in cfg else "main"
    push = f"refs/heads/{branch}:{gitstore.REMOTE_BRANCH}"
    if push not in repo.remotes[sync.REMOTE].push_refspecs:
        repo.remotes.add_push(sync.REMOTE, push)


def driver_command(path: str) -> str:
    """The merge driver as git runs it (through the shell): the program init found, else
    one on PATH, else a conflict that says how to repair (git then keeps both sides)."""
    return (
        f"if [ -x '{path}' ]; then exec '{path}' %O %A %B %P; fi; "
        "command -v ankiops-merge >/dev/null && exec ankiops-merge %O %A %B %P; "
        f"echo 'ankiops: ankiops-merge is not where init found it ({path}): ankiops-git was "
        "moved or reinstalled. Run `ankiops-git init` here to repair, then merge again.' >&2; "
        "exit 1"
    )


def hooks_dir(repo: pygit2.Repository) -> Path:
    configured = repo.config["core.hooksPath"] if "core.hooksPath" in repo.config else None  # noqa: SIM401
    if configured:
        path = Path(str(configured)).expanduser()
        return path if path.is_absolute() else gitstore.workdir(repo) / path
    return Path(repo.path) / "hooks"


def shim_text(name: str) -> str:
    chained = f'"$hookdir/{name}.local" "$@"'
    on_fail = " || exit $?" if name in ("pre-commit", "pre-merge-commit") else ""
    nothing_to_push = (
        "# HEAD is what Anki has (a pull that fast-forwarded): nothing to push, no Python\n"
        "head=$(git rev-parse -q --verify HEAD) && "
        '[ "$head" = "$(git rev-parse -q --verify refs/remotes/anki/main)" ] && exit 0\n'
        if name in ("post-commit", "post-merge")
        else ""
    )
    return (
        "#!/bin/sh\n"
        f"{HOOK_MARKER}: runs the installed ankiops-hook (GUI clients have a bare PATH).\n"
        "# A hook that was here before is kept as NAME.local and runs first.\n"
        'hookdir=$(dirname "$0")\n'
        f'if [ -x "$hookdir/{name}.local" ]; then {chained}{on_fail}; fi\n'
        f'[ -n "${sync.GUARD_ENV}" ] && exit 0  # our hook is running git: do not re-trigger\n'
        f"{nothing_to_push}"
        f"PATH='{bin_dir()}':\"$PATH\"; export PATH  # git finds git-remote-anki & strategy\n"
        f"installed='{program('ankiops-hook')}'\n"
        'hook=$installed; [ -x "$hook" ] || hook=$(command -v ankiops-hook) || {\n'
        f'  echo "ankiops: ankiops-hook is not where init found it ($installed): ankiops-git was '
        f"moved or reinstalled. Run \\`ankiops-git init\\` here to repair; this {name} "
        f'hook did nothing." >&2\n'
        "  exit 0\n"
        "}\n"
        f'exec "$hook" {name} "$@"\n'
    )


def install_hooks(repo: pygit2.Repository) -> list[str]:
    """Write the shims; a user's own hook is renamed NAME.local and chained, never lost."""
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    kept = []
    for name in HOOK_NAMES:
        path = directory / name
        if path.exists() and HOOK_MARKER not in path.read_text(errors="replace"):
            local = directory / f"{name}.local"
            if local.exists():
                raise AnkiOpsError(
                    f"{path}: a hook is there and {local.name} exists too; merge them by hand "
                    f"into {local.name}, delete {name}, and run init again."
                )
            path.rename(local)
            kept.append(name)
        path.write_text(shim_text(name), encoding="utf-8")
        path.chmod(0o755)
    return kept


def stage_and_commit(
    repo: pygit2.Repository,
    paths: list[str],
    message: str,
    media_dir: str | None = None,
    removed: list[str] | None = None,
) -> bool:
    """Commit these working-tree files on the current branch if they changed, and with
    `media_dir` the media folder as it is (added, changed, removed files), without the
    `removed` entries; no hooks run."""
    index = repo.index
    index.read()
    for path in removed or []:
        if path in index:
            index.remove(path)
    for path in paths:
        index.add(path)
    if media_dir is not None:
        root = gitstore.workdir(repo)
        if (root / media_dir).is_dir():
            index.add_all([f"{media_dir}/*"])
        for entry in list(index):
            if entry.path.startswith(media_dir + "/") and not (root / entry.path).exists():
                index.remove(entry.path)
    index.write()
    tree = index.write_tree()
    head = gitstore.head_commit(repo)
    if head is not None and head.tree_id == tree:
        return False
    signature = gitstore.user_signature(repo)
    parents = [head.id] if head is not None else []
    repo.create_commit("HEAD", signature, signature, message, tree, parents)
    return True


def merge_anki(repo: pygit2.Repository) -> list[str]:
    """Bring anki/main into the current branch; the conflicted files, if any."""
    anki = gitstore.ref_target(repo, gitstore.ANKI_REF)
    head = gitstore.head_commit(repo)
    assert anki is not None and head is not None
    if gitstore.is_ancestor(repo, anki, head.id):
        return []
    if sync.fast_forward(repo):
        return []
    root = gitstore.workdir(repo)
    result = sync.git(
        root,
        "-c", f"user.name={gitstore.user_signature(repo).name}",
        "-c", f"user.email={gitstore.user_signature(repo).email}",
        "merge", "--no-edit", "--allow-unrelated-histories", "-m",
        "Merge Anki's notes with the deck files here", gitstore.ANKI_REF,
        check=False,
    )  # fmt: skip
    if result.returncode == 0:
        return []
    conflicted = sync.git(root, "diff", "--name-only", "--diff-filter=U", "-z", check=False)
    files = [name for name in conflicted.stdout.split("\0") if name]
    if not files:
        raise AnkiOpsError(f"merging Anki's notes failed: {result.stderr.strip()}")
    return files


def _prepare(
    root: Path,
    spec: str,
    config: config_mod.Config,
    actual: str,
    hooks: bool,
    tutorial: bool,
    migration: adopt.Migration,
    result: InitResult,
    undo: Undo,
    backend: Backend,
    progress: export.Progress | None,
    media_progress: export.Progress | None,
) -> pygit2.Repository:
    """Init's writes up to the merge with Anki's notes (nothing written to Anki yet):
    what `undo` rolls back if any of it fails."""
    root.mkdir(parents=True, exist_ok=True)
    undo.keep_git()
    repo = open_or_create_repo(root)
    if repo.head_is_unborn and gitstore.branch_name(repo) != "main":
        repo.set_head("refs/heads/main")
    repo.config["ankiops.branch"] = gitstore.branch_name(repo) or "main"
    # The profile is shared by every clone; where Anki is (a URL, a file) is this
    # machine's business and lives in the remote's URL (.git/config) only.
    config.profile = actual
    if migration.from_ankiops(root):
        # A folder from AnkiOps: its Markdown as AnkiOps renders it (docs/format.md).
        config.ankiops_markdown = True
    if migration.declared is not None:
        path = root / config_mod.CONFIG_NAME
        head = path.read_text(encoding="utf-8") if path.is_file() else ""
        path.write_text(with_table(head, migration.declared.tables), encoding="utf-8")
    config_mod.save(root, config)
    write_gitattributes(root)
    configure_git(repo, spec)
    if hooks:
        for name in install_hooks(repo):
            result.lines.append(f"init: kept your {name} hook as {name}.local (runs first)")
    if tutorial:
        tutorial_path = root / TUTORIAL_FILE
        if not tutorial_path.exists():
            tutorial_path.write_text(TUTORIAL, encoding="utf-8")
            result.lines.append(f"init: wrote {TUTORIAL_FILE}")
    # The deck files as AnkiOps left them (it commits only before it syncs: edits since
    # are in the working tree), committed before they are converted, so git keeps them.
    if migration.texts and stage_and_commit(
        repo,
        sorted(migration.texts),
        "AnkiOps' deck files as they were, before ankiops-git init converted them\n",
    ):
        result.lines.append(
            "init: committed AnkiOps' deck files as they were (uncommitted edits "
            "included), before converting them"
        )
    if not migration.empty():
        adopt.apply(root, migration)
    result.lines += migration.lines()
    local = export.snapshot_of_workdir(root, config)  # raises naming file:line if broken
    paths = [".gitattributes", config_mod.CONFIG_NAME, *sorted(local.decks)]
    # The cards and CSS of declared note types: a clone needs them to read ankiops.toml.
    for note_type in config_mod.load(root).note_types.declared:
        folder = root / note_type.templates_dir
        if note_type.templates_dir and folder.is_dir():
            paths += sorted(
                f"{note_type.templates_dir}/{p.name}" for p in folder.iterdir() if p.is_file()
            )
    if migration.vscode is not None:
        paths.append(adopt.VSCODE_SETTINGS)
    message = "ankiops-git init: deck files and settings\n"
    if migration.keys or migration.unmapped:
        message += (
            "\nAnkiOps' note_key comments converted to note_id comments (note ids from "
            ".ankiops.db),\nits note_type comments removed (the field prefixes say the type).\n"
        )
    if migration.declared is not None:
        message += (
            f"\nAnkiOps' note types {', '.join(migration.declared.names)} declared in "
            "ankiops.toml (mapped: Anki keeps their templates).\n"
        )
    if migration.math:
        message += (
            "\nAnkiOps' $ math written as \\( \\) and \\[ \\] (and \\[x\\] that is no math as"
            " [x]), as it sent it to Anki.\n"
        )
    if migration.images:
        message += "\nImages in a subfolder of media/ written as Anki has them (no media/).\n"
    if migration.restored:
        message += (
            "\nFields AnkiOps' export had changed (sub/superscripts, colours, line breaks, "
            "spaces, table headers) written as Anki has them.\n"
        )
    if migration.vscode is not None:
        message += "\nVS Code pastes pictures into media/ (AnkiOps had media/AnkiOpsMedia/).\n"
    if migration.media_link is not None:
        message += "\nmedia/ is a folder of its own, no longer a link to Anki's media folder.\n"
    # media/ as it is: the notes show its files (a push sends only files the commit
    # has), and the merge with Anki's notes brings the same files and must not find
    # them untracked (an AnkiOps folder's media/, as AnkiOps left it, or one that
    # import-apkg or deserialize wrote).
    if stage_and_commit(
        repo,
        paths,
        message,
        media.MEDIA_DIR,
        [adopt.MEDIA_LINK] if migration.media_link is not None else [],
    ):
        result.lines.append(f"init: committed {len(local.decks)} deck file(s) and settings")

    if gitstore.ref_target(repo, gitstore.ANKI_REF) is None:
        reference = export.snapshot_of_commit(repo, gitstore.head_commit(repo).id, config)  # type: ignore[union-attr]
        fetched = sync.fetch_root(repo, backend, config, reference, progress, media_progress)
    else:
        fetched = sync.fetch(
            repo, backend, config, progress=progress, media_progress=media_progress
        )
    notes = sum(
        len(d.notes) for d in export.snapshot_of_commit(repo, fetched.commit, config).decks.values()
    )
    result.lines.append(f"init: Anki has {notes} AnkiOps note(s); fetched into anki/main")
    result.lines += fetched.warnings
    result.conflicts = merge_anki(repo)
    return repo


class Undo:
    """What init may write in a folder, as it was before: restored when init fails
    before writing to Anki, so a failed init leaves the folder as it was. Git objects
    init wrote stay (unreachable, harmless); refs, index, config, hooks and our state
    go back."""

    GIT_FILES = ("HEAD", "config", "index", "packed-refs")
    GIT_DIRS = ("refs", "hooks", "ankiops")

    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        self.files: dict[Path, bytes | None] = {}
        self.links: dict[Path, str] = {}
        self.had_git: bool | None = None
        self.keep_files(names)

    def keep_link(self, name: str, target: str) -> None:
        """A symbolic link init replaces (AnkiOps 0.4's media/): made again on restore,
        whatever init put in its place."""
        self.links[self.root / name] = target

    def keep_files(self, names: list[str]) -> None:
        for name in names:
            path = self.root / name
            if path not in self.files:
                self.files[path] = path.read_bytes() if path.is_file() else None

    def keep_git(self) -> None:
        git = self.root / ".git"
        self.had_git = git.is_dir()
        if not self.had_git:
            return
        self.keep_files([f".git/{n}" for n in self.GIT_FILES])
        self.dirs = {n: {p for p in (git / n).rglob("*") if p.is_file()} for n in self.GIT_DIRS}
        self.keep_files(
            [str(p.relative_to(self.root)) for paths in self.dirs.values() for p in paths]
        )

    def restore(self) -> None:
        git = self.root / ".git"
        if self.had_git is False:
            shutil.rmtree(git, ignore_errors=True)
        elif self.had_git:
            for name, before in self.dirs.items():
                for path in (git / name).rglob("*"):
                    if path.is_file() and path not in before:
                        path.unlink()
        for path, data in self.files.items():
            if data is None:
                if not str(path).startswith(str(git)) or self.had_git:
                    path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        for path, target in self.links.items():
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            path.symlink_to(target, target_is_directory=True)


def existing_repo(root: Path) -> pygit2.Repository | None:
    """The repository at `root` if there is one already (init run again, or on a clone)."""
    return pygit2.Repository(str(root)) if (root / ".git").exists() else None


def existing_spec(root: Path) -> str | None:
    repo = existing_repo(root)
    if repo is None:
        return None
    try:
        return sync.remote_spec(repo)
    except AnkiOpsError:
        return None


def init(
    directory: Path,
    anki: str | None = None,
    profile: str | None = None,
    tutorial: bool = False,
    hooks: bool = True,
    progress: export.Progress | None = None,
    media_progress: export.Progress | None = None,
) -> InitResult:
    root = directory.expanduser().resolve()
    config = config_mod.load(root)
    spec = anki or profile or existing_spec(root) or config.anki
    if spec is None:
        from ankiops_git.anki import DEFAULT_CONNECT_URL

        spec = DEFAULT_CONNECT_URL
    result = InitResult(root)

    with sync.open_anki(spec, config, sync.api_key(existing_repo(root))) as backend:
        actual = backend.profile()
        expected, source = profile, "--profile"
        if expected is None:
            expected, source = config.profile, "ankiops.toml"
        if expected is None and root.is_dir() and not (root / config_mod.CONFIG_NAME).exists():
            # A folder AnkiOps linked to a profile: adopting another's notes would add
            # every note of the files to it anew.
            expected, source = adopt.recorded_profile(root)
        if expected is not None and expected != actual:
            raise sync.WrongProfile(
                f"Anki has profile {actual!r}, but {source} says {expected!r}. Open the right "
                "profile (or fix the setting); nothing changed."
            )
        # Everything is read and checked before anything is written: a folder init
        # refuses is left as it was (and what fails later is rolled back, see Undo).
        declared = adopt_types.declare(root, config, backend) if root.is_dir() else None
        if declared is not None:  # AnkiOps' hide-all cloze, image occlusion, its own
            config.note_types = backend.note_types = declared.types
        migration = adopt.plan(root, config) if root.is_dir() else adopt.Migration()
        migration.declared = declared
        if root.is_dir():
            adopt.check(root, config, migration, backend)
            adopt.restore_formatting(root, config, migration, backend)
        undo = Undo(root, [config_mod.CONFIG_NAME, ".gitattributes", TUTORIAL_FILE])
        undo.keep_files(list(migration.texts))
        if migration.vscode is not None:
            undo.keep_files([adopt.VSCODE_SETTINGS])
        if migration.media_link is not None:
            undo.keep_link(adopt.MEDIA_LINK, migration.media_link)
        try:
            repo = _prepare(
                root, spec, config, actual, hooks, tutorial, migration, result, undo, backend,
                progress, media_progress,
            )  # fmt: skip
        except BaseException:
            undo.restore()
            raise
        if result.conflicts:
            return result
        outcome = sync.push_commit(repo, backend, config, gitstore.head_commit(repo).id)  # type: ignore[union-attr]
        if not outcome.up_to_date and not outcome.plan.empty():
            result.lines.append("anki (pushed): " + outcome.plan.line())
        if not outcome.up_to_date:
            # Also after an empty push (init's commit of ankiops.toml): its state does
            # not record the decks, and this fetch's does, so the first commit or pull
            # after init is as cheap as any other.
            sync.fetch(repo, backend, config)
    if sync.fast_forward(repo):
        result.lines.append("init: new note ids written into your files")
    return result


# The tutorial deck `init --tutorial` writes: every note type and every feature once.
TUTORIAL = """\
Q: What is this deck?
A: The **ankiops-git tutorial**: each note shows one note type or feature.
Edit it here or in Anki; `git pull anki` and `git commit` keep both sides in step.
E: Notes are separated by a line with three dashes. The `note_id` comment above a
note appears after its first push: it is how Anki and git know it is the same note.

---

<!-- tags: tutorial formatting -->
Q: Which Markdown works in fields?
A: *Italic*, **bold**, ~~struck~~, `code`, [links](https://apps.ankiweb.net), and lists:

- one
- two
E: Tags go in a comment line at the top of the note, separated by spaces.

---

F: Reversed note (front)
B: Makes two cards: front -> back and back -> front.

---

T: A cloze note hides {{c1::parts of the text}} one {{c2::card}} at a time.
E: Use `{{c1::...}}` as in Anki.

---

Q: Type the capital of France.
I: Paris
E: An input note: you type the answer and Anki compares it.

---

Q: Which of these are prime numbers?
C1: 2
C2: 4
C3: 7
A: 1, 3
E: A choice note: `A:` lists the numbers of the right choices.

---

Q: How do code blocks look?
A:
```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```
M: Fenced code is highlighted; `M:` holds more detail, shown behind a click.

---

Q: And formulas?
A: Inline \\(e^{i\\pi} + 1 = 0\\) and display math:
\\[\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\\]
"""
