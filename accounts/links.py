"""Absolute links for emails. `SITE_URL` when it is set; otherwise the scheme and host of
the request being served, so links point where the site was actually reached (another
port, a tunnel) rather than at a fixed address. Email composed outside a request (worker
jobs) uses the address of the request that queued it when that was passed along, else the
local development address."""

from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

#: Used only outside any request and without `SITE_URL`: `make run`'s address.
FALLBACK_SITE_URL = "http://127.0.0.1:8000"

_request_base: ContextVar[str] = ContextVar("request_base", default="")


def request_base_url(request: HttpRequest) -> str:
    # get_host() validates the Host header against ALLOWED_HOSTS.
    return f"{request.scheme}://{request.get_host()}"


def site_url() -> str:
    """The base of absolute links, without a trailing slash."""
    return settings.SITE_URL or _request_base.get() or FALLBACK_SITE_URL


class SiteUrlMiddleware:
    """Remembers the current request's base URL for `site_url` while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        try:
            base = request_base_url(request)
        except Exception:  # a disallowed Host: Django answers 400 further on
            base = ""
        token = _request_base.set(base)
        try:
            return self.get_response(request)
        finally:
            _request_base.reset(token)
