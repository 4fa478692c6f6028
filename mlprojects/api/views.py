from rest_framework import generics, mixins
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import OrgScopedAPIView

from .. import services
from ..models import Project
from .serializers import MembershipSerializer, ProjectSerializer


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


class ProjectListView(mixins.ListModelMixin, OrgScopedAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return self.scope_queryset(Project.objects.select_related("owner"))

    def get(self, request: Request) -> Response:
        return self.list(request)

    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(
            org=self.org,
            user=request.user,
            name=serializer.validated_data["name"],
            summary=serializer.validated_data.get("summary", ""),
        )
        return Response(self.get_serializer(project).data, status=201)


class ProjectDetailView(
    mixins.RetrieveModelMixin, mixins.UpdateModelMixin, OrgScopedAPIView, generics.GenericAPIView
):
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return self.scope_queryset(Project.objects.select_related("owner"))

    def get(self, request: Request, pk: int) -> Response:
        return self.retrieve(request)

    def patch(self, request: Request, pk: int) -> Response:
        return self.partial_update(request)
