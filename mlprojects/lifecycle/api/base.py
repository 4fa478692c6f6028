"""The base of the API views under /projects/{project_id}/, shared by the lifecycle and
review APIs (which must not import each other's views)."""

from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound

from accounts.api.base import OrgScopedAPIView
from accounts.api.parsers import DepthLimitedJSONParser
from mlprojects.lifecycle import selectors
from mlprojects.lifecycle.api import serializers
from mlprojects.models import Project, ProjectCycle


class ProjectScoped(OrgScopedAPIView):
    # The base of every view under /projects/{project_id}/ (a comment, not a docstring,
    # so the API schema does not describe every operation with it).

    serializer_class = serializers.ProjectSerializer
    # JSON bodies only: sections nest objects and lists (`multi_objective`, `hypotheses`),
    # which a form cannot carry, so a form's nested part would be silently dropped and an
    # invalid body saved as an empty one. A form is a 415, as the schema says.
    parser_classes = [DepthLimitedJSONParser]
    # The views answer plain data built by selectors' dump functions (documented as JSON
    # objects by accounts.api.schema); `input_class` validates and documents a body.
    plain_answer = True
    input_class = None

    def get_queryset(self):
        return self.scope_queryset(Project.objects.select_related("owner", "organization"))

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = get_object_or_404(self.get_queryset(), pk=self.kwargs["project_id"])
        return self._project

    def get_cycle(self) -> ProjectCycle:
        """The current cycle, or for reads the one named by `?cycle=N`."""
        project = self.get_project()
        number = self.request.query_params.get("cycle", "")
        if self.request.method == "GET" and number:
            if not number.isdigit():
                raise NotFound("No such cycle.")
            return selectors.cycle_get(project=project, number=int(number))
        return selectors.cycle_get(project=project)

    def input(self, serializer_class, data, partial: bool = False, instance=None):
        serializer = serializer_class(
            instance=instance,
            data=data,
            partial=partial,
            context={"cycle": self.get_cycle(), "request": self.request},
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
