"""Run a command and start it again whenever it exits, until this process is told to stop.

`make run` starts the web server, the Celery worker and beat with honcho, which stops
every process as soon as one exits. The Procfile runs the worker and beat through this
wrapper, so a crashed (or killed) worker is restarted and the web server keeps serving:

    python -m mlprojects.site.respawn -- celery -A mlprojects.celery worker

The command runs in a process group of its own; SIGTERM or SIGINT to this process is
passed on to that group, and then this process exits with the command. A command that
keeps dying is restarted after a growing pause (up to MAX_DELAY_S). Standard library
only: it imports neither Django nor Celery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
# A run this long counts as healthy: the next crash restarts after FIRST_DELAY_S again.
HEALTHY_AFTER_S = 60.0


def log(message: str) -> None:
    print(f"respawn: {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        log("usage: python -m mlprojects.site.respawn -- COMMAND [ARGS...]")
        return 2
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = FIRST_DELAY_S
    while True:
        started = time.monotonic()
        child = subprocess.Popen(argv, start_new_session=True)  # noqa: S603 (the Procfile's own command)
        log(f"started {argv[0]} (pid {child.pid})")
        code = child.wait()
        if stopping:
            return code
        if time.monotonic() - started >= HEALTHY_AFTER_S:
            delay = FIRST_DELAY_S
        log(f"{argv[0]} (pid {child.pid}) exited with {code}; restarting in {delay:.0f} s")
        # Whatever the command left in its group (pool children) goes with it.
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        delay = min(delay * 2, MAX_DELAY_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
