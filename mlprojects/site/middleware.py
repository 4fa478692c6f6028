"""Middleware of the site as a whole."""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from accounts.api.base import json_error
from mlprojects.site.errors import MLFLOW_PREFIX, is_api, mlflow_error
from mlprojects.site.limits import limit_for
from mlprojects.site.logs import (
    REQUEST_ID_HEADER,
    clean_request_id,
    new_request_id,
    request_id_var,
)
from mlprojects.site.sentry import tag_request_id


class RequestIdMiddleware:
    """Gives every request an id: the caller's `X-Request-ID` when it is a sane token
    (letters, digits, `-_.`, at most 200 characters), else a new one. The id is on
    `request.request_id`, on every log line written while the request runs, and in the
    response's `X-Request-ID` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id
        # Kept until the response is closed (`forget_request_id` on request_finished), so
        # Django's own log line about an error response carries the id too.
        request_id_var.set(request_id)
        tag_request_id(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestSizeLimitMiddleware:
    """413 for an API or `/mlflow` body over its limit, before the view reads it. Django
    enforces DATA_UPLOAD_MAX_MEMORY_SIZE only when `request.body` is read (answering an
    HTML 400), and DRF's parsers read the stream directly, so without this an API body
    would have no limit. A view that streams a file names its own limit with
    `@body_limit("SETTING")` (see `mlprojects.site.limits`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not is_api(request):
            return None
        setting_name, limit = limit_for(view_func)
        if limit is None:
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit:
            return None
        message = (
            f"The request body is larger than this endpoint's limit of {limit} bytes "
            f"(setting {setting_name})."
        )
        if request.path.startswith(MLFLOW_PREFIX):
            return mlflow_error(413, "INVALID_PARAMETER_VALUE", message)
        return json_error(413, "request_too_large", message)


class FailedAuthenticationThrottleMiddleware:
    """429 for a client address whose API or /mlflow calls failed authentication (no
    credentials, or a wrong, revoked or expired token) more than API_THROTTLE_ANON times.

    DRF authenticates and checks permissions before its throttles run, so its anonymous
    throttle never sees these calls: a 401 ends the request first. Counting the 401s here
    covers both, and once over the rate the call is refused before any token lookup."""

    GROUP = "api-failed-authentication"

    def __init__(self, get_response):
        self.get_response = get_response

    def _usage(self, request: HttpRequest, *, increment: bool) -> dict | None:
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]
        return get_usage(request, group=self.GROUP, key="ip", rate=rate, increment=increment)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        usage = self._usage(request, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            return self._throttled(request, wait=usage["time_left"])
        response = self.get_response(request)
        if response.status_code == 401:
            self._usage(request, increment=True)
        return response

    def _throttled(self, request: HttpRequest, *, wait: int) -> HttpResponse:
        wait = max(1, math.ceil(wait))
        message = (
            "Too many requests without valid credentials from your address. "
            f"Try again in {wait} seconds."
        )
        if request.path.startswith(MLFLOW_PREFIX):
            response = mlflow_error(429, "REQUEST_LIMIT_EXCEEDED", message)
        else:
            response = json_error(429, "throttled", message)
        response["Retry-After"] = str(wait)
        return response
