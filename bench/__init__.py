"""Benchmarks: `make bench` or `python -m bench [name ...]`. Results go in docs/performance.md."""
