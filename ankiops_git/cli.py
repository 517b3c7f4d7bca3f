"""`ankiops-git`: the command line. A thin layer: parse, call the library, print."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ankiops_git import __version__

if TYPE_CHECKING:
    import pygit2

    from ankiops_git.config import Config


class _Commands(click.Group):
    """The one error handler of this surface: a user's error (AnkiOpsError) from any
    command is one line on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from ankiops_git.errors import AnkiOpsError

        try:
            return super().invoke(ctx)
        except AnkiOpsError as e:
            _fail(e)
            return None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ankiops-git")
def cli() -> None:
    """Anki decks as Markdown files under git, with Anki as a git remote."""


# --- sync commands (init, status, push, pull) ---------------------------------------


def _fail(error: Exception) -> None:
    from ankiops_git.errors import printable

    click.echo(f"ankiops-git: {printable(str(error))}", err=True)
    raise SystemExit(1)


@cli.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.option(
    "--anki",
    "anki_spec",
    metavar="URL|PATH",
    help="Where Anki is: an AnkiConnect URL (Anki open), or a collection file or profile "
    "name (Anki closed). [default: the folder's remote if set, else http://127.0.0.1:8765]",
)
@click.option(
    "--profile",
    help="The Anki profile these decks belong to. [default: the one Anki has open]",
)
@click.option("--tutorial", is_flag=True, help="Add a tutorial deck showing every note type.")
@click.option("--no-hooks", is_flag=True, help="Do not install the git hooks.")
def init_command(
    directory: str, anki_spec: str | None, profile: str | None, tutorial: bool, no_hooks: bool
) -> None:
    """Make DIRECTORY (default: the current folder) a git repository of deck files with
    Anki as the remote `anki`. Safe to run again: it repairs the wiring."""
    import shutil
    from pathlib import Path

    from ankiops_git import programs
    from ankiops_git.init import init
    from ankiops_git.remote import media_bar, progress_bar

    result = init(
        Path(directory),
        anki_spec,
        profile,
        tutorial,
        not no_hooks,
        progress=progress_bar,
        media_progress=media_bar,
    )
    for line in result.lines:
        click.echo(line)
    if result.conflicts:
        click.echo(
            "init: your files and Anki differ in: "
            + ", ".join(result.conflicts)
            + ". Resolve the conflicts, `git commit`, and the hook pushes the result."
        )
        raise SystemExit(1)
    click.echo(f"init: {result.root} is ready (remote `anki`); try `git pull anki`.")
    if shutil.which("git-remote-anki") is None:  # git finds a remote helper on PATH only
        click.echo(
            "init: git-remote-anki is not on your PATH, so `git pull anki` and `git push "
            f"anki` would fail ('remote-anki' is not a git command): add {programs.bin_dir()} "
            "to PATH in your shell's profile, or use `ankiops-git pull` and `ankiops-git push`."
        )


@cli.command("status")
@click.option("-v", "--verbose", is_flag=True, help="List the notes a push would change.")
def status_command(verbose: bool) -> None:
    """What a push would send (planned and checked as a push would, not applied), and
    whether Anki has changes a pull would bring."""
    from ankiops_git import gitstore, sync

    for line in sync.status(gitstore.open_repo(), verbose):
        click.echo(line)


