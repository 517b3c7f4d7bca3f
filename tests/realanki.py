"""Real Anki desktop with the real AnkiConnect add-on, for the `real` backend tier.

The tier runs where `real-anki.sh` (from the project's shared test kit, or wherever
REAL_ANKI_DIR points) and its Anki venv (ANKI_VENV, default .venv-anki in the
repository; `make real-anki` makes it) are present. Elsewhere its tests skip, saying
why; with ANKIOPS_REQUIRE_REAL_ANKI=1 (CI) they fail instead.

One Anki per test process, started on first use on free ports and stopped at the end;
every test gets a collection reset to a new profile's state by the probe add-on
(tests/real_anki_probe), which is also how tests look at Anki's own state
(`RemoteCollection`). The code under test only ever talks to the real AnkiConnect.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import os
import shutil
import socket
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "real_anki_probe"
REQUIRE_ENV = "ANKIOPS_REQUIRE_REAL_ANKI"
PROFILE = "User 1"


def kit_dir() -> Path:
    return Path(os.environ.get("REAL_ANKI_DIR") or ROOT.parent / "shared" / "real-anki")


def anki_venv() -> Path:
    return Path(os.environ.get("ANKI_VENV") or ROOT / ".venv-anki")


def unavailable() -> str | None:
    """Why the real-Anki tier cannot run here, or None if it can."""
    script = kit_dir() / "real-anki.sh"
    if not script.is_file():
        return (
            f"real Anki tier skipped: no {script} (set REAL_ANKI_DIR to the folder holding "
            f"real-anki.sh and the AnkiConnect add-on)"
        )
    if not (anki_venv() / "bin" / "anki").exists():
        return (
            f"real Anki tier skipped: no Anki desktop in {anki_venv()} (run `make real-anki`, "
            f"which needs a Python >= 3.12)"
        )
    return None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProbeError(AssertionError):
    pass


def _unplain(value: Any) -> Any:
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    if isinstance(value, dict):
        if "__record__" in value:
            return SimpleNamespace(**{k: _unplain(v) for k, v in value["__record__"].items()})
        if "__bytes__" in value:
            return base64.b64decode(value["__bytes__"])
        return {k: _unplain(v) for k, v in value.items()}
    return value


def _source(fn: Callable[..., Any]) -> str:
    lines = textwrap.dedent(inspect.getsource(inspect.unwrap(fn))).splitlines()
    while lines and lines[0].startswith("@"):
        lines.pop(0)
    return "\n".join(lines) + "\n"


class _Chain:
    def __init__(self, col: RemoteCollection, path: tuple[str, ...]) -> None:
        self._col, self._path = col, path

    def __getattr__(self, name: str) -> _Chain:
        return _Chain(self._col, (*self._path, name))

    def __call__(self, *args: Any) -> Any:
        return self._col._ask({"call": list(self._path), "args": list(args)})


class RemoteCollection:
    """Anki's open collection, seen through the probe: `col.db.all(sql, *args)`,
    `col.decks.name(id)` and other calls with JSON arguments and results, and
    `col.run(fn, *args)` for anything richer (`fn(col, *args)` runs inside Anki; it
    must import what it needs itself)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _ask(self, request: dict[str, Any]) -> Any:
        body = json.dumps(request).encode("utf-8")
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=180) as reply:
            answer = json.loads(reply.read())
        if "error" in answer:
            raise ProbeError(f"in Anki: {answer['error']}")
        return _unplain(answer["result"])

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._ask(
            {"source": _source(fn), "name": fn.__name__, "args": list(args), "kwargs": kwargs}
        )

    def __getattr__(self, name: str) -> _Chain:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Chain(self, (name,))


F = TypeVar("F", bound=Callable[..., Any])


def in_anki(fn: F) -> F:
    """Make `fn(col, ...)` run inside real Anki when `col` is a RemoteCollection.
    `fn` must be self-contained: imports inside, no closures."""

    @functools.wraps(fn)
    def wrapper(col: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(col, RemoteCollection):
            return col.run(fn, *args, **kwargs)
        return fn(col, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@in_anki
def _stock_note_types(col: Any) -> list[str]:
    return sorted(m.name for m in col.models.all_names_and_ids())


@in_anki
def _reset(col: Any, keep_note_types: list[str]) -> None:
    """Back to a new profile's collection: no notes, only Default, stock note types
    and options, no media, no open Browser."""
    import os

    import aqt

    browser = aqt.dialogs._dialogs.get("Browser", [None, None])[1]
    if browser is not None:
        browser.close()
    col.remove_notes(list(col.find_notes("")))
    col.decks.remove([d.id for d in col.decks.all_names_and_ids() if d.id != 1])
    for m in col.models.all_names_and_ids():
        if m.name not in keep_note_types:
            col.models.remove(m.id)
    for conf in col.decks.all_config():
        if conf["id"] != 1:
            col.decks.remove_config(conf["id"])
    default = col.decks.get(1)
    default["desc"] = ""
    col.decks.save(default)
    col.decks.select(1)  # the current deck, which a filtered deck's defaults follow
    import shutil

    folder = col.media.dir()
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)  # a subfolder a test made (AnkiOps 0.3/0.4 paste there)
        else:
            os.remove(path)
    col.tags.clear_unused_tags()


class RealAnki:
    """One Anki desktop (aqt) with the real AnkiConnect add-on and the probe."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.probe_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.col = RemoteCollection(self.probe_port)
        self.stock: list[str] = []

    @property
    def collection_path(self) -> Path:
        return self.base / PROFILE / "collection.anki2"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ANKI_VENV=str(anki_venv()),
            ANKICONNECT_PORT=str(self.port),
            ANKIOPS_PROBE_PORT=str(self.probe_port),
            ANKI_PROFILE=PROFILE,
        )
        env.pop("ANKICONNECT_API_KEY", None)
        return env

    def start(self) -> None:
        addons = self.base / "addons21"
        addons.mkdir(parents=True, exist_ok=True)
        shutil.copytree(PROBE, addons / "ankiops_test_probe", dirs_exist_ok=True)
        t0 = time.monotonic()
        result = subprocess.run(
            ["bash", str(kit_dir() / "real-anki.sh"), "start", str(self.base)],
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"real Anki did not start:\n{result.stdout}\n{result.stderr}")
        self.started_in = time.monotonic() - t0
        self.stock = _stock_note_types(self.col)

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(kit_dir() / "real-anki.sh"), "stop", str(self.base)],
            env=self._env(),
            capture_output=True,
            check=False,
        )

    def reset(self) -> None:
        _reset(self.col, self.stock)

    def load_collection(self, source: Path) -> None:
        """Run Anki on a copy of the collection file `source`: stop it if it runs, put
        the copy in the profile folder as its collection, start it. Anki opens whatever
        collection the profile folder holds (as with a profile folder copied in by
        hand), so this works before a first start too; `start` then writes the prefs."""
        self.stop()
        target = self.collection_path
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        self.start()
