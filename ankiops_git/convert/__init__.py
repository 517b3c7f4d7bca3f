"""Field conversion between Markdown (in deck files) and HTML (in Anki)."""