@cli.command("media")
@click.option(
    "--trash-unused",
    is_flag=True,
    required=True,
    help="List the media files ankiops-git stored in Anki that no note shows any more.",
)
@click.option("--apply", is_flag=True, help="Move them to Anki's media trash.")
def media_command(trash_unused: bool, apply: bool) -> None:
    """Media files in Anki. `--trash-unused` lists the files pushes stored that no note
    (of any note type) and no deck file shows any more; with `--apply` they go to
    Anki's media trash (Tools > Check Media in Anki can restore them). Files
    ankiops-git did not store, and files changed in Anki since, are never touched."""
    from ankiops_git import gitstore, sync

    found = sync.unused_media(gitstore.open_repo(), trash=apply)
    verb = "moved to Anki's media trash" if apply else "would go to Anki's media trash"
    for name in found.names:
        click.echo(f"media: {name}: {verb}")
    for name in found.changed:
        click.echo(f"media: {name}: changed in Anki since it was pushed: kept")
    if not found.names:
        click.echo("media: no media file stored by ankiops-git is unused")
    elif not apply:
        click.echo(
            f"media: {len(found.names)} file(s); run `ankiops-git media --trash-unused "
            f"--apply` to move them"
        )


@cli.command("push")
@click.option("--allow-deletes", is_flag=True, help="Allow deleting many notes in one push.")
@click.option(
    "--recreate-decks",
    is_flag=True,
    help="Over AnkiConnect, rename decks by re-creating them (description and per-deck "
    "limits are not kept).",
)
@click.option(
    "--allow-field-changes",
    is_flag=True,
    help="Let this push add or remove fields of the note types ankiops.toml declares "
    "(forces a full sync on every device).",
)
@click.option(
    "-n", "--dry-run", is_flag=True, help="List what a push would change; change nothing."
)
def push_command(
    allow_deletes: bool, recreate_decks: bool, allow_field_changes: bool, dry_run: bool
) -> None:
    """Push the current branch to Anki and write the new note ids back."""
    from ankiops_git import gitstore, sync
    from ankiops_git.remote import adding_bar

    if dry_run:
        plan = sync.plan_head(
            gitstore.open_repo(),
            allow_deletes=allow_deletes,
            recreate_decks=recreate_decks,
            allow_field_changes=allow_field_changes,
        )
        for line in plan.note_type_changes:
            click.echo(f"anki (dry run): a push would make: {line}")
        if plan.empty():
            if not plan.note_type_changes:
                click.echo("anki (dry run): nothing to push")
            return
        click.echo(f"anki (dry run): a push would send {plan.line()}")
        for item in plan.listing():
            click.echo(f"  {item}")
        return
    outcome = sync.push_head(
        gitstore.open_repo(),
        allow_deletes=allow_deletes,
        recreate_decks=recreate_decks,
        allow_field_changes=allow_field_changes,
        progress=adding_bar,
    )
    lines = outcome.lines() or ["anki: everything up to date"]
    for line in lines:
        click.echo(line)


@cli.command("pull")
@click.option(
    "--allow-deletes", is_flag=True, help="Allow a pull that deletes many notes from the files."
)
def pull_command(allow_deletes: bool) -> None:
    """`git pull -s ankiops anki main`: bring Anki's edits in and merge them note by
    note, in one step (the merge strategy carries edits to moved notes at once)."""
    import subprocess

    from ankiops_git import gitstore, sync
    from ankiops_git.programs import git_env
    from ankiops_git.sync import ALLOW_DELETES_ENV

    sync.remote_spec(gitstore.open_repo())  # a repository wired to Anki, or say so
    env = git_env()  # git finds git-remote-anki and the merge strategy on PATH: ours first
    if allow_deletes:
        env[ALLOW_DELETES_ENV] = "1"
    pull = ["git", "pull", "--no-rebase", "-s", "ankiops", "anki", "main"]
    raise SystemExit(subprocess.call(pull, env=env))


# --- sync with AnkiWeb or a self-hosted server (login, sync) ------------------------

PASSWORD_ENV = "ANKIOPS_SYNC_PASSWORD"
_ANKI_OPTION = click.option(
    "--anki",
    "anki_spec",
    metavar="URL|PATH|PROFILE",
    help="Another collection than the repository's: an AnkiConnect URL, a collection file "
    "or a profile name. [default: the repository's remote `anki`]",
)


