"""The API's tenancy and error conventions, shared by every /api/v1/ view.

- The organization of a request is the API token's organization (token auth), or for a
  browser session the `X-Organization` header, else the organization last opened in the
  browser, else the user's first organization.
- `OrgScopedAPIView` subclasses narrow every queryset with `scope_queryset()` so a view
  cannot reach another organization's rows; a foreign id answers 404.
- Every error has one shape: {"error": {"status", "code", "message", "fields"?}}.
- A POST with an `Idempotency-Key` header is answered once: a repeat with the same key
  and body replays the first response and writes nothing; another body → 422.
"""

import hashlib
import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, JsonResponse
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import IdempotencyRecord, Membership, Organization
from accounts.permissions import Perm

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def resolve_api_membership(request: Request) -> Membership | None:
    user = request.user
    if not user or not user.is_authenticated:
        return None
    auth = getattr(request, "auth", None)
    if getattr(auth, "membership", None) is not None:
        return auth.membership  # checked and loaded by the token authentication
    org_id = getattr(auth, "organization_id", None)
    memberships = Membership.objects.select_related("organization", "user").filter(user=user)
    if org_id is not None:
        return memberships.filter(organization_id=org_id).first()
    slug = request.headers.get("X-Organization") or request.session.get("current_org")
    if slug:
        found = memberships.filter(organization__slug=slug).first()
        if found or request.headers.get("X-Organization"):
            return found
    return memberships.order_by("organization__name").first()


class OrgPermission(permissions.BasePermission):
    """Reads need `read`; writes need the view's `write_perm` (default `edit`). A token's
    scope can narrow that further (checked by the token authentication)."""

    message = "Your role may not do this."

    def has_permission(self, request: Request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        membership = view.get_membership()
        if membership is None:
            raise exceptions.NotFound("No organization for this request.")
        perm = Perm.READ if request.method in SAFE_METHODS else view.get_write_perm()
        if not membership.can(perm):
            return False
        token_allows = getattr(request.auth, "allows", None)
        if token_allows is not None and not token_allows(request.method):
            self.message = "This API token is read-only."
            return False
        return True


class OrgScopedMixin:
    # The tenancy of every API view: `scope_queryset(qs)` must be applied by
    # `get_queryset`; `org_filter` names the path from the model to its Organization.
    # (A comment, not a docstring: the API schema describes each view by its docstring
    # and would otherwise describe every view with this one.)

    permission_classes = [OrgPermission]
    org_filter = "organization"
    write_perm = Perm.EDIT

    def get_membership(self) -> Membership | None:
        if not hasattr(self, "_membership"):
            self._membership = resolve_api_membership(self.request)
        return self._membership

    def get_write_perm(self) -> str:
        return self.write_perm

    @property
    def org(self) -> Organization:
        membership = self.get_membership()
        if membership is None:
            raise exceptions.NotFound("No organization for this request.")
        return membership.organization

    def scope_queryset(self, queryset):
        return queryset.filter(**{self.org_filter: self.org})

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # DRF looks the handler up right after `initial()` (authentication, permissions,
        # throttles), so this is where every POST of every API view becomes idempotent.
        if request.method == "POST" and "Idempotency-Key" in request.headers:
            handler = self.post
            self.post = lambda req, *a, **kw: idempotent_call(req, handler, *a, **kw)


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


def idempotent_call(request: Request, handler, *args, **kwargs) -> Response:
    key = request.headers["Idempotency-Key"].strip()
    if not key or len(key) > 255:
        raise exceptions.ValidationError({"Idempotency-Key": ["Use 1 to 255 characters."]})
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
        response = handler(request, *args, **kwargs)
        if response.status_code >= 400:
            # Only successes are remembered; a failed request may be retried as it is.
            transaction.set_rollback(True)
            return response
        IdempotencyRecord.objects.filter(caller=caller, key=key).update(
            response_status=response.status_code,
            response_body=json.loads(json.dumps(response.data, cls=JSONEncoder)),
        )
        return response


class OrgScopedAPIView(OrgScopedMixin, generics.GenericAPIView):
    pass


class ListSchema(AutoSchema):
    """The schema of a view whose GET answers a list though it is no `ListAPIView` (such
    as the items of a project's section): its GET is named `…_list`, as every other list
    is, instead of `…_retrieve`, the name of its detail route's GET."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self.method == "GET":
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id


def _error_body(status: int, code: str, message: str, fields=None) -> dict:
    error = {"status": status, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _error_body(response.status_code, "invalid", "Invalid input.", fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _error_body(response.status_code, str(code), str(detail))
    return response


def json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(_error_body(status, code, message), status=status)
