"""Running Evidently and NannyML as independent references, when they are installed.

They pin library versions the project does not use (Evidently 0.7 needs pandas < 3), so
they live in their own virtual environment, built as requirements-monitoring-reference.txt
describes, and the tests call them through `reference_runner.py` in a subprocess. The
interpreter is ``$MONITORING_REFERENCE_PYTHON`` or ``var/refs-venv/bin/python`` of this
checkout (or of the main checkout, from a git worktree); when it cannot import both
libraries, the reference tests skip and say why.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
RUNNER = Path(__file__).with_name("reference_runner.py")
# Enough for ~30 Evidently reports or ~15 NannyML fits on a shared two-core machine.
TIMEOUT_SECONDS = 900


def _default_interpreter() -> Path:
    """var/refs-venv of this checkout, or of the main checkout when this is a git worktree
    (whose .git is a file pointing into the main checkout's .git/worktrees/)."""
    local = ROOT / "var" / "refs-venv" / "bin" / "python"
    dot_git = ROOT / ".git"
    if local.exists() or not dot_git.is_file():
        return local
    gitdir = Path(dot_git.read_text().split("gitdir:", 1)[-1].strip())
    return gitdir.parents[2] / "var" / "refs-venv" / "bin" / "python"


@functools.cache
def reference_python() -> tuple[str | None, str]:
    """(interpreter able to import evidently and nannyml, or None; why not)."""
    candidate = os.environ.get("MONITORING_REFERENCE_PYTHON") or str(_default_interpreter())
    if not Path(candidate).exists():
        return None, (
            f"reference interpreter {candidate} not found; build it as "
            "requirements-monitoring-reference.txt says or set MONITORING_REFERENCE_PYTHON"
        )
    probe = subprocess.run(
        [candidate, "-c", "import evidently, nannyml"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return None, f"{candidate} cannot import evidently and nannyml: {last}"
    return candidate, ""


def run_reference(kind: str, cases: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Write each case's frames to parquet, run the reference once for all, return results
    keyed by case id. Frames are passed as pandas DataFrames under the case's keys."""
    python, _ = reference_python()
    assert python is not None
    specs = []
    for case in cases:
        spec = {}
        for key, value in case.items():
            if isinstance(value, pd.DataFrame):
                path = workdir / f"{case['id']}-{key}.parquet"
                value.to_parquet(path)
                spec[key] = str(path)
            else:
                spec[key] = value
        specs.append(spec)
    job, out = workdir / f"{kind}-job.json", workdir / f"{kind}-out.json"
    job.write_text(json.dumps({"kind": kind, "cases": specs}))
    done = subprocess.run(
        [python, str(RUNNER), str(job), str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise RuntimeError(f"reference runner failed ({done.returncode})")
    return json.loads(out.read_text())
