"""The published AnkiOps against real Anki: folders and collections made by the tool our
users move over from, for the adoption tests. Two releases: PEER_VERSION (0.6.6, the
`note_key` format with .ankiops.db) and OLD_VERSION (0.4.1, the last of the older
`note_id` format: `<!-- note_id: N -->` and `<!-- deck_id: N -->` comments).

Each runs from its own venv (.venv-ankiops and .venv-ankiops-0.4 in the repository, or
ANKIOPS_PEER_VENV / ANKIOPS_OLD_PEER_VENV; made once with `pip install ankiops==V`
from the package index): their dependencies (openai, pydantic, mistune,
html-to-markdown, ...) are none of ours, and a separate interpreter keeps them out
of our pins.

Two things are changed when 0.6.6 runs, both in how it reaches Anki, none in what it
writes (WRAPPER below):
- it posts through one pooled `requests.Session`; the real AnkiConnect add-on closes
  the socket after every reply without `Connection: close`, so the pooled connection's
  next request is reset ("Error communicating with Anki" after a few calls: seen with
  `ankiops --debug fa`). Here every request gets a new connection, as a fresh
  `requests.post` does.
- it first tries its own add-on (AnkiOpsConnect, port 8766) and then AnkiConnect at
  the fixed http://localhost:8765; here it goes straight to the test's AnkiConnect.

0.4.1 posts a fresh `requests.post` each time (nothing to change there) to its fixed
http://localhost:8765; OLD_WRAPPER points it at the test's AnkiConnect. Its `init`
links `media` to Anki's media folder (a symlink, committed by its git snapshots).

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
OLD_VERSION = "0.4.1"
# The releases of the note_id format tested: 0.3.1 has three note types (QA, Cloze,
# Choice), 0.4.1 five; both render Markdown with the same code.
OLD_VERSIONS = ("0.3.1", OLD_VERSION)
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

OLD_WRAPPER = """\
import sys

import ankiops.anki_client

ankiops.anki_client.ANKI_CONNECT_URL = sys.argv[1]
sys.argv = ["ankiops", *sys.argv[2:]]
from ankiops.cli import main

