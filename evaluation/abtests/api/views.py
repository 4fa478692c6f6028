"""The A/B test API, for the whole life of a test: design (create, change a draft), start,
post per-variant results, stop, queue an analysis, read the latest analysis, decide; and
the sample-size calculator. Each action calls the same service as the web page. Input
serializers validate the shape; the services validate the meaning (with the statistics
engine's parser) and save; the answers are the output serializers of `serializers.py`."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.base import OrgScopedAPIView
from accounts.api.schema import ListSchema
from accounts.permissions import Perm
from evaluation.abtests import selectors, services, state
from evaluation.abtests.api.serializers import (
    ABDataSourceInputSerializer,
    ABDataSourceSerializer,
    ABQueryInputSerializer,
    ABQueryReviewInputSerializer,
    ABQuerySerializer,
    ABQueryVersionInputSerializer,
    ABTestAnalysisSerializer,
    ABTestCreateSerializer,
    ABTestDecisionInputSerializer,
    ABTestQueriesInputSerializer,
    ABTestSerializer,
    AnalysisOptionsSerializer,
    RawUploadInputSerializer,
    RawUploadSerializer,
    RefreshSerializer,
    ResultsInputSerializer,
    SampleSizeQuerySerializer,
    WarehouseInputSerializer,
)
from evaluation.models import ABDataSource, ABQuery, ABTest, ResultSource
from evaluation.uploads import UploadTooLarge, limit_upload_size
from mlprojects.models import Project
from mlprojects.site.limits import body_limit


class InvalidState(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The A/B test's status does not allow this."
    default_code = "invalid_state"


def _call(service, **kwargs) -> Any:
    """Run a service; a refused status change is 409, any other invalid input 400."""
    try:
        return service(**kwargs)
    except state.TransitionError as exc:
        raise InvalidState(" ".join(exc.messages)) from exc
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise exceptions.ValidationError(detail) from exc


def _abtests():
    return ABTest.objects.select_related("project").prefetch_related(
        "variants", "metrics__results", "decisions__analysis", "decisions__business_metric"
    )


class ProjectABTestListView(OrgScopedAPIView):
    """A project's A/B tests; POST designs a new one (a draft)."""

    org_filter = "project__organization"
    serializer_class = ABTestCreateSerializer

    def get_queryset(self):
        return self.scope_queryset(_abtests())

    def _project(self, project_id: int) -> Project:
        return get_object_or_404(Project.objects.filter(organization=self.org), pk=project_id)

    @extend_schema(
        responses=inline_serializer("ABTestList", fields={"results": ABTestSerializer(many=True)}),
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = self._project(project_id)
        abtests = self.get_queryset().filter(project=project)
        return Response({"results": ABTestSerializer(abtests, many=True).data})

    @extend_schema(responses={201: ABTestSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = self._project(project_id)
        serializer = ABTestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        abtest = _call(
            services.abtest_create, project=project, user=request.user, **serializer.validated_data
        )
        return Response(ABTestSerializer(self.get_queryset().get(pk=abtest.pk)).data, status=201)


class ABTestView(OrgScopedAPIView):
    org_filter = "project__organization"

    def get_queryset(self):
        return self.scope_queryset(_abtests())

    def get_abtest(self, pk: int) -> ABTest:
        return get_object_or_404(self.get_queryset(), pk=pk)


class ABTestDetailView(ABTestView):
    """A test with its design, its results and its latest decision; PUT replaces the
    design of a draft (409 once the test has started)."""

    serializer_class = ABTestSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(ABTestSerializer(self.get_abtest(pk)).data)

    @extend_schema(request=ABTestCreateSerializer, responses={200: ABTestSerializer})
    def put(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = ABTestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(
            services.abtest_update_design,
            abtest=abtest,
            user=request.user,
            **serializer.validated_data,
        )
        return Response(ABTestSerializer(self.get_abtest(pk)).data)


class _TransitionView(ABTestView):
    """A status change with no body: 200 with the test, 409 when the status refuses it."""

    serializer_class = ABTestSerializer
    service: Any = None

    @extend_schema(request=None, responses={200: ABTestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        _call(type(self).service, abtest=abtest, user=request.user)
        return Response(ABTestSerializer(self.get_abtest(pk)).data)


class ABTestStartView(_TransitionView):
    """Start a draft test: its design is frozen from now on."""

    service = staticmethod(services.abtest_start)


class ABTestStopView(_TransitionView):
    """Stop a running test: it can then be analysed and decided."""

    service = staticmethod(services.abtest_stop)


class ABTestDecideView(ABTestView):
    """Decide on the latest successful analysis (the test must be analyzed), naming the
    business metric the decision is argued on; the test is then final."""

    serializer_class = ABTestDecisionInputSerializer

    @extend_schema(responses={201: ABTestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = ABTestDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(services.abtest_decide, abtest=abtest, user=request.user, **serializer.validated_data)
        return Response(ABTestSerializer(self.get_abtest(pk)).data, status=201)


class ABTestResultsView(ABTestView):
    """Replace one metric's per-variant aggregates (every variant, control included)."""

    serializer_class = ResultsInputSerializer

    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = ResultsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        metric = serializer.validated_data["metric"]
        _call(
            state.abtest_results_set,
            abtest=abtest,
            user=request.user,
            results={metric: serializer.validated_data["variants"]},
            source=ResultSource.API,
        )
        data = ABTestSerializer(self.get_abtest(pk)).data
        return Response(
            {"metric": metric, "variants": data["results"][metric], "status": data["status"]},
            status=201,
        )


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The file is too large."


@body_limit("ABTEST_MAX_UPLOAD_BYTES")
class ABTestUploadListView(ABTestView):
    """POST (multipart) a file of raw per-user rows, as on the test's page: it is streamed
    to storage (at most ABTEST_MAX_UPLOAD_BYTES, else 413) and a worker aggregates it into
    the results of every metric (202; poll the upload for its status)."""

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = RawUploadInputSerializer

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body, so an oversize file is refused while streaming.
        limit_upload_size(request, settings.ABTEST_MAX_UPLOAD_BYTES, "ABTEST_MAX_UPLOAD_BYTES")
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A session's CSRF check reads the body: an oversize file can surface here.
        try:
            super().initial(request, *args, **kwargs)
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None

    @extend_schema(
        request={"multipart/form-data": RawUploadInputSerializer},
        responses={202: RawUploadSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        try:
            serializer = RawUploadInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            upload = _call(
                services.abtest_raw_upload_create,
                abtest=abtest,
                user=request.user,
                **serializer.validated_data,
            )
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        return Response(RawUploadSerializer(upload).data, status=202)


class ABTestUploadDetailView(ABTestView):
    """A raw upload's status: queued, running (with rows read and progress), succeeded
    (the test's results were replaced) or failed (with the reason)."""

    serializer_class = RawUploadSerializer

    def get(self, request: Request, pk: int, upload_id: int) -> Response:
        upload = selectors.abtest_upload_get(abtest=self.get_abtest(pk), pk=upload_id)
        return Response(RawUploadSerializer(upload).data)


class ABTestAnalyzeView(ABTestView):
    """Queue a new analysis version (202); the worker fills it in."""

    serializer_class = AnalysisOptionsSerializer

    @extend_schema(responses={202: ABTestAnalysisSerializer})
    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = AnalysisOptionsSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        analysis = _call(
            services.abtest_analysis_request,
            abtest=abtest,
            user=request.user,
            options=dict(serializer.validated_data),
        )
        analysis.refresh_from_db()
        return Response(ABTestAnalysisSerializer(analysis).data, status=202)


class ABTestAnalysisView(ABTestView):
    """The latest analysis version (queued, running, succeeded or failed)."""

    serializer_class = ABTestAnalysisSerializer

    def get(self, request: Request, pk: int) -> Response:
        analysis = selectors.abtest_latest_analysis(abtest=self.get_abtest(pk))
        if analysis is None:
            raise exceptions.NotFound("This A/B test has not been analysed yet.")
        return Response(ABTestAnalysisSerializer(analysis).data)


class ABDataSourceListView(OrgScopedAPIView):
    """The organization's warehouse data sources (URLs masked); POST connects one — an
    organization admin's step, as on the warehouse pages (it stores credentials)."""

    org_filter = "organization"
    write_perm = Perm.MANAGE_MEMBERS
    serializer_class = ABDataSourceInputSerializer

    def get_queryset(self):
        return self.scope_queryset(ABDataSource.objects.all())

    @extend_schema(
        responses=inline_serializer(
            "ABDataSourceList", fields={"results": ABDataSourceSerializer(many=True)}
        )
    )
    def get(self, request: Request) -> Response:
        return Response({"results": ABDataSourceSerializer(self.get_queryset(), many=True).data})

    @extend_schema(responses={201: ABDataSourceSerializer})
    def post(self, request: Request) -> Response:
        serializer = ABDataSourceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = _call(
            services.data_source_create,
            org=self.org,
            user=request.user,
            **serializer.validated_data,
        )
        return Response(ABDataSourceSerializer(source).data, status=201)


# --- saved warehouse queries: the same actions as the organization's warehouse pages ------


class ABQueryView(OrgScopedAPIView):
    org_filter = "organization"

    def get_queryset(self):
        return self.scope_queryset(selectors.query_list(org=self.org))

    def get_query(self, query_id: int) -> ABQuery:
        return get_object_or_404(self.get_queryset(), pk=query_id)

    def answer(self, query_id: int, status: int = 200) -> Response:
        return Response(ABQuerySerializer(self.get_query(query_id)).data, status=status)


class ABQueryListView(ABQueryView):
    """The organization's saved exposure queries and metric definitions, each with its
    versions; POST saves a new one as version 1, a draft that another member reviews."""

    serializer_class = ABQueryInputSerializer
    schema = ListSchema()

    @extend_schema(
        responses=inline_serializer("ABQueryList", fields={"results": ABQuerySerializer(many=True)})
    )
    def get(self, request: Request) -> Response:
        return Response({"results": ABQuerySerializer(self.get_queryset(), many=True).data})

    @extend_schema(responses={201: ABQuerySerializer})
    def post(self, request: Request) -> Response:
        serializer = ABQueryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query = _call(
            services.query_create, org=self.org, user=request.user, **serializer.validated_data
        )
        return self.answer(query.pk, status=201)


class ABQueryDetailView(ABQueryView):
    """A saved query with its versions, newest first, and which version experiments run."""

    serializer_class = ABQuerySerializer

    def get(self, request: Request, query_id: int) -> Response:
        return self.answer(query_id)


class ABQueryVersionListView(ABQueryView):
    """Save a new version of a query: a draft submitted for review. The approved version
    keeps running until another member approves this one."""

    serializer_class = ABQueryVersionInputSerializer

    @extend_schema(responses={201: ABQuerySerializer})
    def post(self, request: Request, query_id: int) -> Response:
        query = self.get_query(query_id)
        serializer = ABQueryVersionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(
            services.query_version_create,
            query=query,
            user=request.user,
            **serializer.validated_data,
        )
        return self.answer(query.pk, status=201)


class ABQueryVersionReviewView(ABQueryView):
    """Review a draft version: `approve` (experiments run it from their next refresh) or
    `request_changes` (with a comment). Its author may not review it."""

    serializer_class = ABQueryReviewInputSerializer

    @extend_schema(responses={200: ABQuerySerializer})
    def post(self, request: Request, query_id: int, number: int) -> Response:
        query = self.get_query(query_id)
        version = selectors.query_version_get(query=query, number=number)
        serializer = ABQueryReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(
            services.query_version_review,
            version=version,
            user=request.user,
            **serializer.validated_data,
        )
        return self.answer(query.pk)


class _ABTestSettingView(ABTestView):
    """PUT one setting of a test through its service; answers the test."""

    serializer_class: type[serializers.Serializer]
    service: Any

    @extend_schema(responses={200: ABTestSerializer})
    def put(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        _call(type(self).service, abtest=abtest, user=request.user, **serializer.validated_data)
        return Response(ABTestSerializer(self.get_abtest(pk)).data)


class ABTestWarehouseView(_ABTestSettingView):
    """Point the test at a data source with its exposure and metric queries."""

    serializer_class = WarehouseInputSerializer
    service = services.abtest_warehouse_set


class ABTestQueriesView(_ABTestSettingView):
    """Point the test at saved queries: an exposure query and, per metric, a definition of
    the same type, all on one data source. Refreshes run each one's approved version."""

    serializer_class = ABTestQueriesInputSerializer
    service = services.abtest_queries_set


class ABTestRefreshView(ABTestView):
    """POST re-runs the test's warehouse queries (202); GET the latest refresh."""

    serializer_class = RefreshSerializer

    @extend_schema(request=None, responses={202: RefreshSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refresh = _call(
            services.abtest_refresh_request, abtest=self.get_abtest(pk), user=request.user
        )
        refresh.refresh_from_db()
        return Response(RefreshSerializer(refresh).data, status=202)

    def get(self, request: Request, pk: int) -> Response:
        refresh = self.get_abtest(pk).refreshes.first()
        if refresh is None:
            raise exceptions.NotFound("This A/B test has not been refreshed yet.")
        return Response(RefreshSerializer(refresh).data)


class SampleSizeView(APIView):
    """Users per variant (and in total, and days) to detect the minimum effect: binomial
    with `baseline`, continuous with `mean` and `sd`; `relative=false` for an absolute MDE."""

    @extend_schema(parameters=[SampleSizeQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        query = SampleSizeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            plan = services.sample_size_plan(
                metric_type=data["type"],
                baseline=data.get("baseline"),
                mean=data.get("mean"),
                sd=data.get("sd"),
                mde=data["mde"],
                mde_type="relative" if data["relative"] else "absolute",
                alpha=data["alpha"],
                power=data["power"],
                variants=data["variants"],
                daily_users=data.get("daily_users"),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"non_field_errors": exc.messages}) from exc
        return Response(plan)
