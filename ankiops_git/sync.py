"""Fetch and push between a repository and Anki: the steps every surface shares.

The remote helper, the hooks and the CLI all call these. `fetch` turns Anki's state
into a commit on top of `anki/main`; `push` applies a commit's difference to Anki.
Neither touches the working tree; `fast_forward` does, through git itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from ankiops_git import config as config_mod
from ankiops_git import deckfile, export, gitstore, media, push, syncstate
from ankiops_git.anki.base import Backend
from ankiops_git.anki.templates import CardTemplate
from ankiops_git.config import Config
from ankiops_git.errors import AnkiOpsError, WrongProfile
from ankiops_git.model import Note
from ankiops_git.notetypes_config import BACK, CSS_FILE, FRONT
from ankiops_git.programs import GUARD_ENV, git_env
from ankiops_git.syncstate import SyncState

REMOTE = "anki"
URL_PREFIX = "anki::"


def remote_spec(repo: pygit2.Repository) -> str:
    """The backend spec of the `anki` remote (its URL without `anki::`)."""
    try:
        url = repo.remotes[REMOTE].url or ""
    except KeyError:
        raise AnkiOpsError(
            "this repository has no `anki` remote. Run `ankiops-git init` here first."
        ) from None
    return url.removeprefix(URL_PREFIX)


TEMPLATE_FILES = (FRONT, BACK, CSS_FILE)  # what a declared type's folder is read for


def load_config(repo: pygit2.Repository) -> Config:
    """The repository's settings as its working tree has them (for commands that do
    not read the deck files in git: login, sync, note-type import, export-apkg)."""
    return config_mod.load(gitstore.workdir(repo))


def committed_config(repo: pygit2.Repository) -> Config:
    """The settings a fetch or push works by: ankiops.toml and the declared types'
    templates as committed. A change not committed to them is refused: the deck files
    in git were written by the committed ones, and read by others (a field mapping
    swapped, say) Anki's notes would come back as edits they are not."""
    config = load_config(repo)
    head = gitstore.head_commit(repo)
    if head is None:
        return config
    root = gitstore.workdir(repo)
    paths = {config_mod.CONFIG_NAME}  # and the files the declared types' templates are
    for folder in {t.templates_dir for t in config.note_types.declared if t.templates_dir}:
        names = {f.name for f in (root / folder).iterdir()} if (root / folder).is_dir() else set()
        if folder in head.tree and isinstance(tree := head.tree[folder], pygit2.Tree):
            names |= {str(entry.name) for entry in tree}  # (one deleted since is listed)
        paths |= {f"{folder}/{n}" for n in names if n.endswith(TEMPLATE_FILES)}
    for path in sorted(paths):
        try:  # (git's own answer: line endings as core.autocrlf has them, say)
            status = repo.status_file(path)
        except KeyError:  # in neither HEAD, the index nor the working tree
            continue
        if status not in (pygit2.enums.FileStatus.CURRENT, pygit2.enums.FileStatus.IGNORED):
            raise AnkiOpsError(
                f"{path}: changed and not committed. Syncing with Anki reads the deck "
                f"files in git by the committed settings, so commit it, or undo the change "
                f"(git checkout -- {path}), then sync again; nothing was fetched or sent."
            )
    return config


def check_profile(backend: Backend, config: Config) -> None:
    """Refuse before anything is read or written if Anki has another profile open."""
    if config.profile is None:
        return
    actual = backend.profile()
    if actual != config.profile:
        raise WrongProfile(
            f"Anki has profile {actual!r} open, but this repository belongs to profile "
            f"{config.profile!r} (ankiops.toml). Switch profiles in Anki and retry; "
            f"nothing was changed."
        )


KEY_CONFIG = "ankiops.apikey"  # git config: this machine's AnkiConnect API key


def api_key(repo: pygit2.Repository | None) -> str | None:
    """The AnkiConnect API key: environment variable ANKIOPS_ANKICONNECT_KEY, else git
    config ankiops.apikey (in .git/config, never committed; seen by hooks that GUI
    clients run without the shell's environment)."""
    from ankiops_git.anki import KEY_ENV

    key = os.environ.get(KEY_ENV)
    if key:
        return key
    if repo is not None and KEY_CONFIG in repo.config:
        return str(repo.config[KEY_CONFIG]) or None
    return None


@contextmanager
def open_anki(spec: str, config: Config, key: str | None = None) -> Iterator[Backend]:
    from ankiops_git.anki import open_backend

    backend = open_backend(spec, key=key, one_command=True, note_types=config.note_types)
    try:
        check_profile(backend, config)
        yield backend
    finally:
        backend.close()


ALIASES_NAME = "deck-aliases.json"  # in .git/ankiops: export.AnkiView.aliases