def _where(anki_spec: str | None) -> tuple[str, pygit2.Repository | None, Config]:
    """(backend spec, repository, its config): the repository's remote `anki`; with
    --anki, that collection on its own (no repository: a profile keeps its login)."""
    from ankiops_git import config as config_mod
    from ankiops_git import gitstore, sync

    if anki_spec is not None:
        return anki_spec, None, config_mod.Config()
    repo = gitstore.open_repo()
    return sync.remote_spec(repo), repo, sync.load_config(repo)


@cli.command("login")
@click.option(
    "--endpoint",
    metavar="URL",
    help="A self-hosted sync server's address (e.g. http://192.168.1.5:8080/). "
    "[default: the server logged in to before, else AnkiWeb]",
)
@click.option("--username", "-u", help="The account's user name (AnkiWeb: its e-mail).")
@_ANKI_OPTION
def login_command(endpoint: str | None, username: str | None, anki_spec: str | None) -> None:
    """Log in to AnkiWeb or a self-hosted sync server, once, for `ankiops-git sync`.

    The password is asked for (or read from ANKIOPS_SYNC_PASSWORD) and never stored;
    the key the server gives is kept where Anki keeps it for a profile's collection,
    else in this repository's .git/config. With Anki desktop open (AnkiConnect), log in
    within Anki instead."""
    from ankiops_git import sync
    from ankiops_git.anki import ankiweb
    from ankiops_git.errors import AnkiOpsError

    spec, repo, config = _where(anki_spec)
    if spec.startswith(("http://", "https://", "anki::http")):
        raise AnkiOpsError(
            "Anki desktop is open (AnkiConnect): log in within Anki (press Sync, or "
            "Preferences > Syncing), and `ankiops-git sync` uses that login."
        )
    name = username or click.prompt("User name")
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, default="", show_default=False
    )
    with sync.open_anki(spec, config) as backend:
        done, where = ankiweb.login_backend(backend, repo, name, password, endpoint)
    click.echo(f"login: logged in to {done.server} as {done.username}; the key is kept in {where}")


@cli.command("sync")
@click.option(
    "--upload",
    "full",
    flag_value="upload",
    help="If Anki needs a full sync: this collection replaces the server's.",
)
@click.option(
    "--download",
    "full",
    flag_value="download",
    help="If Anki needs a full sync: the server's collection replaces this one.",
)
@click.option("--no-media", is_flag=True, help="Sync the notes only, not the media files.")
@_ANKI_OPTION
def sync_command(full: str | None, no_media: bool, anki_spec: str | None) -> None:
    """Sync Anki with AnkiWeb or your sync server (so phones get the decks), with Anki
    desktop closed (the collection file) or open (AnkiConnect).

    A full sync, where one side replaces the other, is never done unless asked for:
    the command says what each way would lose; run it again with --upload or
    --download."""
    from ankiops_git import sync
    from ankiops_git.anki import ankiweb

    spec, repo, config = _where(anki_spec)
    key = sync.api_key(repo) if repo is not None else None
    with sync.open_anki(spec, config, key) as backend:
        report = ankiweb.sync_backend(
            backend,
            repo,
            full="upload" if full == "upload" else "download" if full else None,
            media=False if no_media else None,
        )
    click.echo(report.line())
    if report.kind == "download" and repo is not None:
        click.echo("sync: run `git pull anki` to bring the downloaded collection into the files")


# --- note types ------------------------------------------------------------------------


@cli.group("note-type")
def note_type_group() -> None:
    """Note types beyond the built-in five, declared in ankiops.toml (docs/format.md)."""


