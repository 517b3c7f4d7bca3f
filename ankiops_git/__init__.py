"""ankiops-git: Anki decks as Markdown files under git, with Anki as a git remote."""

__version__ = "0.1.0"