main()
"""

# version -> (venv folder in the repository, environment variable overriding it, wrapper)
VENVS = {
    PEER_VERSION: (".venv-ankiops", "ANKIOPS_PEER_VENV", WRAPPER),
    OLD_VERSION: (".venv-ankiops-0.4", "ANKIOPS_OLD_PEER_VENV", OLD_WRAPPER),
    "0.3.1": (".venv-ankiops-0.3", "ANKIOPS_OLD3_PEER_VENV", OLD_WRAPPER),
}
# What a release needs besides itself: 0.3.1 and 0.4.1 ask for html-to-markdown>=2.24.5
# and import its 2.x API (convert_with_visitor, gone in 3.0).
PINS = {version: ["html-to-markdown<3"] for version in OLD_VERSIONS}


def peer_venv(version: str = PEER_VERSION) -> Path:
    folder, variable, _ = VENVS[version]
    return Path(os.environ.get(variable) or ROOT / folder)


# The version installed, once its command line imports (its dependencies fit).
_PROBE = "import importlib.metadata as m, ankiops.cli; print(m.version('ankiops'))"


def _installed(venv: Path, version: str) -> bool:
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", _PROBE],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() == version


def ensure_venv(version: str = PEER_VERSION) -> Path:
    """The venv with ankiops==version, made on first use (a lock for parallel
    workers); raises RuntimeError saying why when it cannot be made."""
    venv = peer_venv(version)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(venv, version):
            return venv
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            + [f"ankiops=={version}", *PINS.get(version, [])],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(
                    f"cannot install AnkiOps {version} into {venv}: "
                    f"{(done.stderr or done.stdout).strip()[-500:]}"
                )
    return venv


class AnkiOpsFailed(AssertionError):
    pass


@dataclass
class Peer:
    """A published AnkiOps (PEER_VERSION unless said), talking to one real Anki."""

    venv: Path
    url: str  # the real AnkiConnect's
    version: str = PEER_VERSION

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
            [str(self.venv / "bin" / "python"), "-c", VENVS[self.version][2], self.url, *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
            stdin=subprocess.DEVNULL,  # it asks before deleting notes: the answer is no
        )
        out = done.stdout + done.stderr
        # AnkiOps logs a failed note and carries on with exit status 0.
        if check and (done.returncode != 0 or "ERROR" in out):
            raise AnkiOpsFailed(f"ankiops {' '.join(args)} failed ({done.returncode}):\n{out}")
        return out

    @property
    def old(self) -> bool:
        return self.version in OLD_VERSIONS

    @property
    def to_anki(self) -> str:
        """Its command that sends the deck files to Anki."""
        return "ma" if self.old else "fa"

    def tutorial(self, folder: Path) -> None:
        """`ankiops init --tutorial` then its files-to-Anki command: its tutorial deck,
        synced. 0.6.6's wheel lacks the tutorial's picture; a stand-in PNG takes its
        place (0.4.1's tutorial shows none)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.run(folder, "init", "--tutorial", check=False)
        if not self.old:
            (folder / "media").mkdir(exist_ok=True)
            (folder / "media" / "sync_arrows.png").write_bytes(PNG)
        self.run(folder, self.to_anki)

    def generated(self, folder: Path, notes: int, seed: int = 14, plain: bool = False) -> None:
        """`ankiops init`, deck files of `notes` notes of its note types (every Markdown
        feature it renders), then its files-to-Anki command: all of them in Anki with
        their keys (0.6.6) or ids (0.4.1). 0.4.1's media/ is Anki's media folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.run(folder, "init", check=False)
        (folder / "media").mkdir(exist_ok=True)
        (folder / "media" / "pic.png").write_bytes(PNG)
        for name in () if self.old else IO_MEDIA:
            (folder / "media" / name).write_bytes(PNG)
        if self.old:
            (folder / "media" / "AnkiOpsMedia").mkdir(exist_ok=True)
            (folder / "media" / "AnkiOpsMedia" / "pasted.png").write_bytes(PNG)
            kinds = KINDS if self.version == OLD_VERSION else ("QA", "Cloze", "Choice")
            decks = old_generated_decks(notes, seed, kinds, self.version == OLD_VERSION)
            per_run = notes  # all at once: 0.3/0.4 kept up at soak size
        else:
            decks = generated_decks(notes, seed, plain)
            # 0.6.6 gives each AnkiConnect request 10 s: at soak size (1,667 new notes a
            # file) real Anki on a slow machine took longer, and no note was created.
            per_run = PEER_ROUND
        # The notes go in rounds of `per_run` a file, appended as a user adds them.
        parts = {name: text.rstrip("\n").split("\n\n---\n\n") for name, text in decks.items()}
        for start in range(0, max(map(len, parts.values())), per_run):
            for name, texts in parts.items():
                path, chunk = folder / name, texts[start : start + per_run]
                if not chunk:
                    continue
                before = path.read_text(encoding="utf-8") if path.exists() else ""
                joined = "\n\n---\n\n".join(chunk)
                text = (
                    f"{before.rstrip()}\n\n---\n\n{joined}\n" if before.strip() else joined + "\n"
                )
                path.write_text(text, encoding="utf-8")
            self.run(folder, self.to_anki)


def _venv_or_skip(version: str) -> Path:
    why = realanki.unavailable()
    if why is None:
        try:
            return ensure_venv(version)
        except RuntimeError as error:
            why = f"AnkiOps peer tests skipped: {error}"
    if realanki.required():
        pytest.fail(f"{why}; {realanki.REQUIRE_ENV} is set, so this is a failure")
    pytest.skip(why)


@pytest.fixture(scope="session")
def _peer_venv() -> Path:
    return _venv_or_skip(PEER_VERSION)


@pytest.fixture
def ankiops_peer(_peer_venv: Path, real_anki: realanki.RealAnki) -> Peer:
    """AnkiOps PEER_VERSION on the test's real Anki (collection reset)."""
    return Peer(_peer_venv, real_anki.url)


@pytest.fixture(params=OLD_VERSIONS)
def old_ankiops_peer(request: pytest.FixtureRequest) -> Peer:
    """Each release of the note_id format (OLD_VERSIONS) on the test's real Anki
    (collection reset)."""
    venv = _venv_or_skip(request.param)
    real_anki: realanki.RealAnki = request.getfixturevalue("real_anki")
    return Peer(venv, real_anki.url, request.param)


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
        count = rng.randint(2, 8)  # C8: is AnkiOps' Choice 8
        lines += [f"Q: Choice {n}: {t(False)}"]
        lines += [f"C{i}: {t(False)}" for i in range(1, count + 1)]
        lines += [f"A: {rng.randint(1, count)}"]
    elif kind == "ClozeHideAll":
        word = rng.choice(_WORDS)
        lines += [
            f"THA: Hide-all {n}: {{{{c1::{word}}}}}, {{{{c2::{rng.choice(_WORDS)}}}}} {t(False)}"
        ]
    elif kind == "ImageOcclusion":
        # AnkiOps' image occlusion: the picture and its masks (pictures too), and text
        lines += [f"IO_ID: io-{n}", f"IO_H: Header {n} {t(False)}", "IO_IM: ![](pic.png)"]
        lines += ["IO_QM: ![](io_question.png)"]
        if rng.random() < 0.3:
            lines.append(f"IO_F: Footer {t(False)}")
        if rng.random() < 0.2:
            lines.append(f"IO_R: {t()}")
        lines += ["IO_AM: ![](io_answer.png)", "IO_OM: ![](io_original.png)"]
        return "\n".join(lines)
    if kind == "Reversed" and rng.random() < 0.3:
        lines.append(f"D: {t(False)}")  # AnkiOps 0.6's Divider
    if rng.random() < 0.3:
        lines.append(f"E: {t()}")
    if rng.random() < 0.1:
        lines.append(f"M: {t()}")
    if rng.random() < 0.2:
        lines.append(f"AI: {t()}")  # AnkiOps' AI Notes, on every type but occlusion
    return "\n".join(lines)


KINDS = ("QA", "Reversed", "Cloze", "Input", "Choice")
# AnkiOps 0.6.6's note types: the five, its hide-all cloze and its image occlusion
PEER_KINDS = (*KINDS, "ClozeHideAll", "ImageOcclusion")
# the media AnkiOps' image occlusion notes show besides pic.png
IO_MEDIA = ("io_question.png", "io_answer.png", "io_original.png")


PEER_ROUND = 400  # notes a deck file gets in one run of AnkiOps (see Peer.generated)


def generated_decks(notes: int, seed: int = 14, plain: bool = False) -> dict[str, str]:
    """File name -> AnkiOps deck file text (no keys yet): `notes` notes of PEER_KINDS
    (all its types, with AI:, D:, C8: and the occlusion fields) over a deck, a subdeck
    and a sub-subdeck. `plain`: only the Markdown both tools render alike (no ==mark==,
    ~sub~, ^sup^, arrows, and one paragraph a field)."""
    rng = random.Random(seed)
    names = ("Generated.md", "Generated__Part.md", "Generated__Part__Deep.md")
    decks: dict[str, list[str]] = {name: [] for name in names}
    for n in range(notes):
        kind = PEER_KINDS[n % len(PEER_KINDS)]
        decks[names[n % len(names)]].append(_note(rng, kind, n, plain))
    return {name: "\n\n---\n\n".join(texts) + "\n" for name, texts in decks.items()}


# --- the older note_id format (OLD_VERSION) -------------------------------------------

# Inline Markdown AnkiOps 0.4.1 renders: as 0.6.6 but `=/=` stays as written,
# `$x$` / `$$x$$` are math (\(x\) / \[x\] in Anki), a `\[x\]` with no math in it is
# `[x]`; colours as HTML.
_OLD_INLINE = (
    *_INLINE,
    "${w}^2$ is math",
    '<span style="color: red">{w}</span> in red',
    "cited \\[{w}\\]",  # escaped brackets, no math: [w] in Anki
)
# and an image pasted by its VS Code set-up (into media/AnkiOpsMedia/, in Anki's media
# folder: 0.3/0.4's media/ is a link to it)
_OLD_BLOCKS = (*_BLOCKS, "$$\\int {w}$$", "![{w}](media/AnkiOpsMedia/pasted.png)")


def _old_text(rng: random.Random, blocks: bool) -> str:
    word = rng.choice(_WORDS)
    text = f"{rng.choice(_OLD_INLINE).format(w=word)} {rng.choice(_WORDS)}"
    if blocks and rng.random() < 0.3:
        text += "\n\n" + rng.choice(_OLD_BLOCKS).format(w=word).replace(
            "](pic.png)", "](media/pic.png)"
        )
    return text


def _old_note(rng: random.Random, kind: str, n: int, extra: bool = False) -> str:
    t = lambda blocks=True: _old_text(rng, blocks)  # noqa: E731
    if kind == "QA":
        lines = [f"Q: Question {n}: {t(False)}", f"A: {t()}"]
    elif kind == "Reversed":
        lines = [f"F: Front {n} {t(False)}", f"B: {t(False)}"]
    elif kind == "Cloze":
        lines = [f"T: Cloze {n}: {{{{c1::{rng.choice(_WORDS)}}}}} and {t(False)}"]
    elif kind == "Input":
        lines = [f"Q: Input {n}: {t(False)}", f"I: {rng.choice(_WORDS)}"]
    else:
        count = rng.randint(2, 8 if extra else 7)  # 0.4.1's Choice has a C8:
        right = sorted(rng.sample(range(1, count + 1), rng.randint(1, 2)))
        lines = [f"Q: Choice {n}: {t(False)}"]
        lines += [f"C{i}: {t(False)}" for i in range(1, count + 1)]
        lines += [f"A: {','.join(map(str, right))}"]
    if rng.random() < 0.3:
        lines.append(f"E: {t()}")
    if rng.random() < 0.1:
        lines.append(f"M: {t()}")
    if extra and rng.random() < 0.15:
        lines.append(f"S: {t(False)}")  # 0.4's Source
    if extra and rng.random() < 0.15:
        lines.append(f"AI: {t()}")  # 0.4's AI Notes
    return "\n".join(lines)


def old_generated_decks(
    notes: int, seed: int = 14, kinds: tuple[str, ...] = KINDS, extra: bool = False
) -> dict[str, str]:
    """As generated_decks, in AnkiOps 0.3/0.4's Markdown, of its note types `kinds`: no
    tag lines (it syncs no tags), images as media/pic.png (its media/ is Anki's media
    folder), `$` math. `extra`: 0.4's fields beyond ours too (S:, AI:, C8:)."""
    rng = random.Random(seed)
    names = ("Generated.md", "Generated__Part.md", "Generated__Part__Deep.md")
    decks: dict[str, list[str]] = {name: [] for name in names}
    for n in range(notes):
        note = _old_note(rng, kinds[n % len(kinds)], n, extra)
        decks[names[n % len(names)]].append(note)
    return {name: "\n\n---\n\n".join(texts) + "\n" for name, texts in decks.items()}
