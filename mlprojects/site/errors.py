"""Error pages: JSON in the API's one error shape under /api/, MLflow's error shape under
/mlflow/ (so the mlflow client raises its usual exceptions), HTML elsewhere."""

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

from accounts.api.base import json_error

API_PREFIXES = ("/api/", "/mlflow/")
MLFLOW_PREFIX = "/mlflow/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def mlflow_error(status: int, error_code: str, message: str) -> JsonResponse:
    return JsonResponse({"error_code": error_code, "message": message}, status=status)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith(MLFLOW_PREFIX):
        return mlflow_error(404, "ENDPOINT_NOT_FOUND", "No such MLflow endpoint.")
    if is_api(request):
        return json_error(404, "not_found", "Not found.")
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """A request Django refuses before any view (a form body with more fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, a malformed header…)."""
    # Only the limits' messages are shown: other refusals may echo request data.
    known = isinstance(exception, TooManyFieldsSent | TooManyFilesSent)
    message = str(exception) if known else "Bad request."
    if request.path.startswith(MLFLOW_PREFIX):
        return mlflow_error(400, "BAD_REQUEST", message)
    if is_api(request):
        return json_error(400, "invalid", message)
    return defaults.bad_request(request, exception)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return json_error(403, "permission_denied", str(exception) or "Forbidden.")
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return json_error(500, "server_error", "Server error.")
    return render(request, "500.html", status=500)
