"""Middleware of the site as a whole."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.api.base import json_error
from mlprojects.site.errors import MLFLOW_PREFIX, is_api, mlflow_error


class RequestSizeLimitMiddleware:
    """413 for an API body over DATA_UPLOAD_MAX_MEMORY_SIZE, before any view runs. Django
    enforces the limit only when `request.body` is read (answering an HTML 400), and DRF's
    parsers read the stream directly, so without this an API body would have no limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and is_api(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                message = f"The request body is larger than {limit} bytes."
                if request.path.startswith(MLFLOW_PREFIX):
                    return mlflow_error(413, "INVALID_PARAMETER_VALUE", message)
                return json_error(413, "request_too_large", message)
        return self.get_response(request)
