"""Optional error tracking with Sentry (or any service that speaks its protocol),
switched on by SENTRY_DSN. Imported by the settings; imports nothing from Django."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def init_sentry(*, dsn: str, environment: str, release: str | None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user emails, IP addresses, cookies or request bodies leave the app.
        send_default_pii=False,
        # Errors only; performance tracing is not switched on.
        traces_sample_rate=0.0,
    )


def tag_request_id(request_id: str) -> None:
    """Errors reported while a request or task runs carry its id (a no-op without DSN)."""
    sentry_sdk.set_tag("request_id", request_id)
