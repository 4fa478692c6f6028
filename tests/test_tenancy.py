"""The tenancy sweep: every named URL of the project, reversed with another organization's
objects, answers 404 to a logged-in member of a different organization — for GET and
for POST. New URLs are picked up from the URL conf automatically; a URL whose arguments
this file cannot fill fails `test_every_url_argument_has_a_foreign_object` until a
foreign object is registered in `foreign_kwargs` below."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from accounts.models import Membership
from accounts.services import api_token_create
from evaluation.models import Experiment, Run
from evaluation.registry import services as registry_services
from evaluation.registry.mlflow import RegistryEndpoint
from evaluation.runs import services as run_services
from evaluation.runs.mlflow.views import MlflowEndpoint
from mlprojects.lifecycle.selectors import cycle_get
from mlprojects.models import Finding, Hypothesis
from tests.factories import RunFactory

# URLs that are not organization data, with the reason they are exempt.
PUBLIC = {
    "home": "redirects to the caller's own organization",
    "healthz": "service health, no tenant data",
    "readyz": "service health, no tenant data",
    "worker_status": "service health, no tenant data",
    "api-schema": "the API description",
    "api-docs": "the API description",
    "api-me": "the caller's own account",
    "accounts:signup": "account page",
    "accounts:login": "account page",
    "accounts:logout": "account page",
    "accounts:password_change": "the caller's own account",
    "accounts:password_change_done": "the caller's own account",
    "accounts:password_reset": "account page",
    "accounts:password_reset_done": "account page",
    "accounts:password_reset_confirm": "signed token link, checked by Django",
    "accounts:password_reset_complete": "account page",
    "accounts:invitation": "secret token link, tested in tests/accounts",
    "accounts:organization_create": "creates a new organization of the caller",
    "api-sample-size": "a calculator over the query's own numbers, no tenant data",
    "accounts:notifications": "the caller's own notifications (tested in tests/accounts)",
    "accounts:notification_count": "the caller's own unread count",
    "accounts:notification_settings": "the caller's own account",
    "prototype_share:page": "secret token link, tested in tests/evaluation/prototypes",
}
# List endpoints whose answer is scoped to the caller's organization (tested for leaks
# in tests/test_tenancy_lists.py rather than by a foreign id).
LISTS = {
    "api-project-list",
    "api-analysis-list",
    "api-data-source-list",
    "api-abtest-data-source-list",
    "api-abtest-query-list",
}

KWARG = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def named_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            if p.namespace == "admin":
                continue
            yield from named_patterns(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            route = prefix + str(p.pattern)
            yield name, route, [m.group("name") for m in KWARG.finditer(route)]


# The MLflow-compatible endpoint takes token authentication only and its ids in the query or
# body, not in the URL: it has a sweep of its own below (test_mlflow_sweep_…).
MLFLOW = sorted(name for name, _, _ in named_patterns() if name.startswith("mlflow:"))
PUBLIC.update({name: "MLflow endpoint: swept with a token below" for name in MLFLOW})

ALL_PATTERNS = sorted({(n, tuple(k)) for n, _, k in named_patterns()})
SCOPED = [(n, k) for n, k in ALL_PATTERNS if n not in PUBLIC and n not in LISTS]
# URLs naming an object of the organization besides the organization itself.
OBJECT_SCOPED = [(n, k) for n, k in SCOPED if "org_slug" in k and len(k) > 1]


@pytest.fixture
def foreign_kwargs(
    other_org,
    other_project,
    other_invitation,
    outsider,
    other_evaluation,
    other_drift_report,
    other_alert,
    other_abtest,
    other_analysis,
    other_data_source,
    other_offering,
    other_use_case,
    other_interview,
    other_review,
    other_warehouse_query,
):
    """URL arguments naming the other organization's objects, by argument name; per-URL
    overrides where a generic name such as `pk` needs a specific object."""
    membership = Membership.objects.get(organization=other_org, user=outsider)
    cycle = cycle_get(project=other_project)
    hypothesis = Hypothesis.objects.create(cycle=cycle, statement="Their secret hypothesis")
    other_token, _ = api_token_create(org=other_org, user=outsider, name="foreign")
    other_run = RunFactory(project=other_project, name="secret run")
    prototype = _foreign_prototype(other_org, other_project, outsider)
    window = _foreign_window(other_project)
    finding = Finding.objects.create(cycle=cycle, what="Their secret finding")
    by_name = {
        "org_slug": other_org.slug,
        "project_slug": other_project.slug,
        "project_id": other_project.pk,
        "membership_id": membership.pk,
        "invitation_id": other_invitation.pk,
        "analysis_slug": other_analysis.slug,
        "analysis_id": other_analysis.pk,
        "data_source_id": other_data_source.pk,
        "offering_id": other_offering.pk,
        "use_case_id": other_use_case.pk,
        "interview_id": other_interview.pk,
        "token_id": other_token.pk,
        "run_id": other_run.pk,
        "key": "f1",
        "path": "model/MLmodel",
        "abtest_id": other_abtest.pk,
        "upload_id": other_abtest.raw_uploads.get().pk,
        # Words naming a step, section or kind of item are not objects; with the other
        # organization's project they must still answer 404.
        "step": "phenomenon",
        "section": "phenomenon",
        "kind": "hypothesis",
        "item_id": hypothesis.pk,
        "evaluation_id": other_evaluation.pk,
        "alert_id": other_alert.pk,
        "finding_id": finding.pk,
        "window_id": window.pk,
        "version": other_review["proposal"].version,
        "comment_id": other_review["comment"].pk,
        "notification_id": other_review["notification"].pk,
        "source_id": other_warehouse_query.data_source_id,
        "query_id": other_warehouse_query.pk,
        "number": 1,
        **prototype,
    }
    by_url = {
        **{
            name: {"pk": other_abtest.pk}
            for name in (
                "api-abtest-detail",
                "api-abtest-results",
                "api-abtest-analyze",
                "api-abtest-analysis",
                "api-abtest-start",
                "api-abtest-stop",
                "api-abtest-decide",
                "api-abtest-warehouse",
                "api-abtest-queries",
                "api-abtest-refresh",
                "api-abtest-upload-list",
                "api-abtest-upload-detail",
            )
        },
        "api-project-runs": {"pk": other_project.pk},
        "api-project-speed-vs-accuracy": {"pk": other_project.pk},
        "api-run-detail": {"pk": other_run.pk},
        "api-run-log-batch": {"pk": other_run.pk},
        "api-run-metric-history": {"pk": other_run.pk},
        # `analysis_id` names a business analysis by default; here an A/B test's analysis.
        "abtests:analysis": {"analysis_id": other_abtest.analyses.get().pk},
        "api-analysis-detail": {"pk": other_analysis.pk},
        "api-data-source-detail": {"pk": other_data_source.pk},
        "api-evaluation-list": {"pk": other_project.pk},
        "api-evaluation-detail": {"pk": other_evaluation.pk},
        "api-evaluation-file": {"pk": other_evaluation.pk},
        "api-drift-report-create": {"pk": other_project.pk},
        "api-drift-report-detail": {"pk": other_drift_report.pk},
        "api-deployment-list": {"pk": other_project.pk},
        "api-metric-value-list": {"pk": other_project.pk},
        "api-alert-list": {"pk": other_project.pk},
        "api-finding-list": {"pk": other_project.pk},
        "api-finding-decision": {"pk": other_project.pk, "finding_id": finding.pk},
        "api-prediction-ingest": {"pk": other_project.pk},
        "api-label-ingest": {"pk": other_project.pk},
        "api-monitoring-window-list": {"pk": other_project.pk},
        "api-alert-acknowledge": {"pk": other_alert.pk},
        "api-alert-resolve": {"pk": other_alert.pk},
        "api-prototype-predict": {"pk": other_project.pk},
        "api-prototype-feedback": {"pk": other_project.pk},
    }
    return by_name, by_url


def _foreign_window(other_project):
    """A monitoring window of the other organization's project."""
    from datetime import UTC, datetime

    from evaluation.monitoring.models import MonitoringWindow

    start = datetime(2026, 1, 1, tzinfo=UTC)
    drift = {"columns": [{"column": "amount", "type": "numeric", "drifted": True}]}
    return MonitoringWindow.objects.create(
        project=other_project,
        size="day",
        start=start,
        end=start + timedelta(days=1),
        is_reference=True,
        result={"drift": drift},
        computed_at=start,
    )


