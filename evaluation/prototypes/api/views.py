"""The prototype over the API: ask the project's model (and its rule baseline) for one input,
and give or read feedback on answers. Calls go through the same guards as the page."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django_ratelimit.core import is_ratelimited
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from accounts.permissions import Perm
from evaluation.prototypes import selectors, services
from evaluation.prototypes.api.serializers import (
    CallSerializer,
    FeedbackSerializer,
    PredictInputSerializer,
    PrototypeFeedbackInputSerializer,
)
from evaluation.prototypes.models import PrototypeFeedback
from mlprojects.models import Project


class TooManyCalls(exceptions.Throttled):
    default_detail = "Too many prototype calls in a short time; wait a minute and try again."


class PrototypeAPIView(OrgScopedAPIView):
    # Every role that may read a project may use its prototype (POST included).
    org_filter = "organization"
    write_perm = Perm.READ

    def get_queryset(self):
        return self.scope_queryset(Project.objects.all())

    def get_project(self, pk: int) -> Project:
        return get_object_or_404(self.get_queryset(), pk=pk)


class PrototypePredictView(PrototypeAPIView):
    """Ask the project's model and its rule baseline for one input. 200 with the call: the
    model's answer (or `error`, a sentence saying why it could not answer: a host off the
    allow-list, a timeout, an answer over the size cap, a redirect…) and the baseline's.
    400 for inputs that don't fit the fields; 429 over PROTOTYPE_RATE_PER_USER."""

    serializer_class = PredictInputSerializer

    @extend_schema(request=PredictInputSerializer, responses={200: CallSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project(pk)
        serializer = PredictInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = selectors.endpoint_get(project=project)
        if endpoint is None or not endpoint.fields:
            raise exceptions.ValidationError({"inputs": "The prototype is not set up yet."})
        if is_ratelimited(
            request, group="prototype-call", key="user",
            rate=settings.PROTOTYPE_RATE_PER_USER, increment=True,
        ):  # fmt: skip
            raise TooManyCalls()
        try:
            call = services.prototype_try(
                endpoint=endpoint, values=serializer.validated_data["inputs"], user=request.user
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"inputs": exc.messages}) from None
        return Response(CallSerializer(call).data)


class PrototypeFeedbackView(PrototypeAPIView):
    """GET: the feedback on the project's prototype answers, newest first. POST: a thumbs up
    or down with a comment on an answer you asked for (201)."""

    serializer_class = PrototypeFeedbackInputSerializer

    @extend_schema(
        responses=inline_serializer(
            "PrototypeFeedbackList", fields={"results": FeedbackSerializer(many=True)}
        )
    )
    def get(self, request: Request, pk: int) -> Response:
        feedback = selectors.feedback_list(project=self.get_project(pk), limit=200)
        return Response({"results": FeedbackSerializer(feedback, many=True).data})

    @extend_schema(request=PrototypeFeedbackInputSerializer, responses={201: FeedbackSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project(pk)
        serializer = PrototypeFeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        call = selectors.call_get(project=project, pk=values["call"])
        try:
            feedback = services.feedback_give(
                call=call,
                user=request.user,
                verdict=values["verdict"],
                comment=values.get("comment", ""),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"call": exc.messages}) from None
        feedback = PrototypeFeedback.objects.select_related("call", "user").get(pk=feedback.pk)
        return Response(FeedbackSerializer(feedback).data, status=201)
