"""Error pages: JSON in the API's one error shape under /api/ and /mlflow/, HTML elsewhere."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.api import json_error

API_PREFIXES = ("/api/", "/mlflow/")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
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