def _foreign_prototype(other_org, other_project, outsider) -> dict:
    """The other organization's prototype objects, by URL argument."""
    from evaluation.prototypes import services as prototypes
    from evaluation.prototypes.models import AllowedHost, PrototypeCall

    host = AllowedHost.objects.create(organization=other_org, host="secret.example.com")
    endpoint = prototypes.endpoint_save(
        project=other_project, user=outsider, values={"url": "https://secret.example.com/"}
    )
    example = endpoint.examples.create(name="secret", inputs={"x": 1})
    call = PrototypeCall.objects.create(project=other_project, user=outsider, inputs={"x": 1})
    link, _ = prototypes.share_link_create(project=other_project, user=outsider, days=1)
    return {"host_id": host.pk, "example_id": example.pk, "call_id": call.pk, "link_id": link.pk}


def build_kwargs(name, kwarg_names, foreign):
    by_name, by_url = foreign
    values = {**by_name, **by_url.get(name, {})}
    return {k: values[k] for k in kwarg_names}


def test_every_url_is_named_and_classified():
    assert SCOPED, "the sweep found no organization URLs at all"
    for name, route, _ in named_patterns():
        assert name, f"URL {route} has no name, so the sweep cannot check it"


@pytest.mark.parametrize(("name", "kwarg_names"), SCOPED, ids=[n for n, _ in SCOPED])
def test_every_url_argument_has_a_foreign_object(name, kwarg_names, foreign_kwargs):
    by_name, by_url = foreign_kwargs
    known = set(by_name) | set(by_url.get(name, {}))
    missing = [k for k in kwarg_names if k not in known]
    assert not missing, f"{name}: register a foreign object for {missing} in foreign_kwargs"
    assert kwarg_names, f"{name} takes no argument: add it to PUBLIC or LISTS with a reason"


