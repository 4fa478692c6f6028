from django.apps import AppConfig


class MlprojectsConfig(AppConfig):
    name = "mlprojects"
    verbose_name = "ML projects"

    def ready(self) -> None:
        # Bind `shared_task` to the configured Celery app in every process that loads
        # Django, so `transaction.on_commit(task.delay)` reaches the configured broker.
        from mlprojects.celery import app  # noqa: F401

        register_notification_kinds()


def register_notification_kinds() -> None:
    """accounts delivers notifications without knowing what they are about."""
    from accounts.notifications import register_notification_kind
    from mlprojects.review.models import NotificationKind

    for kind in NotificationKind:
        register_notification_kind(kind.value, kind.label)
