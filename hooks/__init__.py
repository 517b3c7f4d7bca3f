"""Git hooks: pre-commit (validate), post-commit and post-merge (push to Anki)."""