@pytest.mark.parametrize(("name", "kwarg_names"), SCOPED, ids=[n for n, _ in SCOPED])
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_outsider_gets_404_on_other_orgs_url(
    name, kwarg_names, method, foreign_kwargs, member, client_for
):
    url = reverse(name, kwargs=build_kwargs(name, kwarg_names, foreign_kwargs))
    response = getattr(client_for(member), method)(url, content_type="application/json")
    # 405 (the route has no such method) is answered before any lookup and reveals nothing.
    assert response.status_code in (404, 405), f"{method.upper()} {url} → {response.status_code}"


@pytest.mark.parametrize(("name", "kwarg_names"), OBJECT_SCOPED, ids=[n for n, _ in OBJECT_SCOPED])
def test_member_gets_404_for_other_orgs_object_under_own_org(
    name, kwarg_names, foreign_kwargs, org, owner, client_for
):
    """Own organization slug, foreign object id: the object lookup is scoped too (asked by
    an owner, who passes every role check, so only the scope can answer 404)."""
    kwargs = build_kwargs(name, kwarg_names, foreign_kwargs)
    kwargs["org_slug"] = org.slug
    url = reverse(name, kwargs=kwargs)
    for method in ("get", "post"):
        response = getattr(client_for(owner), method)(url)
        assert response.status_code in (404, 405), f"{method.upper()} {url}"


@pytest.mark.parametrize(("name", "kwarg_names"), SCOPED, ids=[n for n, _ in SCOPED])
def test_anonymous_user_never_sees_org_data(name, kwarg_names, foreign_kwargs, client):
    url = reverse(name, kwargs=build_kwargs(name, kwarg_names, foreign_kwargs))
    response = client.get(url)
    assert response.status_code in (302, 401, 403, 404)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]


API_SCOPED = [(n, k) for n, k in SCOPED if n.startswith("api-")]


