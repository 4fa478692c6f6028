from django.apps import AppConfig
from django.core.signals import request_finished


class MlprojectsConfig(AppConfig):
    name = "mlprojects"
    verbose_name = "ML projects"

    def ready(self) -> None:
        # Bind `shared_task` to the configured Celery app in every process that loads
        # Django, so `transaction.on_commit(task.delay)` reaches the configured broker.
        from mlprojects.celery import app  # noqa: F401
        from mlprojects.lifecycle import page_cache
        from mlprojects.site.logs import forget_request_id

        # Log lines after a response is sent belong to no request.
        request_finished.connect(forget_request_id, dispatch_uid="forget_request_id")
        register_notification_kinds()
        page_cache.connect_signals()
        register_demo_loaders()


def register_notification_kinds() -> None:
    """accounts delivers notifications without knowing what they are about."""
    from accounts.notifications import register_notification_kind
    from mlprojects.review.models import NotificationKind

    for kind in NotificationKind:
        register_notification_kind(kind.value, kind.label)


def register_demo_loaders() -> None:
    from mlprojects.analyses.demo import load_uber_analysis
    from mlprojects.lifecycle import demo
    from mlprojects.review.demo import load_review_story
    from mlprojects.site.demo import register_demo_loader

    register_demo_loader("projects", order=10, load=demo.load_project_stories)
    # After the A/B test (20) wrote its measured impact to step 4 and the prototype (46):
    # v2, in review, is then up to date with the project.
    register_demo_loader("review", order=48, load=load_review_story)
    register_demo_loader("uber-analysis", order=50, load=lambda orgs: load_uber_analysis(orgs.demo))
    register_demo_loader("other-company", order=60, load=demo.load_other_company)
