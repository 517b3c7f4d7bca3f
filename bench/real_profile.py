"""Where the time of a sync against real Anki goes: our client, the add-on, start-up.

Loads the N-note benchmark collection into real Anki (as `--backends real` does),
puts a logging relay between git and AnkiConnect, and runs the small cases a few
times each (`git pull anki` with nothing new, with one note edited in Anki, and
`git commit` of a one-note edit), and with `--cases=...,first_push` the first push
of the N notes into the emptied Anki (once, it is long). For each run it splits the
wall time into:

- before the first request: git, Python start-up and imports, reading the
  repository and the sync state (for a commit: git and the pre-commit hook too);
- in requests: from each request sent to its reply, the add-on's time (its poll
  interval included) plus the relay's copy (well under a millisecond);
- between requests: our client working in Python;
- after the last reply: writing the result (objects, refs, files) and exiting.

and lists the requests (action, nested actions of a `multi`, seconds). Also the
Python start-up with the imports the remote helper and the hook make, on their own.

    python -m bench real_profile [--notes=N] [--runs=N] [--cases=noop_pull,pull_1,...]
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bench import corpus, sync_cases


@dataclass
class Request:
    action: str
    started: float
    seconds: float


@dataclass
class Relay:
    """HTTP relay on 127.0.0.1 to AnkiConnect at `target`, logging each request."""

    target: str
    log: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        relay = self
        parts = urlsplit(self.target)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                started = time.perf_counter()
                upstream = http.client.HTTPConnection(
                    parts.hostname or "127.0.0.1", parts.port, timeout=900
                )
                upstream.request("POST", "/", body=body, headers=dict(self.headers))
                answer = upstream.getresponse()
                reply = answer.read()
                upstream.close()
                seconds = time.perf_counter() - started
                relay.log.append(Request(describe(body), started, seconds))
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def describe(body: bytes) -> str:
    request = json.loads(body)
    action = str(request.get("action"))
    params = request.get("params") or {}
    if action == "multi":
        inner = Counter(str(a.get("action")) for a in params.get("actions", []))
        return "multi[" + ", ".join(f"{n} {a}" for a, n in sorted(inner.items())) + "]"
    if "notes" in params and isinstance(params["notes"], list):
        return f"{action}({len(params['notes'])} notes)"
    return action


@dataclass
class Split:
    wall: float
    before: float
    requests: float
    between: float
    after: float
    actions: list[tuple[str, float]]


def split(started: float, done: sync_cases.Done, log: list[Request]) -> Split:
    ended = started + done.seconds
    if not log:
        return Split(done.seconds, done.seconds, 0.0, 0.0, 0.0, [])
    first = log[0].started
    last = max(r.started + r.seconds for r in log)
    in_requests = sum(r.seconds for r in log)
    return Split(
        done.seconds,
        first - started,
        in_requests,
        (last - first) - in_requests,
        ended - last,
        [(r.action, r.seconds) for r in log],
    )


def start_up(ws: sync_cases.Workspace) -> dict[str, float]:
    """Python start-up with the imports of the remote helper and of the hooks."""
    probes = {
        "python -c pass": "pass",
        "import ankiops_git.remote (git-remote-anki)": "import ankiops_git.remote",
        "import hooks + sync (post-commit)": "import hooks.__main__, ankiops_git.sync, "
        "ankiops_git.remote, ankiops_git.anki.connect",
        "import validate (pre-commit)": "import ankiops_git.validate, ankiops_git.deckfile",
    }
    out = {}
    for name, code in probes.items():
        times = [
            sync_cases.run([sys.executable, "-c", code], ws.root, ws.env).seconds for _ in range(5)
        ]
        out[name] = statistics.median(times)
    return out


def grouped(actions: list[tuple[str, float]]) -> list[tuple[str, int, float]]:
    """(action with its counts as N, how many, seconds in all), most time first."""
    groups: dict[str, list[float]] = {}
    for action, seconds in actions:
        groups.setdefault(re.sub(r"[0-9]+", "N", action), []).append(seconds)
    return sorted(((a, len(t), sum(t)) for a, t in groups.items()), key=lambda g: -g[2])


def report(case: str, splits: list[Split]) -> None:
    med = {
        k: statistics.median(getattr(s, k) for s in splits)
        for k in ("wall", "before", "requests", "between", "after")
    }
    print(
        f"\n{case} (median of {len(splits)}): wall {med['wall']:.3f}, before the first "
        f"request {med['before']:.3f}, in {len(splits[-1].actions)} requests "
        f"{med['requests']:.3f}, client between requests {med['between']:.3f}, after the "
        f"last reply {med['after']:.3f}"
    )
    actions = splits[-1].actions
    if len(actions) <= 30:
        for action, seconds in actions:
            print(f"    {seconds:.3f}  {action}")
    else:
        for action, count, seconds in grouped(actions):
            print(f"    {seconds:8.3f}  {count:4} x {action}")


def first_push_run(ws: sync_cases.Workspace, relay: Relay, url: str, notes: int) -> Split:
    """The first push of the N notes into the emptied Anki, through the relay."""
    files = sync_cases.new_deck_files(notes, ws.repo)
    ws.anki.reset()
    repo = ws.root / "push-profile"
    init = [str(sync_cases.BIN / "ankiops-git"), "init", str(repo), "--anki", url]
    sync_cases.must(sync_cases.run(init, ws.root, ws.env), "ankiops-git init")
    for path in files.glob("*.md"):
        shutil.copyfile(path, repo / path.name)
    sync_cases.git(repo, ws.env, "add", "-A")
    relay.log.clear()
    started = time.perf_counter()
    done = sync_cases.run(["git", "commit", "-q", "-m", "new notes"], repo, ws.env)
    assert done.returncode == 0 and f"{notes} added" in done.stderr, done.stderr[-500:]
    return split(started, done, list(relay.log))


def main(argv: list[str]) -> None:
    notes, runs = 10_000, 5
    wanted = ["noop_pull", "pull_1", "commit_one"]
    for arg in argv:
        if arg.startswith("--notes="):
            notes = int(arg.split("=", 1)[1])
        elif arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
        elif arg.startswith("--cases="):
            wanted = arg.split("=", 1)[1].split(",")
    col = corpus.build_collection(notes, print)
    repo, _ = sync_cases.initialised_repo(notes, col, print)
    with sync_cases.workspace(notes, "real", col, repo) as ws:
        relay = Relay(ws.spec)
        url = relay.start()
        sync_cases.git(ws.repo, ws.env, "config", "remote.anki.url", "anki::" + url)
        from bench import real_anki

        managed = real_anki.managed_note_ids(ws.anki.col)
        cases = {
            "noop_pull": lambda i: None,
            "pull_1": lambda i: ws.edit_in_anki([managed[i * 97]], f"profile {i}"),
            "commit_one": lambda i: sync_cases.edit_one_note(ws.repo, 1000 + i),
        }
        commands = {
            "noop_pull": ["git", "pull", "anki"],
            "pull_1": ["git", "pull", "anki"],
            "commit_one": ["git", "commit", "-q", "-am", "profile edit"],
        }
        print(f"{notes} notes, real Anki (seconds)")
        for case, prepare in cases.items():
            if case not in wanted:
                continue
            splits = []
            for i in range(runs):
                prepare(i)
                relay.log.clear()
                started = time.perf_counter()
                done = sync_cases.run(commands[case], ws.repo, ws.env)
                assert done.returncode == 0, done.stderr
                splits.append(split(started, done, list(relay.log)))
            report(case, splits)
        if "first_push" in wanted:
            report("first_push", [first_push_run(ws, relay, url, notes)])
        relay.stop()
        print("\nstart-up, median of 5:")
        for name, seconds in start_up(ws).items():
            print(f"    {seconds:.3f}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