@note_type_group.command("import")
@click.argument("anki_name")
@click.option(
    "--templates/--no-templates",
    default=None,
    help="Write its cards and CSS into note-types/NAME/ (ankiops-git then keeps them up to "
    "date in Anki), or only map its fields to prefixes (Anki keeps its templates). "
    "[default: map Anki's stock types (Basic, Cloze, ...), write the others' files]",
)
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    metavar="FIELD=PREFIX",
    help="The prefix of a field (as files written already use it: AnkiOps' labels, say); "
    "repeat for each. [default: made from the field's name]",
)
@click.option(
    "--update",
    is_flag=True,
    help="For a type declared already: write Anki's templates and CSS into its folder "
    "(to keep edits made in Anki).",
)
@_ANKI_OPTION
def note_type_import_command(
    anki_name: str,
    templates: bool | None,
    prefixes: tuple[str, ...],
    update: bool,
    anki_spec: str | None,
) -> None:
    """Declare Anki's note type ANKI_NAME in ankiops.toml, with a prefix per field, so its
    notes sync as deck files. Review the prefixes, then commit."""
    from ankiops_git import config as config_mod
    from ankiops_git import export, gitstore, sync
    from ankiops_git.errors import AnkiOpsError
    from ankiops_git.notetypes_config import import_note_type, update_templates

    given: dict[str, str] = {}
    for item in prefixes:
        field_name, sep, prefix = item.rpartition("=")
        if not sep or not field_name or not prefix:
            raise AnkiOpsError(f"--prefix {item!r}: write FIELD=PREFIX, like --prefix Word=W")
        given[field_name] = prefix.removesuffix(":")

    repo: pygit2.Repository | None = None
    try:
        repo = gitstore.open_repo()
    except AnkiOpsError:
        if anki_spec is None or update:
            raise
    # Outside a repository (an AnkiOps folder before `init`, with --anki): the current
    # folder's ankiops.toml, which init keeps.
    root = gitstore.workdir(repo) if repo is not None else Path.cwd()
    config = sync.load_config(repo) if repo is not None else config_mod.load(root)
    spec = anki_spec if anki_spec is not None else sync.remote_spec(repo)  # type: ignore[arg-type]
    with sync.open_anki(spec, config, sync.api_key(repo)) as backend:
        if update and repo is not None:
            head = gitstore.head_commit(repo)
            committed = set(export.commit_files(repo, head.id if head is not None else None))
            changed = set(repo.status(untracked_files="no"))
            lines = update_templates(root, backend, anki_name, committed - changed)
        else:
            lines = import_note_type(root, backend, anki_name, templates, given)
    for line in lines:
        click.echo(line)


