"""The Celery application. Tasks are autodiscovered from each domain's tasks.py.

This module does not choose a settings module: `manage.py` defaults to local settings,
`wsgi.py` to production, and a worker or beat process must be given
DJANGO_SETTINGS_MODULE (the Procfile and `make run` do), so no process silently runs
settings it was not meant to. The web process loads this app in
`MlprojectsConfig.ready()`, so `task.delay()` always reaches the configured broker."""

from celery import Celery

from mlprojects.site.logs import connect_celery_signals

app = Celery("mlprojects")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A task is acknowledged only after it finished, and a worker that dies mid-task puts
    # it back on the queue: tasks are written to be idempotent, so redelivery is safe.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=60 * 55,
    task_time_limit=60 * 60,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks(
    ["accounts", "mlprojects.site", "evaluation.evaluations", "evaluation.abtests"],
    related_name="tasks",
)
# Log lines of a task carry the id of the request that enqueued it.
connect_celery_signals()
