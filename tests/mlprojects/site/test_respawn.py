"""The Procfile runs the worker and beat under `mlprojects.site.respawn`, so a worker that
crashes under `make run` is started again and honcho never sees a process exit (it would
stop the web server with it)."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker import wait_for

BASE_DIR = Path(__file__).resolve().parents[3]


def procfile_command(name: str) -> str:
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in the Procfile")


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_the_procfile_runs_the_worker_and_beat_under_the_restart_wrapper(name):
    assert "-m mlprojects.site.respawn -- " in procfile_command(name)


def test_a_respawned_command_that_exits_is_started_again_and_sigterm_stops_it(tmp_path):
    marker = tmp_path / "runs"
    script = f"open({str(marker)!r}, 'a').write('run\\n'); raise SystemExit(3)"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "mlprojects.site.respawn", "--", sys.executable, "-c", script],
        cwd=BASE_DIR,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: marker.exists() and marker.read_text().count("run") >= 2,
            timeout=30,
            message="the command was not started again",
        )
        assert wrapper.poll() is None
    finally:
        os.killpg(wrapper.pid, signal.SIGTERM)  # what honcho does on Ctrl-C
    wrapper.wait(timeout=15)
    assert "exited with 3; restarting" in wrapper.stderr.read()


@pytest.mark.worker
def test_a_worker_killed_under_the_procfile_wrapper_is_restarted(tmp_path):
    # The Procfile's own command line, as honcho runs it (embedded broker, local settings).
    log = tmp_path / "worker.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    process = subprocess.Popen(
        ["/bin/sh", "-c", procfile_command("worker")],
        cwd=BASE_DIR,
        env={**env, "WORKER_CONCURRENCY": "1"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def started() -> list[int]:
        return [
            int(pid) for pid in re.findall(r"respawn: started \S+ \(pid (\d+)\)", log.read_text())
        ]

    try:
        wait_for(
            lambda: log.read_text().count(" ready.") == 1,
            timeout=90,
            message=f"the worker never became ready:\n{log.read_text()}",
        )
        (first,) = started()
        os.killpg(first, signal.SIGKILL)  # the whole worker: main process and pool
        wait_for(
            lambda: log.read_text().count(" ready.") == 2,
            timeout=90,
            message=f"the worker was not restarted:\n{log.read_text()}",
        )
        assert process.poll() is None  # honcho would have seen nothing exit
        assert len(started()) == 2 and started()[1] != first
        # Ctrl-C under honcho: SIGTERM to the group; the wrapper passes it on and exits
        # with the worker, leaving nothing behind.
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        wait_for(
            lambda: not any(alive(pid) for pid in started()),
            timeout=60,
            message="the worker outlived the wrapper",
        )
    finally:
        for pid in [process.pid, *started()]:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
