"""The published AnkiOps (PEER_VERSION) against real Anki: folders and collections made
by the tool our users move over from, for the adoption tests.

AnkiOps runs from its own venv (PEER_VENV, default .venv-ankiops in the repository,
made once with `pip install ankiops==PEER_VERSION` from the package index): its
dependencies (openai, pydantic, mistune, html-to-markdown, ...) are none of ours, and
a separate interpreter keeps them out of our pins.

Two things are changed when it runs, both in how it reaches Anki, none in what it
writes (WRAPPER below):
- it posts through one pooled `requests.Session`; the real AnkiConnect add-on closes
  the socket after every reply without `Connection: close`, so the pooled connection's
  next request is reset ("Error communicating with Anki" after a few calls: seen with
  `ankiops --debug fa`). Here every request gets a new connection, as a fresh
  `requests.post` does.
- it first tries its own add-on (AnkiOpsConnect, port 8766) and then AnkiConnect at
  the fixed http://localhost:8765; here it goes straight to the test's AnkiConnect.

Where the real-Anki tier cannot run, the tests using this skip with its message
(fail with ANKIOPS_REQUIRE_REAL_ANKI=1); a venv that cannot be installed is the same.
"""

from __future__ import annotations

import fcntl
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import realanki

PEER_VERSION = "0.6.6"
ROOT = Path(__file__).resolve().parent.parent

WRAPPER = """\
import sys

import requests

import ankiops.anki_rpc as rpc

rpc.ANKI_CONNECT_URL = sys.argv[1]


class _NewConnectionEachTime:
    post = staticmethod(requests.post)


def _no_ankiops_connect(action, params, url):
    raise rpc._AnkiOpsConnectUnavailable("the tests use AnkiConnect only")


rpc._session = _NewConnectionEachTime
rpc._invoke_ankiops_connect = _no_ankiops_connect
sys.argv = ["ankiops", *sys.argv[2:]]
from ankiops.cli import main

main()
"""


def peer_venv() -> Path:
    return Path(os.environ.get("ANKIOPS_PEER_VENV") or ROOT / ".venv-ankiops")


def _installed(venv: Path) -> bool:
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('ankiops'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() == PEER_VERSION


def ensure_venv() -> Path:
    """The venv with ankiops==PEER_VERSION, made on first use (a lock for parallel
    workers); raises RuntimeError saying why when it cannot be made."""
    venv = peer_venv()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(venv):
            return venv
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            + [f"ankiops=={PEER_VERSION}"],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(
                    f"cannot install AnkiOps {PEER_VERSION} into {venv}: "
                    f"{(done.stderr or done.stdout).strip()[-500:]}"
                )
    return venv


class AnkiOpsFailed(AssertionError):
    pass


@dataclass
class Peer:
    """AnkiOps PEER_VERSION, talking to one real Anki."""

    venv: Path
    url: str  # the real AnkiConnect's

    def run(self, folder: Path, *args: str, check: bool = True) -> str:
        env = dict(os.environ)
        env.pop("ANKIOPS_CONNECT_URL", None)
        env.update(
            GIT_AUTHOR_NAME="AnkiOps user",
            GIT_AUTHOR_EMAIL="user@example.com",
            GIT_COMMITTER_NAME="AnkiOps user",
            GIT_COMMITTER_EMAIL="user@example.com",
            COLUMNS="200",
        )
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", WRAPPER, self.url, *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        out = done.stdout + done.stderr
        # AnkiOps logs a failed note and carries on with exit status 0.
        if check and (done.returncode != 0 or "ERROR" in out):
            raise AnkiOpsFailed(f"ankiops {' '.join(args)} failed ({done.returncode}):\n{out}")
        return out

    def tutorial(self, folder: Path) -> None:
        """`ankiops init --tutorial` then `ankiops fa`: its tutorial deck, synced. The
        wheel lacks the tutorial's picture; a stand-in PNG takes its place."""
        folder.mkdir(parents=True, exist_ok=True)
        self.run(folder, "init", "--tutorial", check=False)
        (folder / "media").mkdir(exist_ok=True)
        (folder / "media" / "sync_arrows.png").write_bytes(PNG)
        self.run(folder, "fa")

    def generated(self, folder: Path, notes: int, seed: int = 14, plain: bool = False) -> None:
        """`ankiops init`, deck files of `notes` notes of its note types (every Markdown
        feature it renders), then `ankiops fa`: all of them in Anki with their keys."""
        folder.mkdir(parents=True, exist_ok=True)
        self.run(folder, "init", check=False)
        (folder / "media").mkdir(exist_ok=True)
        (folder / "media" / "pic.png").write_bytes(PNG)
        for name, text in generated_decks(notes, seed, plain).items():
            (folder / name).write_text(text, encoding="utf-8")
        self.run(folder, "fa")


@pytest.fixture(scope="session")
def _peer_venv() -> Path:
    why = realanki.unavailable()
    if why is None:
        try:
            return ensure_venv()
        except RuntimeError as error:
            why = f"AnkiOps peer tests skipped: {error}"
    if realanki.required():
        pytest.fail(f"{why}; {realanki.REQUIRE_ENV} is set, so this is a failure")
    pytest.skip(why)


@pytest.fixture
def ankiops_peer(_peer_venv: Path, real_anki: realanki.RealAnki) -> Peer:
    """AnkiOps PEER_VERSION on the test's real Anki (collection reset)."""
    return Peer(_peer_venv, real_anki.url)


# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a4d0a2e20000000049454e44ae426082"
)

