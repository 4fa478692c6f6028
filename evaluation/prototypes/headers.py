"""Endpoint headers (API keys, bearer tokens) encrypted at rest with Fernet.

The key is `PROTOTYPE_HEADERS_KEYS` (comma-separated Fernet keys, newest first, so a key
can be rotated: new values use the first, old values still decrypt); when unset, a key is
derived from SECRET_KEY."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class HeadersUnreadable(Exception):
    """Stored headers that the configured keys can't decrypt."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.PROTOTYPE_HEADERS_KEYS if k.strip()]
    if not keys:
        digest = hashlib.sha256(b"mlprojects prototype headers:" + settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(digest.digest()).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "PROTOTYPE_HEADERS_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from None


def encrypt_headers(headers: dict[str, str]) -> str:
    if not headers:
        return ""
    return _fernet().encrypt(json.dumps(headers).encode()).decode()


def decrypt_headers(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise HeadersUnreadable(
            "The endpoint's headers can't be decrypted with the server's key "
            "(PROTOTYPE_HEADERS_KEYS was changed without keeping the old one): enter them again."
        ) from None
