"""Idempotent POSTs. A POST with an `Idempotency-Key` header is answered once: a repeat
with the same key and body (from the same caller) replays the first response and writes
nothing; the same key with another body answers 422. Only successes are remembered, so a
failed request can be retried as it is.

`idempotent` decorates a view's `post`; `IdempotentPostMixin` (part of every API view
through `OrgScopedMixin`) applies it to the `post` of each of its subclasses when the
class is created, so no API view can forget it.
"""

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from accounts.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def _caller(request: Request) -> str:
    token_id = getattr(request.auth, "pk", None)
    return f"token:{token_id}" if token_id is not None else f"user:{request.user.pk}"


def _claim_key(*, caller: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    """Insert the key, or return the record of an earlier request with it. Called inside
    the request's transaction: a concurrent duplicate blocks on the unique index (or, on
    SQLite, on the write lock) until the first commits, then finds its record."""
    existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                caller=caller, key=key, request_hash=request_hash, response_status=0
            )
    except IntegrityError:
        return IdempotencyRecord.objects.get(caller=caller, key=key)
    return None


def _answer_once(request: Request, handle: Callable[[], Response]) -> Response:
    """The first response to this key and body: replayed if there is one, else `handle()`'s
    (remembered when it succeeds)."""
    key = request.headers[HEADER].strip()
    if not key or len(key) > 255:
        raise exceptions.ValidationError({HEADER: ["Use 1 to 255 characters."]})
    body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder)
    request_hash = hashlib.sha256(f"{request.path}\n{body}".encode()).hexdigest()
    caller = _caller(request)
    with transaction.atomic():
        record = _claim_key(caller=caller, key=key, request_hash=request_hash)
        if record is not None:
            if record.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return Response(
                record.response_body,
                status=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        response = handle()
        if response.status_code >= 400:
            # Only successes are remembered; a failed request may be retried as it is.
            transaction.set_rollback(True)
            return response
        IdempotencyRecord.objects.filter(caller=caller, key=key).update(
            response_status=response.status_code,
            response_body=json.loads(json.dumps(response.data, cls=JSONEncoder)),
        )
        return response


def idempotent(post: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an API view's `post` (it runs after authentication and permissions): with
    an `Idempotency-Key` header the request is answered once; without one, as usual."""

    @wraps(post)
    def wrapped(view, request: Request, *args, **kwargs) -> Response:
        # A `post` that calls its parent's (also wrapped) is checked once, by the outer one.
        if HEADER not in request.headers or getattr(request, "idempotency_checked", False):
            return post(view, request, *args, **kwargs)
        request.idempotency_checked = True
        return _answer_once(request, lambda: post(view, request, *args, **kwargs))

    wrapped.idempotent = True
    return wrapped


class IdempotentPostMixin:
    # Makes every POST of the view idempotent: the `post` of each subclass (its own, or
    # the one it inherits) is wrapped in `idempotent` when the class is created.
    # (A comment, not a docstring: the API schema would describe every view with it.)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        post = getattr(cls, "post", None)
        if post is not None and not getattr(post, "idempotent", False):
            cls.post = idempotent(post)
