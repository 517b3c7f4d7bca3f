"""The official sync server from the `anki` package (`python -m anki.syncserver`), on
loopback, for tests of syncing with AnkiWeb's protocol.

`SyncServer(base, users).start()` runs it on a free port with one account per entry of
`users` (name -> password: SYNC_USER1, SYNC_USER2, ...), waits until it answers, and
`.stop()` ends it (by its process, never by name). `.endpoint` is its address as a
client gives it. Each test takes an account of its own (`SyncServer.account()`), so one
server serves a whole module.
"""

from __future__ import annotations

import os
import pickle
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from anki.collection import Collection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SyncServer:
    def __init__(self, base: Path, accounts: int = 12, port: int | None = None) -> None:
        self.base = base
        self.users = {f"user{i}": f"pass{i}" for i in range(1, accounts + 1)}
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._next = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def account(self) -> tuple[str, str]:
        """An account no other test of this server has used: (user name, password)."""
        self._next += 1
        name = f"user{self._next}"
        return name, self.users[name]

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
        env.update(
            SYNC_BASE=str(self.base),
            SYNC_HOST="127.0.0.1",
            SYNC_PORT=str(self.port),
            RUST_LOG="warn",
        )
        for i, (name, password) in enumerate(self.users.items(), 1):
            env[f"SYNC_USER{i}"] = f"{name}:{password}"
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.log = (self.base.parent / f"syncserver-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "anki.syncserver"], env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sync server exited: see {self.log.name}")
            try:
                urllib.request.urlopen(f"{self.endpoint}health", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the sync server did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.log.close()


def make_profile(base: Path, name: str) -> Path:
    """An Anki data folder with profile `name` as Anki desktop makes it (prefs21.db,
    its settings pickled as aqt/profiles.py does); its collection.anki2 path (a new
    collection unless there is one)."""
    base.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(base / "prefs21.db")
    db.execute(
        "create table if not exists profiles "
        "(name text primary key collate nocase, data blob not null)"
    )
    meta = {"ver": 0, "updates": True, "created": 0, "id": 1, "lastMsg": 0}
    profile = {"mainWindowGeom": None, "numBackups": 50, "syncKey": None, "syncMedia": True}
    db.execute("insert into profiles values ('_global', ?)", (pickle.dumps(meta, protocol=4),))
    db.execute("insert into profiles values (?, ?)", (name, pickle.dumps(profile, protocol=4)))
    db.commit()
    db.close()
    path = base / name / "collection.anki2"
    if not path.exists():
        path.parent.mkdir()
        Collection(str(path)).close()
    return path
