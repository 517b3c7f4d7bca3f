"""A test-only Anki add-on: lets the test suite look at, and edit, the collection that
real Anki desktop has open, the way tests look at a collection file directly.

It is not AnkiConnect and the code under test never talks to it: the backend under
test talks to the real, unmodified AnkiConnect add-on. Tests use this probe only for
what AnkiConnect cannot do or should not be trusted to check: raw rows, edits "made
in Anki" by hand, resetting the collection between tests.

Protocol: POST a JSON object to 127.0.0.1:$ANKIOPS_PROBE_PORT:
- {"call": ["db", "all"], "args": [...]}: `mw.col.db.all(*args)`;
- {"source": "def f(col, ...): ...", "name": "f", "args": [...], "kwargs": {...}}:
  that function's result with `col` = mw.col.
The answer is {"result": ...} (plain JSON: protobuf messages as objects of their
fields, marked "__record__") or {"error": traceback}. Everything runs on Anki's main
thread, between AnkiConnect's requests, so the two never touch the collection at once.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aqt import mw

PORT = int(os.environ.get("ANKIOPS_PROBE_PORT", "0"))
WAIT = 120.0  # seconds a call may take on the main thread


def plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    descriptor = getattr(value, "DESCRIPTOR", None)
    if descriptor is not None and hasattr(descriptor, "fields"):
        return {"__record__": {f.name: plain(getattr(value, f.name)) for f in descriptor.fields}}
    try:
        return [plain(v) for v in iter(value)]
    except TypeError:
        return {"__repr__": repr(value)}


def run(request: dict[str, Any]) -> Any:
    col = mw.col
    if col is None:
        raise RuntimeError("no collection is open")
    args = request.get("args", [])
    if "source" in request:
        namespace: dict[str, Any] = {}
        exec(compile(request["source"], "<probe>", "exec"), namespace)
        return namespace[request["name"]](col, *args, **request.get("kwargs", {}))
    target: Any = col
    for name in request["call"]:
        target = getattr(target, name)
    return target(*args)


def on_main(request: dict[str, Any]) -> dict[str, Any]:
    done = threading.Event()
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["result"] = plain(run(request))
        except BaseException:  # noqa: BLE001 - reported to the test
            out["error"] = traceback.format_exc()
        finally:
            done.set()

    mw.taskman.run_on_main(work)
    if not done.wait(WAIT):
        return {"error": f"the probe's call did not finish within {WAIT} s"}
    return out


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", "0"))
        try:
            reply = on_main(json.loads(self.rfile.read(length)))
        except Exception:  # noqa: BLE001
            reply = {"error": traceback.format_exc()}
        body = json.dumps(reply).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


if PORT:
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="ankiops-probe").start()
