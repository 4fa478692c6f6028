"""The caller's own account: `GET /api/v1/me/`."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeSerializer


class MeView(APIView):
    """The caller and the organizations they belong to."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = user.memberships.select_related("organization")
        return Response(
            MeSerializer(
                {"email": user.email, "full_name": user.full_name, "memberships": memberships}
            ).data
        )
