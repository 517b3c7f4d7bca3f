"""`ankiops-git`: the command line. A thin layer: parse, call the library, print."""

from __future__ import annotations

import click

from ankiops_git import __version__


@click.group()
@click.version_option(__version__, prog_name="ankiops-git")
def cli() -> None:
    """Anki decks as Markdown files under git, with Anki as a git remote."""


def main() -> None:
    cli()
