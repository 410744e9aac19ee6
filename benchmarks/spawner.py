"""Spawn the benchmarks' timed children from a small process.

Linux carries a process's peak RSS across ``execve``: a child spawned by a
process of 100 MiB reports at least 100 MiB in ``ru_maxrss``, whatever it
really used (``fork`` copies the parent's resident pages into the child's
count, ``vfork`` lends it the parent's memory outright). The benchmark runner
holds wheelhouses, downloads and results, so its own peak would floor every
"peak RSS" row, and a ratio of two floored rows reads 1.000.

This file is therefore also a program: ``python -I -S spawner.py`` is a
process of a few MiB (it imports only what is below) that forks each child,
times it from fork to ``wait4`` and sends back what ``wait4`` reported. The
child's count starts from the spawner's few MiB, below anything measured.
Protocol: one JSON request per line on stdin, one JSON reply per line on
stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time


def _spawn_and_reap(request: dict) -> dict:  # type: ignore[type-arg]
    os.sync()  # earlier runs' dirty pages are written out before the clock starts
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.chdir(request["cwd"])
            stdin = os.open(os.devnull, os.O_RDONLY)
            out = os.open(request["stdout"], os.O_WRONLY | os.O_TRUNC)
            err = os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC)
            for fd, target in ((stdin, 0), (out, 1), (err, 2)):
                os.dup2(fd, target)
            os.execvpe(request["argv"][0], request["argv"], request["env"])
        except BaseException as exc:  # the forked child must never return
            os.write(2, f"spawner: cannot run {request['argv'][0]}: {exc}\n".encode())
        os._exit(127)

    def kill_group(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, kill_group)
    signal.setitimer(signal.ITIMER_REAL, request["timeout"])
    try:
        _, status, usage = os.wait4(pid, 0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "maxrss_kb": usage.ru_maxrss,
        "cpu": usage.ru_utime + usage.ru_stime,
        "returncode": os.waitstatus_to_exitcode(status),
    }


def serve() -> None:
    for line in sys.stdin:
        reply = _spawn_and_reap(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
