"""Background work of the site as a whole."""

import time

from celery import shared_task
from django.core.cache import cache

from mlprojects.site.health import BEAT_HEARTBEAT_KEY


@shared_task(ignore_result=True)
def record_beat_heartbeat_task() -> None:
    """Scheduled by beat every minute: `/status/workers` reads the time it stores to tell
    whether beat (and a worker to run its tasks) is alive."""
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=None)
