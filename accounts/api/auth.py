"""`Authorization: Bearer <token>` for the API. The token object becomes `request.auth`:
`accounts.api` reads its `organization_id`, its `membership` and `allows(method)` (scope),
so a token acts with its user's role in its organization and never more."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, Membership

KEYWORD = "Bearer"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """No header: not this scheme (anonymous, so 401). A malformed, unknown, revoked or
    expired token, or one whose user has left the organization: 401."""

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.") from exc
        token = ApiToken.find_active(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API token.")
        membership = Membership.objects.filter(
            organization_id=token.organization_id, user_id=token.user_id
        ).first()
        if membership is None:
            raise exceptions.AuthenticationFailed("The token's user left its organization.")
        # Reuse the objects already loaded, so the API need not fetch them again.
        membership.organization = token.organization
        membership.user = token.user
        token.membership = membership
        token.touch()
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated API requests.
        return f'{KEYWORD} realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the Bearer scheme in the OpenAPI schema (/api/schema/, /api/docs/)."""

    target_class = "accounts.api.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the organization's Tokens page or "
            "`manage.py create_api_token`.",
        }