# --- a generated corpus in AnkiOps' own format ------------------------------------------

_WORDS = (
    "alpha", "beta", "gamma", "delta", "ion", "cell", "atom", "force", "field", "wave",
    "bond", "acid", "base", "enzyme", "vector", "matrix", "proof", "lemma", "graph", "node",
)  # fmt: skip

# Inline Markdown AnkiOps 0.6.6 renders (its mistune plugins and arrow replacements).
_INLINE = (
    "**{w}**",
    "*{w}*",
    "==important {w}==",
    "H~2~O and {w}",
    "x^2^ + {w}",
    "~~{w}~~",
    "`{w}()`",
    "{w} --> {w}",
    "{w} ==> result",
    "a =/= {w}",
    "\\({w}^2\\)",
    "[{w}](https://example.com/{w})",
)

_BLOCKS = (
    "- {w}\n- {w} two\n  - nested",
    "1. first {w}\n2. second",
    "> quoted {w}",
    "| A | B |\n| --- | --- |\n| {w} | 1 |",
    "```python\ndef {w}():\n    return 1\n```",
    "\\[\\sum_{{k=1}}^n {w}\\]",
    "![](pic.png){{width=150}}",
    "![{w}](pic.png)",
)


# What ankiops-git renders as AnkiOps does today: one paragraph, CommonMark inlines.
_PLAIN_INLINE = _INLINE[:2] + _INLINE[5:7] + _INLINE[10:]


def _text(rng: random.Random, blocks: bool, plain: bool = False) -> str:
    word = rng.choice(_WORDS)
    parts = [rng.choice(_PLAIN_INLINE if plain else _INLINE).format(w=word), rng.choice(_WORDS)]
    text = " ".join(parts)
    if blocks and not plain and rng.random() < 0.3:
        text += "\n\n" + rng.choice(_BLOCKS).format(w=word)
    return text


def _note(rng: random.Random, kind: str, n: int, plain: bool) -> str:
    t = lambda blocks=True: _text(rng, blocks, plain)  # noqa: E731
    lines: list[str] = []
    if rng.random() < 0.3:
        lines.append(f"<!-- tags: gen::{kind.lower()} t{n % 5} -->")
    if kind == "QA":
        lines += [f"Q: Question {n}: {t(False)}", f"A: {t()}"]
    elif kind == "Reversed":
        lines += [f"F: Front {n} {t(False)}", f"B: {t(False)}"]
    elif kind == "Cloze":
        lines += [f"T: Cloze {n}: {{{{c1::{rng.choice(_WORDS)}}}}} and {t(False)}"]
    elif kind == "Input":
        lines += [f"Q: Input {n}: {t(False)}", f"I: {rng.choice(_WORDS)}"]
    elif kind == "Choice":
        count = rng.randint(2, 7)
        lines += [f"Q: Choice {n}: {t(False)}"]
        lines += [f"C{i}: {t(False)}" for i in range(1, count + 1)]
        lines += [f"A: {rng.randint(1, count)}"]
    if rng.random() < 0.3:
        lines.append(f"E: {t()}")
    if rng.random() < 0.1:
        lines.append(f"M: {t()}")
    return "\n".join(lines)


KINDS = ("QA", "Reversed", "Cloze", "Input", "Choice")


def generated_decks(notes: int, seed: int = 14, plain: bool = False) -> dict[str, str]:
    """File name -> AnkiOps deck file text (no keys yet): `notes` notes of KINDS over a
    deck, a subdeck and a sub-subdeck. `plain`: only the Markdown both tools render
    alike (no ==mark==, ~sub~, ^sup^, arrows, and one paragraph a field)."""
    rng = random.Random(seed)
    names = ("Generated.md", "Generated__Part.md", "Generated__Part__Deep.md")
    decks: dict[str, list[str]] = {name: [] for name in names}
    for n in range(notes):
        decks[names[n % len(names)]].append(_note(rng, KINDS[n % len(KINDS)], n, plain))
    return {name: "\n\n---\n\n".join(texts) + "\n" for name, texts in decks.items()}
