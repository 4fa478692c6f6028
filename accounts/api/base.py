"""The API's tenancy and error conventions, shared by every /api/v1/ view.

- The organization of a request is the API token's organization (token auth), or for a
  browser session the `X-Organization` header, else the organization last opened in the
  browser, else the user's first organization.
- `OrgScopedAPIView` subclasses narrow every queryset with `scope_queryset()` so a view
  cannot reach another organization's rows; a foreign id answers 404.
- Every error has one shape: {"error": {"status", "code", "message", "fields"?}}.
- A POST with an `Idempotency-Key` header is answered once (`accounts.api.idempotency`).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, generics, permissions
from rest_framework.request import Request
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.api.idempotency import IdempotentPostMixin
from accounts.models import Membership, Organization
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


class OrgScopedMixin(IdempotentPostMixin):
    # The tenancy of every API view: `scope_queryset(qs)` must be applied by
    # `get_queryset`; `org_filter` names the path from the model to its Organization.
    # Every POST is idempotent (IdempotentPostMixin).
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


class OrgScopedAPIView(OrgScopedMixin, generics.GenericAPIView):
    pass


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
