"""The caller's IP address, as every per-address limit sees it (login lockouts, sign-up
and password-reset limits, the failed-authentication throttle; DRF's throttles read the
same TRUSTED_PROXY_COUNT as NUM_PROXIES)."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless TRUSTED_PROXY_COUNT reverse proxies stand in front of the app:
    then the address the outermost of them saw, counted from the right of
    X-Forwarded-For. A client can prepend anything to that header but cannot change what
    our own proxies appended, so the left part is never trusted."""
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 (unix socket)
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            candidate = forwarded[-min(proxies, len(forwarded))]
            if _valid(candidate):
                return candidate
    return remote
