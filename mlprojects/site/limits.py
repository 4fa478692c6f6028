"""Per-view request-body limits.

Every API and `/mlflow` body is limited to `DATA_UPLOAD_MAX_MEMORY_SIZE` (JSON bodies are
small). A view that takes a streamed file names its own, larger limit by the setting that
holds it::

    @body_limit("EVALUATION_MAX_UPLOAD_BYTES")
    class EvaluationListView(APIView): ...

`RequestSizeLimitMiddleware` reads the mark before the view runs and answers 413 naming the
limit and its setting. The view still enforces the same limit while it streams, for bodies
sent without a Content-Length."""

from collections.abc import Callable

from django.conf import settings

DEFAULT_SETTING = "DATA_UPLOAD_MAX_MEMORY_SIZE"
ATTRIBUTE = "body_limit_setting"


def body_limit(setting_name: str) -> Callable:
    """Marks a view function or class: its body may be up to `settings.<setting_name>`."""

    def mark(view):
        setattr(view, ATTRIBUTE, setting_name)
        return view

    return mark


def limit_setting_for(view_func: Callable) -> str:
    """The name of the setting that limits `view_func`'s body: its own mark, the mark of the
    class it was made from (`as_view()` keeps it as `view_class`/`cls`), else the default."""
    for candidate in (
        view_func,
        getattr(view_func, "view_class", None),
        getattr(view_func, "cls", None),
    ):
        name = getattr(candidate, ATTRIBUTE, None)
        if name:
            return name
    return DEFAULT_SETTING


# A file endpoint's limit is on the file; the multipart boundaries and the small form fields
# next to it may add this much to the body (the view checks the file itself while it streams).
MULTIPART_OVERHEAD_BYTES = 1 << 20


def limit_for(view_func: Callable) -> tuple[str, int | None]:
    """(setting name, bytes) of the body limit that applies to `view_func`."""
    name = limit_setting_for(view_func)
    limit = getattr(settings, name)
    if limit is not None and name != DEFAULT_SETTING:
        limit += MULTIPART_OVERHEAD_BYTES
    return name, limit
