"""Access helpers for views: one place that turns a role into 403."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def require_perm(perm: str) -> Callable:
    """Decorate an org-scoped view: the caller's membership must grant `perm`, else 403.
    (Non-members never get here: the middleware answered 404.)"""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                raise PermissionDenied("This page belongs to an organization.")
            if not membership.can(perm):
                raise PermissionDenied(
                    f"Your role ({membership.get_role_display().lower()}) may not do this."
                )
            return view(request, *args, **kwargs)

        wrapped.required_perm = perm
        return wrapped

    return decorator