# --- validate (also the pre-commit hook, see .pre-commit-hooks.yaml) -----------------


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check deck files; print problems as FILE:LINE:COL: error|warning: message.

    With no PATHS, checks every deck file of the repository (from any of its folders)
    and warns of Markdown in subfolders. Named files that are not decks (README.md and
    the other `exclude`s of ankiops.toml) are skipped. Exits 1 if there is an error or
    no deck file at all; warnings alone do not fail.
    """
    from ankiops_git import deckfile, validate
    from ankiops_git.errors import AnkiOpsError

    root = _top_folder()
    if paths:
        found = validate.check_paths(paths)
    else:  # the repository's deck files, named as git names files: from here
        here = Path.cwd()
        os.chdir(root)
        try:
            found = validate.check_tree(Path("."))
        finally:
            os.chdir(here)
        found = [dataclasses.replace(d, path=os.path.relpath(root / d.path, here)) for d in found]
    for diagnostic in found:
        click.echo(str(diagnostic))
    if validate.has_errors(found):
        raise SystemExit(1)
    if not paths:
        count = len(deckfile.deck_files(root))
        if count == 0:
            raise AnkiOpsError(f"no deck files in {root} (deck files are *.md at its top)")
        warnings = f", {len(found)} warning(s)" if found else ""
        click.echo(f"validate: {count} deck file(s) in {root}: no errors{warnings}")


# --- sharing: JSON/ZIP and Anki packages (docs/sharing.md) ----------------------------

_MAX_MB_OPTION = click.option(
    "--max-mb",
    type=click.IntRange(min=1),
    default=None,
    help="The most an archive may unpack to, in MB, before it is refused. [default: 2048]",
)


def _UNPACK_OPTIONS(command: Callable[..., None]) -> Callable[..., None]:  # noqa: N802
    """--directory, --overwrite and --max-mb: what deserialize and import-apkg share."""
    command = _MAX_MB_OPTION(command)
    command = click.option("--overwrite", is_flag=True, help="Replace deck files that exist.")(
        command
    )
    return click.option(
        "--directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the deck files go. [default: the current folder]",
    )(command)


def _max_bytes(max_mb: int | None) -> int:
    from ankiops_git.archive import DEFAULT_MAX_MB

    return (max_mb or DEFAULT_MAX_MB) * 1_000_000


@cli.command("serialize")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write. [default: the JSON on standard output]",
)
@click.option(
    "--deck",
    "decks",
    multiple=True,
    metavar="NAME",
    help="Only this deck (as Anki names it, e.g. Spanish::Verbs); repeatable.",
)
@click.option("--no-subdecks", is_flag=True, help="Leave out the subdecks of --deck.")
@click.option(
    "--no-ids", is_flag=True, help="Leave out note and deck ids (they belong to one Anki profile)."
)
@click.option(
    "--include-media",
    is_flag=True,
    help="Write a ZIP with the media files the notes show (needs -o).",
)
def serialize_command(
    output: Path | None,
    decks: tuple[str, ...],
    no_subdecks: bool,
    no_ids: bool,
    include_media: bool,
) -> None:
    """The repository's decks (or some) as one portable JSON document: Markdown fields,
    tags, note types, deck names; with --include-media a ZIP with the media too."""
    from ankiops_git import share
    from ankiops_git.errors import AnkiOpsError

    try:
        doc = share.serialize(_top_folder(), decks, not no_subdecks, not no_ids)
        if include_media:
            if output is None:
                raise AnkiOpsError("--include-media writes a ZIP: give it a file, -o FILE.zip")
            written = share.write_archive(_top_folder(), doc, output)
        elif output is None:
            click.echo(share.dumps(doc), nl=False)
            return
        else:
            output.write_text(share.dumps(doc), encoding="utf-8")
            written = share.count(doc)
    except OSError as e:
        raise AnkiOpsError(f"cannot write {output}: {e.strerror or e}") from e
    for name in written.missing:
        click.echo(
            f"serialize: warning: the notes show media/{name}, which is not in media/", err=True
        )
    media = f", {written.media} media file(s)" if include_media else ""
    click.echo(f"serialize: {written.decks} deck(s), {written.notes} note(s){media} -> {output}")


@cli.command("deserialize")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_UNPACK_OPTIONS
def deserialize_command(
    file: Path, directory: Path | None, overwrite: bool, max_mb: int | None
) -> None:
    """Deck files (and media/) from a document `serialize` wrote (JSON or ZIP)."""
    from ankiops_git import share
    from ankiops_git.errors import AnkiOpsError

    try:
        done = share.deserialize(file, directory or Path("."), overwrite, _max_bytes(max_mb))
    except OSError as e:
        raise AnkiOpsError(f"cannot write the deck files: {e.strerror or e}") from e
    _say_declared("deserialize", done.declared)
    _say_renamed("deserialize", done.renamed)
    click.echo(
        f"deserialize: {len(done.decks)} deck file(s), {done.notes} note(s), "
        f"{done.media_new} media file(s) written ({done.media_same} already there)"
    )


@cli.command("export-apkg")
@click.argument("decks", nargs=-1, metavar="[DECK]...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The package to write (FILE.apkg).",
)
@click.option(
    "--include-scheduling",
    is_flag=True,
    help="Also the cards' scheduling and review history, and the decks' options presets, "
    "read from the repository's Anki (remote `anki`, or --anki).",
)
@_ANKI_OPTION
def export_apkg_command(
    decks: tuple[str, ...], output: Path, include_scheduling: bool, anki_spec: str | None
) -> None:
    """An Anki package of the repository's decks (DECKs and their subdecks; all if none),
    from the files alone: note types, templates, CSS, media, and stable GUIDs, so that
    importing a newer package updates the notes instead of adding them again. With
    --include-scheduling, the notes Anki has carry their cards' learning progress, and
    the decks their options presets."""
    from ankiops_git import apkg
    from ankiops_git.remote import progress_bar_for

    root = _top_folder()
    bar = progress_bar_for("package")
    if include_scheduling:
        from ankiops_git import sync

        spec, repo, config = _where(anki_spec)
        key = sync.api_key(repo) if repo is not None else None
        with sync.open_anki(spec, config, key) as backend:
            done = apkg.export_apkg(root, output, decks, bar, backend)
    else:
        done = apkg.export_apkg(root, output, decks, bar)
    for name in done.missing:
        click.echo(
            f"export-apkg: warning: the notes show media/{name}, which is not in media/", err=True
        )
    click.echo(
        f"export-apkg: {done.decks} deck(s), {done.notes} note(s), {done.media} media "
        f"file(s) -> {output}"
    )
    if include_scheduling:
        click.echo(
            f"export-apkg: scheduling of {done.scheduled} card(s), {done.reviews} review(s), "
            f"{done.presets} deck options preset(s); in Anki, import it with 'Import any "
            f"learning progress' and 'Import any deck presets' on"
        )
        if done.undated:
            click.echo(
                f"export-apkg: {done.undated} card(s) are in a filtered deck (or Anki has no "
                f"card due in days to date them by): they are due today in the package. "
                f"Empty the filtered deck in Anki and export again to keep their due days."
            )
        if done.unmatched:
            click.echo(
                f"export-apkg: {done.unmatched} card(s) in Anki belong to no card of the "
                f"files' notes (a cloze or card the files removed): not in the package"
            )


@cli.command("import-apkg")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_UNPACK_OPTIONS
def import_apkg_command(
    file: Path, directory: Path | None, overwrite: bool, max_mb: int | None
) -> None:
    """Deck files (and media/) from an Anki package (.apkg), e.g. a shared deck. Notes of
    Anki's Basic, Basic (and reversed card), Basic (type in the answer) and Cloze types
    become QA, Reversed, Input and Cloze notes; the package's other note types are declared
    in ankiops.toml (their cards and CSS in note-types/)."""
    from ankiops_git import apkg
    from ankiops_git.remote import progress_bar_for

    done = apkg.import_apkg(
        file,
        directory or Path("."),
        overwrite,
        _max_bytes(max_mb),
        progress_bar_for("reading package"),
    )
    _say_declared("import-apkg", done.declared)
    for name, (number, why) in sorted(done.skipped.items()):
        click.echo(f"import-apkg: skipped {number} note(s) of note type {name!r}: {why}")
    for line in done.refused:
        click.echo(f"import-apkg: skipped {line}")
    _say_renamed("import-apkg", done.renamed)
    click.echo(
        f"import-apkg: {len(done.decks)} deck file(s), {done.notes} note(s), "
        f"{done.media} media file(s) written ({done.media_same} already there)"
    )


def _say_declared(command: str, names: list[str]) -> None:
    for name in names:
        click.echo(
            f"{command}: note type {name!r} declared in ankiops.toml (check its prefixes "
            f"there; docs/format.md, Declaring a note type)"
        )


def _say_renamed(command: str, renamed: dict[str, str]) -> None:
    for old, new in sorted(renamed.items()):
        click.echo(f"{command}: media/{old} is another file here: written as media/{new}")


def _top_folder() -> Path:
    """The repository's top folder (deck files live there), else the current folder."""
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    return Path(done.stdout.strip()) if done.returncode == 0 else Path(".").resolve()


def main() -> None:
    cli()
