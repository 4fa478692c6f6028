"""Which settings a process runs is never an accident: the WSGI entry point defaults to
production settings, which refuse to start without their required variables, and the
Celery app does not choose settings for anyone."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: none of the project's settings variables."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(extra)
    return env


def test_gunicorn_without_environment_refuses_to_start_instead_of_running_local_settings():
    result = subprocess.run(
        [str(GUNICORN), "mlprojects.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=BASE_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "must be set in production" in result.stderr


def test_importing_the_package_does_not_choose_a_settings_module():
    code = (
        "import os, mlprojects, mlprojects.celery; "
        "print(os.environ.get('DJANGO_SETTINGS_MODULE', 'unset'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unset"


def test_the_pure_lifecycle_modules_import_without_django_settings():
    code = (
        "import sys; import mlprojects.lifecycle.feasibility, mlprojects.lifecycle.readiness, "
        "mlprojects.lifecycle.rules; print('django.conf' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
