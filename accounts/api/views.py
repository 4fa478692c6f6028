"""The caller's own account: `GET /api/v1/me/`."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership


class MembershipSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "organization_name", "role"]


class MeView(APIView):
    """The caller and the organizations they belong to."""

    def get(self, request: Request) -> Response:
        memberships = request.user.memberships.select_related("organization")
        return Response(
            {
                "email": request.user.email,
                "full_name": request.user.full_name,
                "memberships": MembershipSerializer(memberships, many=True).data,
            }
        )