@pytest.mark.parametrize(("name", "kwarg_names"), API_SCOPED, ids=[n for n, _ in API_SCOPED])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_a_write_token_of_another_org_gets_404_on_every_api_route(
    name, kwarg_names, method, foreign_kwargs, org, owner, client
):
    """The same sweep over the API with `Authorization: Bearer`: an owner's write token of
    one organization never reaches the other organization's objects."""
    _, raw = api_token_create(org=org, user=owner, name="sweep", scope="write")
    url = reverse(name, kwargs=build_kwargs(name, kwarg_names, foreign_kwargs))
    response = getattr(client, method)(
        url, data={}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code in (404, 405), f"{method.upper()} {url} → {response.status_code}"
    if response.status_code == 404:
        assert response.json()["error"]["status"] == 404


# -- the MLflow endpoint --------------------------------------------------------------------
# Every `/mlflow` URL is an MlflowEndpoint, whose request fields the sweep fills with the
# other organization's ids, or is exempt here with its reason.
MLFLOW_EXEMPT = {
    "mlflow:ui-link": "a browser page; another org's run is a 404 (tests/evaluation/runs)",
    "mlflow:not-found": "answers ENDPOINT_NOT_FOUND to every path, names nothing",
}
# Fields that name an object, by field name: what the sweep sends.
MLFLOW_IDS = {
    "run_id",
    "run_uuid",
    "experiment_id",
    "experiment_ids",
    "experiment_name",
    "path",
}
# Registry endpoints name their registered model, version and alias by `name`, `version`,
# `alias`, and a version's `source`: the sweep sends the other organization's.
REGISTRY_IDS = {"name", "version", "alias", "source"}
# Creates by name make the caller's own registered model (names are per organization).
MLFLOW_OWN_CREATES = {"mlflow:registered-models-create"}
# Arguments in the URL (logged models, artifact paths), by name: what the sweep puts there.
MLFLOW_URL_IDS = {"model_id": "model_id", "path": "artifact_path", "tag_key": None}
SAMPLES = {"string": "x", "int64": 1, "int32": 1, "double": 1.0, "bool": False}


def _mlflow_kwargs(name: str, foreign: dict | None = None) -> dict:
    """The URL arguments of `name`: the other organization's objects (or placeholders)."""
    route = next(r for n, r, _ in named_patterns() if n == name)
    kwargs = {}
    for kwarg in (m.group("name") for m in KWARG.finditer(route)):
        source = MLFLOW_URL_IDS.get(kwarg)
        kwargs[kwarg] = foreign[source] if foreign and source else "x"
    return kwargs


def _mlflow_view(name: str):
    return resolve(reverse(name, kwargs=_mlflow_kwargs(name)))


def _sample(spec):
    """A value of `spec`'s type for a field the sweep does not care about."""
    if spec.kind == "message":
        return {k: _sample(f) for k, f in spec.fields.items() if f.required}
    if spec.kind == "enum":
        return spec.choices[-1]
    return SAMPLES[spec.kind]


def _mlflow_body(view_class, foreign: dict) -> dict:
    body = {}
    registry = issubclass(view_class, RegistryEndpoint)
    for field, spec in view_class.fields.items():
        if registry and field in REGISTRY_IDS:
            body[field] = foreign[f"registered_{field}"]
        elif field in MLFLOW_IDS:
            body[field] = foreign["artifact_path" if field == "path" else field]
        elif spec.required:
            body[field] = [_sample(spec)] if spec.repeated else _sample(spec)
    return body


@pytest.fixture
def foreign_mlflow(other_org, other_project, outsider, settings, tmp_path):
    """The other organization's run, experiment, logged model and artifact, by MLflow field."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from evaluation.runs import artifacts

    settings.MEDIA_ROOT = tmp_path / "media"
    other_run = RunFactory(project=other_project, name="secret run", params={"p": "secret"})
    experiment = run_services.experiment_for(project=other_project)
    model = run_services.logged_model_create(
        project=other_project, user=outsider, name="secret model", source_run=other_run
    )
    prefix = artifacts.run_prefix(
        org_id=other_org.pk, project_id=other_project.pk, run_id=other_run.pk
    )
    default_storage.save(artifacts.storage_name([*prefix, "f.txt"]), ContentFile(b"secret"))
    registered = registry_services.registered_model_create(
        org=other_org, user=outsider, name="secret-registered"
    )
    source = registry_services.resolve_source(org=other_org, source=f"models:/{model.pk}")
    registry_services.version_create(
        model=registered, user=outsider, source=source, source_text=f"models:/{model.pk}"
    )
    registry_services.alias_set(
        model=registered, alias="champion", version=registered.versions.get()
    )
    return {
        "registered_name": registered.name,
        "registered_version": "1",
        "registered_alias": "champion",
        "registered_source": f"models:/{model.pk}",
        "run_id": str(other_run.pk),
        "run_uuid": str(other_run.pk),
        "experiment_id": str(other_project.pk),
        "experiment_ids": [str(other_project.pk)],
        "experiment_name": experiment.name,
        "model_id": model.pk,
        "artifact_path": "/".join([*prefix, "f.txt"]),
    }


def _foreign_state(other_org) -> list:
    from django.core.files.storage import default_storage

    from evaluation.models import LoggedModel, ModelVersion, RegisteredModel
    from evaluation.runs import artifacts

    runs = Run.objects.filter(project__organization=other_org).order_by("pk")
    experiments = Experiment.objects.filter(organization=other_org).order_by("pk")
    models = LoggedModel.objects.filter(project__organization=other_org).order_by("pk")
    registered = RegisteredModel.objects.filter(organization=other_org).order_by("pk")
    versions = ModelVersion.objects.filter(registered_model__organization=other_org)
    stored = artifacts.artifact_walk(segments=[str(other_org.pk)], limit=100)
    return [
        list(runs.values_list("name", "params", "tags", "latest_metrics", "deleted_at")),
        list(experiments.values_list("name", "tags", "deleted_at")),
        list(models.values_list("name", "params", "tags", "status", "metrics", "deleted_at")),
        list(registered.values_list("name", "description", "tags", "aliases", "updated_at")),
        list(versions.order_by("pk").values_list("version", "description", "tags", "stage")),
        [(path, entry.size) for path, entry in stored],
        default_storage.exists(artifacts.ROOT),
    ]


@pytest.mark.parametrize("name", MLFLOW)
def test_every_mlflow_url_is_swept_or_exempt(name):
    view = _mlflow_view(name).func
    view_class = getattr(view, "view_class", None)
    assert name in MLFLOW_EXEMPT or (
        view_class is not None and issubclass(view_class, MlflowEndpoint)
    ), f"{name}: make it an MlflowEndpoint (with `fields`) or exempt it in MLFLOW_EXEMPT"


SWEPT = [
    (name, method)
    for name in MLFLOW
    if name not in MLFLOW_EXEMPT
    for method in _mlflow_view(name).func.view_class.http_method_names
    if method not in ("head", "options")
]


@pytest.mark.parametrize(("name", "method"), SWEPT)
def test_mlflow_sweep_another_orgs_ids_do_not_exist(
    name, method, foreign_mlflow, org, owner, other_org, client
):
    """An owner's write token of one organization sends the other organization's run,
    experiment, logged model and artifact ids to every MLflow endpoint and method: each
    answers RESOURCE_DOES_NOT_EXIST (or, for a search, finds nothing of theirs), and
    nothing of theirs changes."""
    _, raw = api_token_create(org=org, user=owner, name="sweep", scope="write")
    kwargs = _mlflow_kwargs(name, foreign_mlflow)
    view_class = _mlflow_view(name).func.view_class
    body = _mlflow_body(view_class, foreign_mlflow)
    before = _foreign_state(other_org)
    url = reverse(name, kwargs=kwargs)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if method == "get":
        response = client.get(url, body, **auth)
    else:
        response = client.generic(
            method.upper(), url, json.dumps(body), content_type="application/json", **auth
        )
    answer = response.json()
    names_an_object = (MLFLOW_IDS & set(body) - {"experiment_ids"}) or (
        {"model_id", "path"} & set(kwargs)
    )
    if issubclass(view_class, RegistryEndpoint):
        names_an_object = bool(REGISTRY_IDS & set(body))
    if name in MLFLOW_OWN_CREATES:  # the same name, made in the caller's organization
        assert response.status_code == 200, f"{name} → {response.status_code} {answer}"
        assert registry_services.RegisteredModel.objects.filter(
            organization=org, name=body["name"]
        ).exists()
    elif names_an_object:
        assert (response.status_code, answer.get("error_code")) == (
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ), f"{method} {name} → {response.status_code} {answer}"
    else:  # a search, or a create in the caller's own organization
        assert response.status_code in (200, 400), f"{name} → {response.status_code} {answer}"
        text = json.dumps(answer)
        assert "secret" not in text and foreign_mlflow["experiment_name"] not in text
    assert _foreign_state(other_org) == before
