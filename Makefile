# Everything installs from nothing into .venv; `make test` is what CI runs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The real-Anki test tier: Anki desktop + the real AnkiConnect add-on (tests/realanki.py).
REAL_ANKI_DIR ?= $(abspath ../shared/real-anki)
ANKI_VENV ?= $(CURDIR)/.venv-anki
export REAL_ANKI_DIR ANKI_VENV

.PHONY: test lint real-anki browser demo bench clean soak

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check ankiops_git merge_driver hooks tests bench
	$(VENV)/bin/ruff format --check ankiops_git merge_driver hooks tests bench
	$(VENV)/bin/mypy

# Installs Anki desktop for the real-Anki tier where its kit is; otherwise says why the
# tier will skip (with ANKIOPS_REQUIRE_REAL_ANKI=1, as in CI, that is an error).
real-anki:
	@if [ -f "$(REAL_ANKI_DIR)/real-anki.sh" ]; then \
	  out=$$(bash "$(REAL_ANKI_DIR)/real-anki.sh" setup 2>&1); rc=$$?; \
	  printf '%s\n' "$$out" | grep -v "^WARNING: Location"; \
	  [ $$rc -eq 0 ] || { echo "real Anki could not be installed: its tests will skip"; \
	                      [ -z "$$ANKIOPS_REQUIRE_REAL_ANKI" ] || exit 1; }; \
	else \
	  echo "real Anki tier unavailable: no $(REAL_ANKI_DIR)/real-anki.sh (set REAL_ANKI_DIR); its tests will skip"; \
	  [ -z "$$ANKIOPS_REQUIRE_REAL_ANKI" ] || exit 1; \
	fi

# Headless Chromium for the conversion's browser oracle (tests/browser.py): Debian's
# package, installed where it can be (as root, with apt-get); otherwise says why the
# oracle's tests will skip (with ANKIOPS_REQUIRE_BROWSER=1, as in CI, that is an error).
browser:
	@if [ -n "$$ANKIOPS_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser oracle"; \
	  { apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } || \
	  { echo "chromium could not be installed: the browser oracle's tests will skip"; \
	    [ -z "$$ANKIOPS_REQUIRE_BROWSER" ] || exit 1; }; \
	else \
	  echo "browser oracle unavailable: no chromium, and not root with apt-get to install it (or set ANKIOPS_CHROMIUM); its tests will skip"; \
	  [ -z "$$ANKIOPS_REQUIRE_BROWSER" ] || exit 1; \
	fi

# Three workers on two cores: the tests spend much of their time waiting for Anki, git
# and Chromium, and two workers left the cores idle (pytest 9 min 55 s with -n 2,
# 7 min 38 s with -n 3 --dist worksteal, on one 2-core machine on 2026-12-07).
test: lint real-anki browser
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 3 --dist worksteal -q

# The reliability suite at soak size (docs/reliability.md); the counts it ran are
# added up in .pytest_cache/reliability.json. Then the media tests' slow sizes on every
# backend (10 MB files and 20 push/pull cycles on real Anki too), AnkiOps 0.3/0.4
# folders of 2,000 notes and an AnkiOps 0.6.6 one of 5,000 (all its note types) adopted
# by init. Then the browser oracle on every field of the corpora (docs/conversion.md).
soak: $(STAMP) real-anki browser
	mkdir -p .pytest_cache && rm -f .pytest_cache/reliability.json
	ANKIOPS_SOAK=1 ANKIOPS_RELIABILITY_REPORT=$(CURDIR)/.pytest_cache/reliability.json \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 -q tests/test_reliability.py
	ANKIOPS_SOAK=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 -q \
	  tests/test_media_e2e.py -k "size_limit or cycles"
	ANKIOPS_SOAK=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 -q \
	  tests/test_adopt_ankiops_old.py -k generated
	ANKIOPS_SOAK=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -s \
	  tests/test_adopt_ankiops.py -k all_its_types
	cat .pytest_cache/reliability.json
	ANKIOPS_SOAK=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -s \
	  tests/test_convert_browser.py

demo: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m ankiops_git.demo demo

bench: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m bench

clean:
	rm -rf $(VENV) $(ANKI_VENV) demo .pytest_cache .mypy_cache .ruff_cache
