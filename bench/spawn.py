"""A small process that runs the benchmark's commands and measures them.

A child's peak memory as the kernel reports it (ru_maxrss) includes the memory of
the process that spawned it, as it was at the exec. Spawned from the benchmark
(which holds Anki's collection for the loopback server), every command would look
at least that big; spawned from this small process, a command's figure is its own.

Protocol, one JSON object per line each way: {"args", "cwd", "env", "out", "err"}
in; {"seconds", "peak_kb", "returncode"} out. Standard library only (run with -S).
"""

import json
import os
import subprocess
import sys
import time


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["out"], "wb") as out, open(request["err"], "wb") as err:
            started = time.perf_counter()
            child = subprocess.Popen(
                request["args"], cwd=request["cwd"], env=request["env"], stdout=out, stderr=err
            )
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        reply = {"seconds": seconds, "peak_kb": usage.ru_maxrss, "returncode": child.returncode}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
