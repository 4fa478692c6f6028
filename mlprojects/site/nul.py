"""NUL characters (U+0000) in a URL or a form: PostgreSQL cannot store or even compare
them in text, so a request that carries one in its path, query string or urlencoded
form fields is answered 400 before any view runs — in the API's error shape under /api/,
MLflow's under /mlflow/, a plain page elsewhere. (JSON bodies are checked by the API's
JSON parser, multipart fields by the forms.)"""

from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from accounts.api.base import json_error
from mlprojects.site.errors import MLFLOW_PREFIX, is_api, mlflow_error

MESSAGE = "NUL characters are not allowed in the URL or form fields."
FORM = "application/x-www-form-urlencoded"


def has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    query = request.META.get("QUERY_STRING", "")
    if b"\x00" in unquote_to_bytes(query.replace("+", " ")):
        return True
    if request.method == "POST" and request.content_type == FORM:
        return any("\x00" in key or "\x00" in value for key, value in _pairs(request))
    return False


def _pairs(request: HttpRequest):
    for key, values in request.POST.lists():
        for value in values:
            yield key, value


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            if request.path.startswith(MLFLOW_PREFIX):
                return mlflow_error(400, "INVALID_PARAMETER_VALUE", MESSAGE)
            if is_api(request):
                return json_error(400, "invalid", MESSAGE)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
