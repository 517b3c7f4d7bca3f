"""Benchmarks. `make bench` (= `python -m bench`) runs the sync cases over generated
collections of 1,000, 10,000 and 100,000 notes through both backends and writes the
table into docs/performance.md; `python -m bench read_notes` and `python -m bench
merge_deck` are the component benchmarks. See `python -m bench --help`."""
