from django.http import HttpRequest

from accounts.permissions import Perm


def organization(request: HttpRequest) -> dict:
    """The current organization, the caller's role powers and the switcher's list."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    can = {perm: bool(membership and membership.can(perm)) for perm in Perm.values}
    return {
        "org": getattr(request, "org", None),
        "membership": membership,
        "can": can,
        "my_memberships": user.memberships.select_related("organization").order_by(
            "organization__name"
        ),
    }
