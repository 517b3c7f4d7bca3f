"""`ankiops-git`: the command line. A thin layer: parse, call the library, print."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from ankiops_git import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from pathlib import Path

    from ankiops_git.errors import AnkiOpsError
    from ankiops_git.init import init
    from ankiops_git.remote import progress_bar

    try:
        result = init(
            Path(directory), anki_spec, profile, tutorial, not no_hooks, progress=progress_bar
        )
    except AnkiOpsError as e:
        _fail(e)
        return
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


@cli.command("status")
@click.option("-v", "--verbose", is_flag=True, help="List the notes a push would change.")
def status_command(verbose: bool) -> None:
    """What a push would send (planned and checked as a push would, not applied), and
    whether Anki has changes a pull would bring."""
    from ankiops_git import gitstore, sync
    from ankiops_git.errors import AnkiOpsError

    try:
        for line in sync.status(gitstore.open_repo(), verbose):
            click.echo(line)
    except AnkiOpsError as e:
        _fail(e)


@cli.command("push")
@click.option("--allow-deletes", is_flag=True, help="Allow deleting many notes in one push.")
@click.option(
    "--recreate-decks",
    is_flag=True,
    help="Over AnkiConnect, rename decks by re-creating them (description and per-deck "
    "limits are not kept).",
)
@click.option(
    "-n", "--dry-run", is_flag=True, help="List what a push would change; change nothing."
)
def push_command(allow_deletes: bool, recreate_decks: bool, dry_run: bool) -> None:
    """Push the current branch to Anki and write the new note ids back."""
    from ankiops_git import gitstore, sync
    from ankiops_git.errors import AnkiOpsError
    from ankiops_git.remote import adding_bar

    if dry_run:
        try:
            plan = sync.plan_head(
                gitstore.open_repo(), allow_deletes=allow_deletes, recreate_decks=recreate_decks
            )
        except AnkiOpsError as e:
            _fail(e)
            return
        if plan.empty():
            click.echo("anki (dry run): nothing to push")
            return
        click.echo(f"anki (dry run): a push would send {plan.line()}")
        for item in plan.listing():
            click.echo(f"  {item}")
        return
    try:
        outcome = sync.push_head(
            gitstore.open_repo(),
            allow_deletes=allow_deletes,
            recreate_decks=recreate_decks,
            progress=adding_bar,
        )
    except AnkiOpsError as e:
        _fail(e)
        return
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
    from ankiops_git.errors import AnkiOpsError
    from ankiops_git.programs import git_env
    from ankiops_git.sync import ALLOW_DELETES_ENV

    try:  # git finds git-remote-anki and the merge strategy on PATH: put ours first
        sync.remote_spec(gitstore.open_repo())  # a repository wired to Anki, or say so
        env = git_env()
    except AnkiOpsError as e:
        _fail(e)
        return
    if allow_deletes:
        env[ALLOW_DELETES_ENV] = "1"
    pull = ["git", "pull", "--no-rebase", "-s", "ankiops", "anki", "main"]
    raise SystemExit(subprocess.call(pull, env=env))


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
    try:
        if paths:
            found = validate.check_paths(paths)
        else:  # the repository's deck files, named as git names files: from here
            here = Path.cwd()
            os.chdir(root)
            try:
                found = validate.check_tree(Path("."))
            finally:
                os.chdir(here)
            found = [
                dataclasses.replace(d, path=os.path.relpath(root / d.path, here)) for d in found
            ]
    except AnkiOpsError as e:
        _fail(e)
        return
    for diagnostic in found:
        click.echo(str(diagnostic))
    if validate.has_errors(found):
        raise SystemExit(1)
    if not paths:
        count = len(deckfile.deck_files(root))
        if count == 0:
            _fail(AnkiOpsError(f"no deck files in {root} (deck files are *.md at its top)"))
        warnings = f", {len(found)} warning(s)" if found else ""
        click.echo(f"validate: {count} deck file(s) in {root}: no errors{warnings}")


def _top_folder() -> Path:
    """The repository's top folder (deck files live there), else the current folder."""
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    return Path(done.stdout.strip()) if done.returncode == 0 else Path(".").resolve()


def main() -> None:
    cli()
