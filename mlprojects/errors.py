"""Error pages: JSON in the API's one error shape under /api/, MLflow's error shape under
/mlflow/ (so the mlflow client raises its usual exceptions), HTML elsewhere."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.api import json_error

API_PREFIXES = ("/api/", "/mlflow/")
MLFLOW_PREFIX = "/mlflow/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def mlflow_error(status: int, error_code: str, message: str) -> JsonResponse:
    return JsonResponse({"error_code": error_code, "message": message}, status=status)


class RequestSizeLimitMiddleware:
    """413 for an API body over DATA_UPLOAD_MAX_MEMORY_SIZE, before any view runs. Django
    enforces the limit only when `request.body` is read (answering an HTML 400), and DRF's
    parsers read the stream directly, so without this an API body would have no limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _is_api(request):
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


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith(MLFLOW_PREFIX):
        return mlflow_error(404, "ENDPOINT_NOT_FOUND", "No such MLflow endpoint.")
    if _is_api(request):
        return json_error(404, "not_found", "Not found.")
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return json_error(403, "permission_denied", str(exception) or "Forbidden.")
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error(500, "server_error", "Server error.")
    return render(request, "500.html", status=500)
