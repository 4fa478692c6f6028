"""Error pages: JSON in the API's one error shape under /api/, MLflow's error shape under
/mlflow/ (so the mlflow client raises its usual exceptions), HTML elsewhere."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

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


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return json_error(403, "permission_denied", str(exception) or "Forbidden.")
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return json_error(500, "server_error", "Server error.")
    return render(request, "500.html", status=500)
