"""MLflow's search grammar through the unchanged client, with the expectations of MLflow's
own store tests (tests/store/tracking/test_sqlalchemy_store.py: test_search_params,
test_search_tags, test_search_metrics, test_search_attrs, test_order_by_*, the experiment
search tests): the same inputs, the same answers, from one organization's runs."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from evaluation.models import Experiment
from evaluation.runs import services
from evaluation.runs.services import DatasetInput, MetricPoint
from tests.factories import ProjectFactory, RunFactory

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def search(project, filter_string: str = "", **kwargs) -> list[str]:
    """Run names found in `project`, in the order MLflow answers."""
    found = MlflowClient().search_runs([str(project.pk)], filter_string, **kwargs)
    return [r.info.run_name for r in found]


def run(project, name: str, *, start: int = 0, params=None, tags=None, metrics=(), **fields):
    """A run started at `start` ms, with params, tags and [(key, value, timestamp, step)]."""
    created = RunFactory(
        project=project,
        name=name,
        started_at=at(start),
        params=params or {},
        tags=tags or {},
        **fields,
    )
    points = [MetricPoint(k, v, step=s, timestamp=t) for k, v, t, s in metrics]
    return services.run_log_batch(run=created, metrics=points) if points else created


# -- params, tags, metrics ------------------------------------------------------------------
@pytest.fixture
def two_runs(project):
    run(
        project,
        "r1",
        start=2,
        params={"generic_param": "p_val", "generic_2": "some value", "p_a": "abc"},
        tags={"generic_tag": "p_val", "generic_2": "some value", "p_a": "abc"},
    )
    run(
        project,
        "r2",
        start=1,
        params={"generic_param": "p_val", "generic_2": "another value", "p_b": "ABC"},
        tags={"generic_tag": "p_val", "generic_2": "another value", "p_b": "ABC"},
    )


@pytest.mark.parametrize("entity", ["params", "tags"])
@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("{e}.generic_param = 'p_val'", ["r1", "r2"]),
        ("{e}.generic_2 = 'some value'", ["r1"]),
        ("{e}.generic_param = 'wrong_val'", []),
        ("{e}.generic_param != 'p_val'", []),
        ("{e}.generic_param != 'wrong_val'", ["r1", "r2"]),
        ("{e}.p_a = 'ABC'", []),
        ("{e}.p_a != 'ABC'", ["r1"]),  # r2 has no p_a: it satisfies no comparison
        ("{e}.generic_2 LIKE '%other%'", ["r2"]),
        ("{e}.generic_2 LIKE 'other%'", []),
        ("{e}.generic_2 LIKE '%Other%'", []),  # LIKE is case-sensitive
        ("{e}.generic_2 ILIKE '%Other%'", ["r2"]),
        ("{e}.generic_2 LIKE 'some_value'", ["r1"]),  # _ is any one character
        ("{e}.p_a IS NULL", ["r2"]),
        ("{e}.p_a IS NOT NULL", ["r1"]),
        ('{e}.p_b = "ABC"', ["r2"]),  # double quotes work too
        ("{e}.generic_2 ILIKE '%Other%' and {e}.generic_param = 'p_val'", ["r2"]),
    ],
)
def test_params_and_tags_are_searched_as_in_mlflow(
    tracking, project, two_runs, entity, clause, expected
):
    name = "generic_param" if entity == "params" else "generic_tag"
    assert search(project, clause.format(e=entity).replace("generic_param", name)) == expected


@pytest.fixture
def metric_runs(project):
    run(
        project,
        "r1",
        start=2,
        metrics=[("common", 1.0, 1, 0), ("measure_a", 1.0, 1, 0), ("m_a", 2.0, 2, 0)],
    )
    run(
        project,
        "r2",
        start=1,
        metrics=[
            ("common", 1.0, 1, 0),
            ("measure_a", 200.0, 2, 0),
            ("measure_a", 400.0, 3, 0),
            ("m_b", 3.0, 2, 0),
            ("m_b", 4.0, 8, 0),
            ("m_b", 8.0, 3, 0),
        ],
    )


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.common = 1.0", ["r1", "r2"]),
        ("metrics.common > 0.0", ["r1", "r2"]),
        ("metrics.common <= 4", ["r1", "r2"]),
        ("metrics.common != 1.0", []),
        ("metrics.common >= 3.0", []),
        ("metrics.measure_a < 50.0", ["r1"]),
        ("metrics.measure_a != -12.0", ["r1", "r2"]),
        ("metrics.measure_a = 400.0", ["r2"]),
        ("metrics.m_b > 5.0", []),  # 8.0 was logged, but not last
        ("metrics.m_b = 4.0", ["r2"]),  # the value of the latest timestamp
        ("metrics.m_a > 1.0", ["r1"]),
        ("metrics.common = 1.0 and metrics.m_a > 1.0", ["r1"]),
        ("metrics.`common` > 0.5 AND metrics.m_a > 100.0", []),
    ],
)
def test_metrics_are_searched_by_their_latest_value(
    tracking, project, metric_runs, clause, expected
):
    assert search(project, clause) == expected


def test_a_nan_metric_satisfies_only_not_equal(tracking, project):
    run(project, "nan", start=3, metrics=[("x", math.nan, 0, 0)])
    run(project, "inf", start=2, metrics=[("x", math.inf, 0, 0)])
    run(project, "one", start=1, metrics=[("x", 1.0, 0, 0)])
    run(project, "none", start=0)
    assert search(project, "metrics.x != 1") == ["nan", "inf"]
    assert search(project, "metrics.x > 0") == ["inf", "one"]
    assert search(project, "metrics.x >= 1e308") == ["inf"]
    assert search(project, "metrics.x < 0") == []


# -- attributes -----------------------------------------------------------------------------
def test_status_is_compared_as_mlflows_status_names(tracking, project):
    run(project, "running", start=2)
    run(project, "failed", start=1, status="failed")
    assert search(project, "attribute.status = 'RUNNING'") == ["running"]
    assert search(project, "attributes.status = 'FAILED'") == ["failed"]
    assert search(project, "attribute.status != 'blah'") == ["running", "failed"]
    assert search(project, "attribute.status = 'KILLED'") == []
    assert search(project, "status IN ('FAILED', 'KILLED')") == ["failed"]
    assert search(project, "status LIKE 'RUN%'") == ["running"]


@pytest.mark.parametrize(
    "clause",
    [
        "attributes.run_name = 'run_name1'",
        "attributes.`Run name` = 'run_name1'",
        "attributes.`run name` = 'run_name1'",
        "run_name = 'run_name1'",
        "tags.`mlflow.runName` = 'run_name1'",
        "tags.\"mlflow.runName\" LIKE '%_name1'",
        "tags.mlflow.runName ILIKE 'RUN_NAME1'",
    ],
)
def test_run_names_are_searched_under_every_alias(tracking, project, clause):
    run(project, "run_name1", start=2)
    run(project, "run_name2", start=1)
    assert search(project, clause) == ["run_name1"]


def test_run_ids_are_searched_one_or_several_at_a_time(tracking, project):
    first, second = run(project, "first", start=1), run(project, "second", start=2)
    one, two = str(first.pk), str(second.pk)
    assert search(project, f"attributes.run_id = '{one}'") == ["first"]
    assert search(project, f"attributes.run_id != '{one}'") == ["second"]
    assert search(project, f"attributes.run_id IN ('{one}')") == ["first"]
    assert search(project, f"attributes.run_id IN ('{one}','{two}')") == ["second", "first"]
    assert search(project, f"attributes.run_id NOT IN ('{one}',  '{two}')") == []
    assert search(project, f"run_name = 'first' AND run_id IN ('{one}')") == ["first"]
    assert search(project, "attributes.run_id = 'not-a-number'") == []


def test_start_and_end_times_are_compared_in_milliseconds(tracking, project):
    run(project, "one", start=1, ended_at=at(10))
    run(project, "two", start=2)
    assert search(project, "attributes.start_time > 0") == ["two", "one"]
    assert search(project, "attributes.created > 1") == ["two"]
    assert search(project, "attributes.Created > 2") == []
    assert search(project, "attributes.start_time = 1") == ["one"]
    assert search(project, "attributes.start_time >= 1.5") == ["two"]
    assert search(project, "attributes.end_time <= 10") == ["one"]
    assert search(project, "attributes.end_time != 5") == ["one"]  # no end time: no match


def test_user_ids_are_searched(tracking, project):
    run(project, "mine", start=1, tags={"mlflow.user": "ana"})
    run(project, "theirs", start=2, tags={"mlflow.user": "bo"})
    assert search(project, "attributes.user_id = 'ana'") == ["mine"]


def test_runs_are_searched_by_the_datasets_they_used(tracking, project):
    def used(name, *inputs):
        services.run_log_inputs(
            run=run(project, name, start=len(name)),
            inputs=[
                DatasetInput(n, d, "s", "src", tags=(("mlflow.data.context", c),))
                for n, d, c in inputs
            ],
        )

    used("r1", ("name1", "digest1", "train"), ("name2", "digest2", "eval"))
    used("r22", ("name1", "digest1", "train"), ("name3", "digest3", "eval"))
    used("r333", ("name2", "digest2", "test"))
    assert search(project, "dataset.name = 'name1'") == ["r22", "r1"]
    assert search(project, "dataset.digest = 'digest2'") == ["r333", "r1"]
    assert search(project, "dataset.context = 'train'") == ["r22", "r1"]
    assert search(project, "dataset.context = 'test' and dataset.name = 'name2'") == ["r333"]
    assert search(project, "datasets.name IN ('name1', 'name2')") == ["r333", "r22", "r1"]
    assert search(project, "datasets.name LIKE 'Name%'") == []
    assert search(project, "datasets.name ILIKE 'Name%'") == ["r333", "r22", "r1"]


# -- ordering and pages ---------------------------------------------------------------------
@pytest.fixture
def ordered_runs(project):
    # MLflow's test_order_by_metric_tag_param: x is None, nan, inf, -inf, -1000, 0, 0, 1000.
    for x, y in zip(
        [None, "nan", "inf", "-inf", "-1000", "0", "0", "1000"], "12345678", strict=True
    ):
        metrics = [] if x is None else [("x", float(x), 1, 0), ("y", float(y), 1, 0)]
        run(
            project,
            f"{x}/{y}",
            start=123,
            tags={"metric": y},
            params={"metric": y},
            metrics=metrics,
        )


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (
            ["metrics.x asc", "metrics.y asc"],
            ["-inf/4", "-1000/5", "0/6", "0/7", "1000/8", "inf/3", "nan/2", "None/1"],
        ),
        (
            ["metrics.x asc", "tag.metric asc"],
            ["-inf/4", "-1000/5", "0/6", "0/7", "1000/8", "inf/3", "nan/2", "None/1"],
        ),
        (
            ["metrics.x asc", "metrics.y desc"],
            ["-inf/4", "-1000/5", "0/7", "0/6", "1000/8", "inf/3", "nan/2", "None/1"],
        ),
        (
            ["metrics.x desc", "metrics.y asc"],
            ["inf/3", "1000/8", "0/6", "0/7", "-1000/5", "-inf/4", "nan/2", "None/1"],
        ),
        (
            ["metrics.x desc", "param.metric desc"],
            ["inf/3", "1000/8", "0/7", "0/6", "-1000/5", "-inf/4", "nan/2", "None/1"],
        ),
    ],
)
def test_runs_are_ordered_by_several_keys_as_mlflow_orders_them(
    tracking, project, ordered_runs, order_by, expected
):
    assert search(project, order_by=order_by) == expected


def test_runs_are_ordered_by_attributes_with_missing_values_last(tracking, project):
    for start, end in enumerate([234, None, 456, -123, 789, 123], start=123):
        run(project, str(end), start=start, ended_at=None if end is None else at(end))
    assert search(project, order_by=["attribute.end_time asc"]) == [
        "-123",
        "123",
        "234",
        "456",
        "789",
        "None",
    ]
    assert search(project, order_by=["attribute.end_time desc"]) == [
        "789",
        "456",
        "234",
        "123",
        "-123",
        "None",
    ]
    assert search(project, order_by=["attribute.start_time asc", "attribute.end_time desc"]) == [
        "234",
        "None",
        "456",
        "-123",
        "789",
        "123",
    ]


def test_runs_are_ordered_by_params_and_names_by_code_point(tracking, project):
    for name in ["b", "B", "a", "é"]:
        run(project, name, params={"p": name})
    assert search(project, order_by=["params.p"]) == ["B", "a", "b", "é"]
    assert search(project, order_by=["attributes.run_name DESC"]) == ["é", "b", "a", "B"]


def test_runs_started_together_are_ordered_by_id_and_pages_are_stable(tracking, project):
    ids = [str(run(project, f"r{i}", start=10).pk) for i in range(10)]
    client = MlflowClient()
    seen = []
    token = None
    for _ in range(3):
        page = client.search_runs([str(project.pk)], max_results=4, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
    assert seen == sorted(ids, key=int)
    assert token is None


def test_the_latest_started_runs_come_first(tracking, project):
    for start in range(30):
        run(project, str(start), start=start)
    assert search(project, max_results=3) == ["29", "28", "27"]
    assert search(project, order_by=["attributes.created ASC"], max_results=2) == ["0", "1"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_string": "attribute.lifecycle_stage = 'ACTIVE'"}, "Invalid attribute key"),
        ({"filter_string": "attribute.experiment_id = '1'"}, "Invalid attribute key"),
        ({"filter_string": "metrics.x IS NULL"}, "Invalid comparator"),
        ({"filter_string": "metrics.x > 'a'"}, "Expected a number"),
        ({"filter_string": "params.x = 1"}, "Expected a quoted string"),
        ({"filter_string": "params.x > '1'"}, "Invalid comparator"),
        ({"filter_string": "foo.x = '1'"}, "Invalid entity type"),
        ({"filter_string": "params.x = '1' params.y = '2'"}, "Expected AND"),
        ({"filter_string": "attributes.artifact_uri = 'x'"}, "Invalid attribute key"),
        ({"order_by": ["metrics.x", "metrics.x DESC"]}, "duplicate fields"),
        ({"order_by": ["attributes.artifact_uri"]}, "Invalid order_by key"),
        ({"order_by": ["metrics.x sideways"]}, "Invalid order_by clause"),
        ({"max_results": 50001}, "max_results"),
    ],
)
def test_a_search_mlflow_refuses_is_refused_with_a_reason(tracking, project, kwargs, message):
    with pytest.raises(MlflowException) as error:
        MlflowClient().search_runs([str(project.pk)], **kwargs)
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in error.value.message


def test_deleted_runs_are_found_only_when_asked_for(tracking, project):
    run(project, "kept", start=2)
    run(project, "gone", start=1, deleted_at=at(5))
    assert search(project) == ["kept"]
    assert search(project, run_view_type=ViewType.DELETED_ONLY) == ["gone"]
    assert search(project, run_view_type=ViewType.ALL) == ["kept", "gone"]


def test_another_organizations_runs_are_never_found(tracking, project, other_project):
    run(other_project, "secret", start=1)
    found = MlflowClient().search_runs([str(project.pk), str(other_project.pk)])
    assert found == []


# -- experiments ----------------------------------------------------------------------------
def experiments(org, *specs):
    """Experiments named `name` with `tags`, created one millisecond apart, in order."""
    made = []
    for i, (name, tags) in enumerate(specs):
        experiment = services.experiment_create(org=org, user=None, name=name, tags=tags)
        Experiment.objects.filter(pk=experiment.pk).update(
            created_at=at(1000 + i), updated_at=at(1000 + i)
        )
        made.append(str(experiment.pk))
    return made


def names(**kwargs) -> list[str]:
    return [e.name for e in MlflowClient().search_experiments(**kwargs)]


def test_experiments_are_searched_by_name_and_tags(tracking, org):
    experiments(org, ("a", {"key": "value"}), ("ab", {"key": "vaLue"}), ("Abc", {}))
    assert names(filter_string="attribute.name = 'a'") == ["a"]
    assert names(filter_string="attribute.`name` != 'a'") == ["Abc", "ab"]
    assert names(filter_string="name LIKE 'a%'") == ["ab", "a"]
    assert names(filter_string="name ILIKE 'a%'") == ["Abc", "ab", "a"]
    assert names(filter_string="name ILIKE 'a%' AND name ILIKE '%b'") == ["ab"]
    assert names(filter_string="tag.key = 'value'") == ["a"]
    assert names(filter_string="tag.key != 'value'") == ["ab"]
    assert names(filter_string="tag.key ILIKE '%alu%'") == ["ab", "a"]
    assert names(filter_string="tags.key LIKE '%Lue'") == ["ab"]
    assert names(filter_string="tags.key IS NULL") == ["Abc"]
    assert names(filter_string="name ILIKE 'a%' AND tags.key = 'value'") == ["a"]
    assert names(filter_string="tag.KEY = 'value'") == []


def test_experiments_are_ordered_newest_first_and_paged(tracking, org):
    experiments(org, *[(str(i), {}) for i in range(9)])
    assert names() == [str(i) for i in reversed(range(9))]
    client = MlflowClient()
    page = client.search_experiments(max_results=4)
    assert [e.name for e in page] == ["8", "7", "6", "5"]
    page = client.search_experiments(max_results=4, page_token=page.token)
    assert [e.name for e in page] == ["4", "3", "2", "1"]
    page = client.search_experiments(max_results=4, page_token=page.token)
    assert [e.name for e in page] == ["0"] and page.token is None


def test_experiments_are_ordered_by_name_id_and_times(tracking, org):
    experiments(org, ("x", {}), ("y", {}), ("z", {}), ("Default-ish", {}))
    assert names(order_by=["name"]) == ["Default-ish", "x", "y", "z"]
    assert names(order_by=["name DESC"]) == ["z", "y", "x", "Default-ish"]
    assert names(order_by=["experiment_id DESC"]) == ["Default-ish", "z", "y", "x"]
    assert names(order_by=["creation_time"]) == ["x", "y", "z", "Default-ish"]
    assert names(order_by=["last_update_time DESC"]) == ["Default-ish", "z", "y", "x"]


def test_the_default_experiment_sorts_as_id_0(tracking, org):
    experiments(org, ("x", {}))
    MlflowClient().get_experiment("0")
    assert names(order_by=["experiment_id"]) == ["Default", "x"]
    assert names(filter_string="experiment_id = '0'") == ["Default"]


def test_experiments_are_searched_by_creation_time(tracking, org):
    first, second = experiments(org, ("1", {}), ("2", {}))
    client = MlflowClient()

    def ids(filter_string):
        return [e.experiment_id for e in client.search_experiments(filter_string=filter_string)]

    assert ids("creation_time = 1000") == [first]
    assert ids("creation_time != 1000") == [second]
    assert ids("creation_time >= 1000") == [second, first]
    assert ids("creation_time < 1001") == [first]
    assert ids("last_update_time > 1000") == [second]
    assert ids(f"experiment_id IN ('{first}', '{second}')") == [second, first]


def test_deleted_experiments_are_found_only_when_asked_for(tracking, org):
    a, b = experiments(org, ("a", {}), ("b", {}))
    MlflowClient().delete_experiment(b)
    assert names(view_type=ViewType.ACTIVE_ONLY) == ["a"]
    assert names(view_type=ViewType.DELETED_ONLY) == ["b"]
    assert set(names(view_type=ViewType.ALL)) == {"a", "b"}


def test_another_organizations_experiments_are_never_listed(tracking, org, other_org):
    ProjectFactory(organization=other_org, name="Secret")
    experiments(org, ("mine", {}))
    assert names(view_type=ViewType.ALL) == ["mine"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_string": "metrics.x > 1"}, "Invalid filter on experiments"),
        ({"filter_string": "name > 'a'"}, "Invalid comparator"),
        ({"filter_string": "creation_time = 'a'"}, "Expected a number"),
        ({"order_by": ["tags.x"]}, "Invalid order_by key"),
        ({"order_by": ["name", "name DESC"]}, "duplicate fields"),
        ({"max_results": 50001}, "max_results"),
    ],
)
def test_an_experiment_search_mlflow_refuses_is_refused(tracking, kwargs, message):
    with pytest.raises(MlflowException) as error:
        MlflowClient().search_experiments(**kwargs)
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in error.value.message