def deck_aliases(repo: pygit2.Repository) -> dict[int, int]:
    """Deck ids in files -> the decks re-created in their place (see AnkiView.aliases)."""
    try:
        data = json.loads((gitstore.state_dir(repo) / ALIASES_NAME).read_text(encoding="utf-8"))
        return {int(k): int(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def add_deck_aliases(repo: pygit2.Repository, replaced: dict[int, int]) -> None:
    aliases = {**deck_aliases(repo), **replaced}
    path = gitstore.state_dir(repo) / ALIASES_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({str(k): v for k, v in sorted(aliases.items())}), encoding="utf-8")
    tmp.replace(path)


def sync_with_server(repo: pygit2.Repository, backend: Backend, config: Config) -> list[str]:
    """With `sync = true` in ankiops.toml: sync Anki with its sync server (AnkiWeb or
    your own), so that a phone's edits reach the files and a push reaches the phone.
    Called before a fetch reads Anki and after a push wrote to it. A sync that fails
    (server down, login refused, a full sync needed) is a line to show, not an error:
    the files and the collection still agree, and `ankiops-git sync` can be run later."""
    if not config.sync:
        return []
    from ankiops_git.anki import ankiweb

    try:
        return [ankiweb.sync_backend(backend, repo).line()]
    except AnkiOpsError as e:
        return [f"sync: not synced: {e}"]


# --- fetch ----------------------------------------------------------------------------


@dataclass
class FetchResult:
    commit: pygit2.Oid
    created: bool  # False: Anki's state is the tree anki/main already has
    summary: export.ExportSummary
    read: int  # notes read from Anki
    warnings: list[str] = field(default_factory=list)  # what the user should know


def fetch(
    repo: pygit2.Repository,
    backend: Backend,
    config: Config,
    *,
    update_ref: bool = True,
    progress: export.Progress | None = None,
    first: export.AnkiRead | None = None,
    dirty_only: bool = False,
    state: SyncState | None = None,
    media_progress: export.Progress | None = None,
    known_media: Iterable[str] = (),
) -> FetchResult:
    """Export Anki's state as a commit on top of anki/main (or anki/main itself if same).

    Only the deck files Anki's changes touch are read and written (export.Scope); with
    nothing changed, anki/main is returned without reading any deck file. `first`:
    Anki's decks and mod times if just read (by the push before this fetch).
    `dirty_only`: export only the files a push left dirty (reading only their decks'
    notes), leaving Anki's other changes for the next fetch: what brings a push's new
    note ids back at a cost that does not grow with the collection. `state`: the saved
    state if the caller has it (the push before this fetch), else it is read.
    """
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    if state is None or base is None or state.commit != str(base):
        state = state_for(repo, base)
    files = export.commit_files(repo, base)
    if renamed := renamed_alone(repo, backend, files, config):
        raise AnkiOpsError("\n".join(renamed) + "\nNothing was fetched.")
    partial = None
    if dirty_only and base is not None:
        partial = export.scope_of_files(repo, backend, state, [files], (), config)
    scope: export.Scope | None
    if partial is not None:
        read, scope = partial
    else:
        read = first if first is not None and first.covers is None else export.read_anki(backend)
        scope = export.scope_of_changes(read, state, files, config) if base is not None else None
    if base is not None and scope is not None and not scope.paths:
        return FetchResult(base, False, export.ExportSummary(), 0)  # state stays as it is
    if scope is None:
        reference = export.snapshot_of_commit(repo, base, config)
    else:
        tree = gitstore.commit_of(repo, base).tree_id if base is not None else None
        reference = export.snapshot_in_scope(repo, files, config, scope.paths, tree)
    only = scope.note_ids if scope is not None else None
    return _export_commit(
        repo,
        backend,
        config,
        reference,
        base,
        update_ref,
        progress,
        True,
        read,
        only,
        state,
        media_progress,
        known_media,
    )


ALLOW_DELETES_ENV = "ANKIOPS_ALLOW_DELETES"  # `ankiops-git pull --allow-deletes` sets it


def check_fetched_deletions(
    view: export.AnkiView, reference: export.Snapshot, config: Config, backend: Backend
) -> None:
    """Refuse a fetch that would delete notes from the files because their note type
    is gone from Anki under its name (renamed there, the notes are still in Anki), and
    one that would delete many (the push guard's rule: a wrong collection, or a deck
    deleted in Anki by mistake), unless allowed."""
    # A note whose id Anki does not know that Anki has all the same, by content, under
    # a new id (a clone pushed to another collection) is not deleted: it gets that id.
    renewed = {v.ref for v in view.notes.values() if v.matched}
    notes = [
        (path, note)
        for note_id, (path, index, note) in sorted(reference.notes_by_id().items())
        if note_id not in view.notes
        and note_id not in view.left_out
        and (path, index) not in renewed
    ]
    if problems := types_gone({note.note_type for _, note in notes}, config, backend):
        raise AnkiOpsError("\n".join(problems) + "\nNothing was fetched.")
    if config.allow_deletes or os.environ.get(ALLOW_DELETES_ENV):
        return
    gone = [
        (reference.deck_name(path, view.names), export.first_line(note, view.types))
        for path, note in notes
    ]
    if not gone:
        return
    sizes = Counter(
        reference.deck_name(path, view.names)
        for path, deck in reference.decks.items()
        for _ in deck.notes
    )
    found = push.mass_deletion(gone, sizes)
    if found is not None:
        why, listing = found
        raise AnkiOpsError(
            f"Anki no longer has {why}; fetching would delete them from your files:\n"
            f"{listing}\nNothing was fetched. If Anki is right (you deleted them there): "
            f"`ankiops-git pull --allow-deletes` (or `{ALLOW_DELETES_ENV}=1 git pull anki`, "
            f"or allow_deletes = true in ankiops.toml). If not, check that the remote is "
            f"the right collection: `git remote get-url anki`."
        )


def types_gone(keys: Iterable[str], config: Config, backend: Backend) -> list[str]:
    """A line per note type of `keys` (those of notes a fetch would take out of the
    files) that Anki has no more under its name: renamed in Anki while ankiops.toml
    keeps the old name, its notes no longer look managed, but they are still in Anki.
    Asks Anki only about the types of such notes."""
    out = []
    for key in sorted(keys):
        t = config.note_types.by_key.get(key)
        if t is None or backend.read_note_type(t.anki_name) is not None:
            continue
        if t.origin == "builtin":
            fix = f"rename it back to {t.anki_name!r} in Anki (Tools > Manage Note Types)"
        else:
            fix = (
                f"set anki_name to its new name under [note_types.{t.key}] in "
                f"{config_mod.CONFIG_NAME} and commit, or rename it back to {t.anki_name!r} "
                f"in Anki (Tools > Manage Note Types)"
            )
        out.append(
            f"Anki has no note type {t.anki_name!r} any more (renamed in Anki?): a fetch "
            f"would take its notes out of your deck files, though Anki may still have "
            f"them under the new name. {fix[0].upper()}{fix[1:]}, then pull again; if you "
            f"deleted the type in Anki on purpose, delete its notes from the files and "
            f"commit."
        )
    return out


def state_for(repo: pygit2.Repository, base: pygit2.Oid | None) -> SyncState | None:
    """The saved state if it describes `base` (anki/main), else None."""
    state = syncstate.load(repo)
    if state is None or base is None or state.commit != str(base):
        return None
    return state


def fetch_root(
    repo: pygit2.Repository,
    backend: Backend,
    config: Config,
    reference: export.Snapshot,
    progress: export.Progress | None = None,
    media_progress: export.Progress | None = None,
) -> FetchResult:
    """The first export into a repository with no anki/main: a root commit.

    `reference` (the user's deck files) supplies Markdown and file names for notes it
    already has, so a folder coming from AnkiOps merges with no difference. Every media
    file Anki's notes show goes into media/.
    """
    first = export.read_anki(backend)
    return _export_commit(
        repo,
        backend,
        config,
        reference,
        None,
        True,
        progress,
        False,
        first,
        media_progress=media_progress,
    )


def _export_commit(
    repo: pygit2.Repository,
    backend: Backend,
    config: Config,
    reference: export.Snapshot,
    base: pygit2.Oid | None,
    update_ref: bool,
    progress: export.Progress | None,
    keep_other: bool,
    first: export.AnkiRead,
    only: set[int] | None = None,
    state: SyncState | None = None,
    media_progress: export.Progress | None = None,
    known_media: Iterable[str] = (),
) -> FetchResult:
    view = export.anki_view(
        backend,
        reference,
        state,
        progress,
        first=first,
        only=only,
        aliases=deck_aliases(repo),
        ankiops=config.ankiops_markdown,
    )
    if base is not None:
        check_fetched_deletions(view, reference, config, backend)
    # The media files the notes read this time show: those the tree lacks or holds
    # with other bytes come along (media/ files are never removed by a fetch).
    shown = media.names_of_notes(
        (i, v.html.values()) for i, v in view.notes.items() if v.html is not None
    )
    in_tree = reference.files if keep_other else {}
    fetched_media = media.fetch_media(repo, backend, shown, in_tree, media_progress, known_media)
    tree = export.export_tree(
        repo,
        view,
        reference,
        keep_other_files=keep_other,
        config=config,
        extra=fetched_media.files,
    )
    summary = export.summarize(view, reference)
    summary.media = len(fetched_media.files)
    if base is not None and gitstore.commit_of(repo, base).tree_id == tree:
        commit, created = base, False
    else:
        message = summary.subject() + "\n"
        parents = [base] if base is not None else []
        commit = gitstore.create_commit(repo, tree, parents, message, gitstore.anki_signature())
        created = True
    # The tree is what an export of `first` gives: the next sync may scope to changes.
    export.save_read(repo, commit, first, state)
    if update_ref and (created or base is None):
        gitstore.set_ref(repo, gitstore.ANKI_REF, commit, "fetch: Anki state")
    warnings = view.left_out_lines() + fetched_media.warnings()
    return FetchResult(commit, created, summary, view.read, warnings)


# --- push -----------------------------------------------------------------------------


@dataclass
class PushResult:
    plan: push.Plan
    added_ids: list[int]
    up_to_date: bool  # the pushed commit is anki/main already: Anki was not touched
    after: export.AnkiRead | None = None  # Anki's decks and mod times once pushed
    state: SyncState | None = None  # the state saved for the pushed commit
    warnings: list[str] = field(default_factory=list)  # validate's word on the notes sent
    media_names: set[str] = field(default_factory=set)  # media Anki holds as the tree does


def push_commit(
    repo: pygit2.Repository,
    backend: Backend | None,
    config: Config,
    target: pygit2.Oid,
    *,
    allow_deletes: bool = False,
    recreate_decks: bool = False,
    dry_run: bool = False,
    update_ref: bool = True,
    progress: export.Progress | None = None,
    allow_field_changes: bool = False,
) -> PushResult:
    """Apply `target`'s difference to Anki. `backend` may be None if target is anki/main.
    `recreate_decks`: where the backend cannot rename a deck, re-create it under the
    new name (see push.recreate_warning). `progress`: told (done, total) as new notes
    are added."""
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    if base == target:
        return PushResult(push.Plan(), [], True)
    if (
        base is not None
        and not gitstore.is_ancestor(repo, base, target)
        and not holds_anki_changes(repo, base, target, config)
    ):
        raise push.PushRejected(
            "anki/main has commits that this branch does not contain (fetch first): "
            "run `git pull anki`; the merge pushes by itself.",
            "fetch first",
        )
    if backend is None:
        raise AnkiOpsError("internal: a push that changes Anki needs a backend")
    state = state_for(repo, base)
    base_files = export.commit_files(repo, base)
    target_files = export.commit_files(repo, target)
    paths = base_files.keys() | target_files.keys()
    changed = {p for p in paths if base_files.get(p) != target_files.get(p)}
    if renamed := renamed_alone(repo, backend, base_files, config):
        raise AnkiOpsError("\n".join(renamed) + "\nNothing was pushed.")
    partial = export.scope_of_files(
        repo, backend, state, [base_files, target_files], changed, config
    )
    scope: export.Scope | None
    if partial is not None:
        first, scope = partial
    else:
        first = export.read_anki(backend)
        scope = export.scope_of_changes(first, state, base_files, config, also=changed)
    if scope is None:
        base_snap = export.snapshot_of_commit(repo, base, config)
        target_snap = export.snapshot_of_commit(repo, target, config)
    else:
        base_snap = export.snapshot_in_scope(repo, base_files, config, scope.paths)
        target_snap = export.snapshot_in_scope(repo, target_files, config, scope.paths)
        push.check_outside_scope(first, scope, target_snap, target_files, config)
    only = scope.note_ids if scope is not None else None
    view = export.anki_view(
        backend,
        base_snap,
        state,
        first=first,
        only=only,
        aliases=deck_aliases(repo),
        ankiops=config.ankiops_markdown,
    )
    plan = push.plan_push(view, target_snap)
    problems = push.unfetched_changes(view, base_snap, target_snap, plan)
    if problems:
        shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        raise push.PushRejected(
            f"Anki has {len(problems)} change(s) not fetched yet ({shown}): "
            f"run `git pull anki`; the merge pushes by itself.",
            "fetch first",
        )
    push.check_deletions(plan, view, allow_deletes or config.allow_deletes)
    push.check_renames_onto(backend, view, plan, target_snap)
    push.check_renamed_decks_are_ours(plan, base_snap, target_snap)
    if missing := push.missing_optional_fields(plan, target_snap, backend):
        raise AnkiOpsError("\n".join(missing) + "\nNothing was pushed.")
    if plan.renames and not backend.renames_in_place and not recreate_decks:
        raise push.PushRejected(push.recreate_warning(plan), "renames")
    wanted = media.media_to_push(
        plan.written_html(), target_files, changed, referenced_in(repo, target_files, config)
    )
    problems = bad_media_references(plan, target_snap)
    if problems := problems + media.links(wanted, target_files) + media.unstorable(wanted):
        raise AnkiOpsError("\n".join(problems) + "\nNothing was pushed.")
    shows: dict[str, str] = {}  # media name -> the first note writing it
    for where, html in plan.written_html():
        for name in sorted(media.referenced_names(html)):
            shows.setdefault(name, where)
    sizes = {m.name: repo.get(target_files[m.path][0]).size for m in wanted}  # type: ignore[union-attr]
    warnings = sent_note_warnings(plan, target_snap) + media.absent(shows, target_files)
    warnings += media.too_large(wanted, sizes, config.media_warn_bytes)
    # Stored once per content: a file Anki holds with the same bytes (git blob hash)
    # under that name is not sent again. Other bytes are replaced only if they are ours
    # (a push stored them, or a fetch brought them into the base): a file of the same
    # name that some other note of the collection shows is never replaced.
    record = media.pushed(repo)
    foreign: list[str] = []
    for start in range(0, len(wanted), media.FETCH_BATCH):
        batch = wanted[start : start + media.FETCH_BATCH]
        held = media.read_many(backend, [m.name for m in batch])
        for found, data in zip(batch, held, strict=True):
            oid = target_files[found.path][0]
            if data is not None and media.same_content(repo, oid, data):
                continue
            if data is not None and not media.ours(repo, found, data, record, base_files):
                foreign.append(media.foreign_message(found))
                continue
            plan.media.append((found.name, media.content(repo, oid, found.path), found.where))
    if foreign:
        raise AnkiOpsError("\n".join(foreign) + "\nNothing was pushed.")
    if plan.adds or note_types_changed(changed, config):
        # Before anything is written: a note type Anki cannot take stops the push here.
        plan.note_type_changes = backend.ensure_note_types(
            allow_field_changes, dry_run=dry_run, pushed=pushed_templates(repo, base_files, config)
        )
        said = "anki (dry run, not done): " if dry_run else "anki: "
        warnings += [said + line for line in plan.note_type_changes]
    if dry_run:
        return PushResult(plan, [], False, warnings=warnings)
    if plan.media:  # recorded first: a push stopped after storing still counts them
        media.record_pushed(repo, {name: str(pygit2.hash(data)) for name, data, _ in plan.media})
    added = push.apply_plan(backend, plan, progress, lambda r: add_deck_aliases(repo, r))
    after, saved = save_pushed_state(repo, backend, target, first, scope, plan, state, added)
    if update_ref:
        gitstore.set_ref(repo, gitstore.ANKI_REF, target, "push: applied to Anki")
    return PushResult(plan, added, False, after, saved, warnings, set(shows))


def pushed_templates(
    repo: pygit2.Repository, files: gitstore.Files, config: Config
) -> dict[str, tuple[tuple[CardTemplate, ...], str]]:
    """The declared types' templates and CSS in `files` (the tree Anki has: what the last
    push sent), by anki name; a type whose files that tree lacks is left out."""
    out = {}
    for t in config.note_types.declared:
        folder = t.templates_dir
        paths = [
            (f"{folder}/{name}.front.html", f"{folder}/{name}.back.html")
            for name, _, _ in t.card_templates
        ]
        if not folder or any(f not in files or b not in files for f, b in paths):
            continue
        cards = tuple(
            CardTemplate(
                name,
                gitstore.blob_text(repo, files[f][0]),
                gitstore.blob_text(repo, files[b][0]),
            )
            for (name, _, _), (f, b) in zip(t.card_templates, paths, strict=True)
        )
        css = files.get(f"{folder}/style.css")
        out[t.anki_name] = (cards, gitstore.blob_text(repo, css[0]) if css else "")
    return out


def renamed_alone(
    repo: pygit2.Repository, backend: Backend, base_files: gitstore.Files, config: Config
) -> list[str]:
    """One line per declared type whose `anki_name` differs from the one the base's
    ankiops.toml gave it while Anki has the old name and not the new one: a push would
    make a new, empty type, and the old type's notes would leave the deck files at the
    next pull (they stay in Anki). Renamed in Anki first, it is no longer refused."""
    blob = base_files.get(config_mod.CONFIG_NAME)
    if blob is None or not config.note_types.declared:
        return []
    try:
        tables = tomllib.loads(gitstore.blob_text(repo, blob[0])).get("note_types", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    out = []
    for t in config.note_types.declared:
        table = tables.get(t.key) if isinstance(tables, dict) else None
        before = table.get("anki_name", t.key) if isinstance(table, dict) else None
        if not isinstance(before, str) or before == t.anki_name:
            continue
        if backend.read_note_type(t.anki_name) is None and backend.read_note_type(before):
            out.append(
                f"{config_mod.CONFIG_NAME}: [note_types.{t.key}] anki_name changed from "
                f"{before!r} to {t.anki_name!r}, but Anki's type is still named {before!r}: a "
                f"push would make a new, empty type, and the notes of {before!r} would leave "
                f"the deck files. Rename the type in Anki first (Tools > Manage Note Types), "
                f"then push again; or put anki_name back."
            )
    return out


def note_types_changed(changed: Iterable[str], config: Config) -> bool:
    """Whether a push changes what Anki's note types should be: ankiops.toml, or a file
    of a declared type's templates."""
    folders = [t.templates_dir for t in config.note_types.declared if t.templates_dir]
    return any(
        path == config_mod.CONFIG_NAME or any(path.startswith(f + "/") for f in folders)
        for path in changed
    )


def sent_notes(plan: push.Plan, target: export.Snapshot) -> Iterator[tuple[str, list[Note]]]:
    """(path, notes) for each deck file whose notes this push adds or changes."""
    changed = {u.note_id for u in plan.updates}
    for path, deck in sorted(target.decks.items()):
        sent = [n for n in deck.notes if n.note_id in changed]
        sent += [a.note for a in plan.adds if a.path == path]
        if sent:
            yield path, sent


def bad_media_references(plan: push.Plan, target: export.Snapshot) -> list[str]:
    """One line (file:line) per media reference of the notes sent that points outside
    the repository (`../x.png`, `/home/me/x.png`) or into a subfolder of media/: refused,
    as the pre-commit hook does."""
    out = []
    for path, notes in sent_notes(plan, target):
        for note in notes:
            for name, text in note.fields.items():
                line = note.field_lines.get(name, note.line)
                out += [
                    f"{path}:{line + offset}: {message}"
                    for offset, message in media.reference_problems(text)
                ]
    return out


def sent_note_warnings(plan: push.Plan, target: export.Snapshot) -> list[str]:
    """What validate says of the notes this push adds or changes (past a commit that
    skipped the pre-commit hook, say): Anki takes them, so the push says it and sends."""
    from ankiops_git.validate import note_warnings

    changed = {u.note_id for u in plan.updates}
    out: list[str] = []
    for path, deck in sorted(target.decks.items()):
        sent = [n for n in deck.notes if n.note_id in changed]
        sent += [a.note for a in plan.adds if a.path == path]
        out += [str(d) for d in note_warnings(path, sent, target.types)]
    return out


def referenced_in(
    repo: pygit2.Repository, files: gitstore.Files, config: Config
) -> Callable[[str], bool]:
    """Whether a name appears in some deck file of `files` (read once, when first asked:
    only a push that changes media files does)."""
    texts: list[bytes] = []

    def referenced(name: str) -> bool:
        if not texts:
            texts.extend(
                gitstore.blob_bytes(repo, oid)
                for path, (oid, _) in files.items()
                if deckfile.is_deck_path(path, config)
            )
        needle = name.encode("utf-8")
        return any(needle in text for text in texts)

    return referenced


def holds_anki_changes(
    repo: pygit2.Repository, base: pygit2.Oid, target: pygit2.Oid, config: Config
) -> bool:
    """Whether `target` holds every change anki/main (`base`) made since their merge base,
    note for note, though git history does not say so: a commit rewritten after a push
    (`git commit --amend` of the "Anki: new note ids" commit, a rebase). Such a push
    loses nothing of Anki's; anything else needs `git pull anki` first."""
    merge_base = repo.merge_base(base, target)
    if merge_base is None:
        return False
    files = [export.commit_files(repo, c) for c in (merge_base, base, target)]
    changed = {p for p in files[0].keys() | files[1].keys() if files[0].get(p) != files[1].get(p)}
    if any(
        not deckfile.is_deck_path(p, config) and files[1].get(p) != files[2].get(p) for p in changed
    ):
        return False  # another file Anki's side changed (a deck file it removed, say)
    old, anki, ours = (
        export.snapshot_of_commit(repo, c, config) for c in (merge_base, base, target)
    )
    old_ids, anki_ids, our_ids = (s.notes_by_id() for s in (old, anki, ours))

    def same(a: tuple[str, int, Note] | None, b: tuple[str, int, Note] | None) -> bool:
        if a is None or b is None:
            return a is b
        return a[0] == b[0] and (a[2].fields, a[2].tags) == (b[2].fields, b[2].tags)

    # notes the last push added: Anki's side only gave them their ids
    pushed = {
        (path, tuple(sorted(n.fields.items())), tuple(n.tags))
        for path, deck in old.decks.items()
        for n in deck.notes
        if n.note_id is None
    }
    for note_id in anki_ids.keys() | old_ids.keys():
        had, has = old_ids.get(note_id), anki_ids.get(note_id)
        if same(had, has):
            continue  # Anki's side did not change it
        if had is None and has is not None and note_id in our_ids:
            path, _, note = has
            if (path, tuple(sorted(note.fields.items())), tuple(note.tags)) in pushed:
                continue  # only its id came from Anki, and ours has it
        if not same(has, our_ids.get(note_id)):
            return False
    decks = {p: d.deck_id for p, d in anki.decks.items()}
    return all(
        ours.decks.get(p) is not None and ours.decks[p].deck_id == i for p, i in decks.items()
    )


def save_pushed_state(
    repo: pygit2.Repository,
    backend: Backend,
    target: pygit2.Oid,
    first: export.AnkiRead,
    scope: export.Scope | None,
    plan: push.Plan,
    state: SyncState | None,
    added: list[int],
) -> tuple[export.AnkiRead, SyncState]:
    """State for `target` after a push: the files in scope are `dirty` (they may lack the
    new note ids an export would write); notes outside it keep the values read before
    the push, so an edit made in Anki meanwhile still shows as a change.

    A push that read only its files' decks reads only those notes (and the added ones)
    again; one that read everything reads everything."""
    if scope is not None and first.covers is not None and not (plan.renames or plan.creates):
        covers = first.covers | set(added)
        decks = backend.decks()
        taken = int(time.time())
        mods = backend.mod_times(covers)
        after = export.AnkiRead(decks, taken, mods, backend.note_decks(mods), covers)
        if decks == first.decks:
            return after, export.save_read(repo, target, after, state, scope.paths)
    after = export.read_anki(backend)
    if scope is None or plan.renames or plan.creates or after.decks != first.decks:
        # the next fetch reads every file
        return after, export.save_state(repo, target, after.mods, after.taken)
    outside = set(first.mods) - scope.note_ids
    mods = {**after.mods, **{i: first.mods[i] for i in outside}}
    note_decks = {**after.note_decks, **{i: first.note_decks[i] for i in outside}}
    saved = export.save_state(repo, target, mods, after.taken, after.decks, note_decks, scope.paths)
    return after, saved


# --- media no note shows any more ----------------------------------------------------------


@dataclass
class UnusedMedia:
    names: list[str]  # files ankiops-git stored that nothing shows: to the media trash
    changed: list[str]  # stored by ankiops-git, changed in Anki since: not ours, kept
    trashed: bool = False


def unused_media(repo: pygit2.Repository, *, trash: bool = False) -> UnusedMedia:
    """The media files pushes stored in Anki (the record in .git/ankiops) that no note in
    Anki (of any note type) and no deck file at HEAD shows any more, holding the bytes
    that were pushed. With `trash`, moved to Anki's media trash (Tools > Check Media
    there restores them) and taken off the record; otherwise only listed."""
    config = committed_config(repo)
    record = media.pushed(repo)
    if not record:
        return UnusedMedia([], [])
    head = gitstore.head_commit(repo)
    files = export.commit_files(repo, head.id if head is not None else None)
    in_files = referenced_in(repo, files, config)
    candidates = sorted(name for name in record if not in_files(name))
    with open_anki(remote_spec(repo), config, api_key(repo)) as backend:
        in_use = backend.media_in_use(candidates)
        names = [n for n in candidates if n not in in_use]
        unused, changed, gone = [], [], []
        for start in range(0, len(names), media.FETCH_BATCH):
            batch = names[start : start + media.FETCH_BATCH]
            for name, data in zip(batch, media.read_many(backend, batch), strict=True):
                if data is None:
                    gone.append(name)
                elif str(pygit2.hash(data)) != record[name]:
                    changed.append(name)
                else:
                    unused.append(name)
        if trash:
            for name in unused:
                backend.trash_media(name)
    if trash or gone:
        media.record_pushed(repo, {}, gone + (unused if trash else []))
    return UnusedMedia(unused, changed, trash)


# --- working tree ---------------------------------------------------------------------


def git(repo_root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git with the hook guard set, so our own hooks stay quiet during it."""
    env = git_env(**{GUARD_ENV: "1"})  # our programs first: hooks may have a bare PATH
    result = subprocess.run(
        ["git", *args], cwd=repo_root, env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise AnkiOpsError(f"`git {' '.join(args)}` failed: {' / '.join(detail[-3:])}")
    return result


def fast_forward(repo: pygit2.Repository) -> bool:
    """Move the checked-out branch to anki/main if that is a fast-forward; True if moved."""
    anki = gitstore.ref_target(repo, gitstore.ANKI_REF)
    head = gitstore.head_commit(repo)
    if anki is None or head is None or head.id == anki:
        return False
    if not gitstore.is_ancestor(repo, head.id, anki):
        return False
    # What `git merge --ff-only` does, by plumbing: that refuses while MERGE_HEAD exists,
    # and the post-merge hook runs (after the merge commit) before git removes it.
    # read-tree -m -u moves index and working tree, refusing to overwrite local changes.
    root = gitstore.workdir(repo)
    # As `git merge` does first: file times the index no longer matches (a copied or
    # restored repository, a file saved unchanged) would make read-tree refuse files
    # that are as committed. Files really changed stay "needs update": refused below.
    git(root, "update-index", "-q", "--refresh", check=False)
    git(root, "read-tree", "-m", "-u", str(head.id), str(anki))
    ref = repo.head.name if not repo.head_is_detached else "HEAD"
    git(root, "update-ref", "-m", "ankiops: new note ids from Anki", ref, str(anki), str(head.id))
    return True


@dataclass
class SyncOutcome:
    pushed: PushResult
    fetched: FetchResult | None
    fast_forwarded: bool
    synced: list[str] = field(default_factory=list)  # sync_with_server's lines

    def lines(self) -> list[str]:
        out = list(self.pushed.warnings)
        if not self.pushed.up_to_date and not self.pushed.plan.empty():
            out.append("anki (pushed): " + self.pushed.plan.line())
        if self.fetched is not None:
            out += self.fetched.warnings
        if self.fast_forwarded:
            out.append(f"anki: {len(self.pushed.added_ids)} new note id(s) written into your files")
        return out + self.synced


def push_head(
    repo: pygit2.Repository,
    *,
    allow_deletes: bool = False,
    recreate_decks: bool = False,
    spec: str | None = None,
    progress: export.Progress | None = None,
    allow_field_changes: bool = False,
) -> SyncOutcome:
    """Push HEAD to Anki, then bring new note ids back (fetch + fast-forward)."""
    config = committed_config(repo)
    head = gitstore.head_commit(repo)
    if head is None:
        raise AnkiOpsError("nothing to push: this branch has no commit yet.")
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    if base == head.id:
        return SyncOutcome(PushResult(push.Plan(), [], True), None, False)
    with open_anki(spec or remote_spec(repo), config, api_key(repo)) as backend:
        pushed = push_commit(
            repo,
            backend,
            config,
            head.id,
            allow_deletes=allow_deletes,
            recreate_decks=recreate_decks,
            progress=progress,
            allow_field_changes=allow_field_changes,
        )
        fetched = fetch(
            repo,
            backend,
            config,
            first=pushed.after,
            dirty_only=True,
            state=pushed.state,
            known_media=pushed.media_names,
        )
        synced = [] if pushed.plan.empty() else sync_with_server(repo, backend, config)
    moved = fast_forward(repo)
    return SyncOutcome(pushed, fetched, moved, synced)


def plan_head(
    repo: pygit2.Repository,
    *,
    allow_deletes: bool = False,
    recreate_decks: bool = False,
    allow_field_changes: bool = False,
) -> push.Plan:
    """What pushing HEAD would change in Anki (checked as a push checks it; PushRejected
    if it would be refused); nothing is written."""
    config = committed_config(repo)
    head = gitstore.head_commit(repo)
    if head is None or head.id == gitstore.ref_target(repo, gitstore.ANKI_REF):
        return push.Plan()
    with open_anki(remote_spec(repo), config, api_key(repo)) as backend:
        return push_commit(
            repo,
            backend,
            config,
            head.id,
            allow_deletes=allow_deletes,
            recreate_decks=recreate_decks,
            dry_run=True,
            allow_field_changes=allow_field_changes,
        ).plan


def status(repo: pygit2.Repository, verbose: bool = False) -> list[str]:
    """What a pull would bring and what a push would do, decided as they decide it (the
    push is planned and checked, not applied); writes nothing anywhere. `verbose`: the
    notes, one line each."""
    config = committed_config(repo)
    head = gitstore.head_commit(repo)
    base = gitstore.ref_target(repo, gitstore.ANKI_REF)
    base_snap = export.snapshot_of_commit(repo, base, config)
    state = state_for(repo, base)
    lines = []
    with open_anki(remote_spec(repo), config, api_key(repo)) as backend:
        view = export.anki_view(
            backend, base_snap, state, aliases=deck_aliases(repo), ankiops=config.ankiops_markdown
        )
        incoming = export.summarize(view, base_snap)
        if incoming.empty():
            lines.append("anki: no changes in Anki since the last fetch")
        else:
            lines.append(f"anki: a pull would bring {incoming.line()}")
        if (Path(repo.path) / "MERGE_HEAD").exists():
            lines.append(
                "push: a merge is under way: resolve any conflict, `git commit`, and the "
                "hook pushes the result"
            )
        elif head is None or head.id == base:
            lines.append("push: nothing to push")
        elif base is not None and not gitstore.is_ancestor(repo, base, head.id):
            lines.append("push: anki/main has commits this branch lacks; run `git pull anki` first")
        else:
            try:
                planned = push_commit(repo, backend, config, head.id, dry_run=True)
            except push.PushRejected as e:
                lines.append(f"push: refused: {e}")
            except AnkiOpsError as e:
                lines.append(f"push: would fail: {e}")
            else:
                lines.append(f"push: a push would send {planned.plan.line()}")
                lines += [f"push: and {line}" for line in planned.plan.note_type_changes]
                if verbose:
                    lines += [f"  {item}" for item in planned.plan.listing()]
    return lines
