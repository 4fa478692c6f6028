"""Local development (`make run`): DEBUG on unless the environment says otherwise.

Only these settings create directories (var/ for SQLite and uploads, and the embedded
broker's folders), so that `make run` needs no setup; production settings never write."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL, VAR_DIR, env_bool

DEBUG = env_bool("DEBUG", True)
# The demo's prototype answers from a model built into the app (no model server needed).
PROTOTYPE_BUILTIN_MODELS = env_bool("PROTOTYPE_BUILTIN_MODELS", True)

VAR_DIR.mkdir(exist_ok=True)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _option in ("data_folder_in", "processed_folder", "control_folder"):
        Path(CELERY_BROKER_TRANSPORT_OPTIONS[_option]).mkdir(parents=True, exist_ok=True)
