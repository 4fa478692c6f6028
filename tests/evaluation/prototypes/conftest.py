import pytest

from tests.evaluation.prototypes.servers import serve


@pytest.fixture(scope="module")
def model_server():
    with serve() as base:
        yield base


from evaluation.prototypes import services  # noqa: E402
from evaluation.prototypes.models import AllowedHost  # noqa: E402
from mlprojects.lifecycle.selectors import cycle_get  # noqa: E402
from mlprojects.models import Baseline  # noqa: E402

WAITER_RULES = {
    "rules": [
        {"when": [{"feature": "likes_spicy", "op": "==", "value": True}], "then": "kimchi_jjigae"},
        {
            "when": [{"feature": "diet", "op": "in", "value": ["vegetarian", "vegan"]}],
            "then": "bibimbap",
        },
    ],
    "default": "bulgogi",
}
FIELDS = [
    {"name": "favourite_dishes", "type": "text"},
    {"name": "likes_spicy", "type": "boolean"},
    {"name": "diet", "type": "category", "choices": ["none", "vegetarian", "vegan"]},
]


@pytest.fixture
def loopback_allowed(org, owner):
    return AllowedHost.objects.create(
        organization=org, host="127.0.0.1", allow_private=True, created_by=owner
    )


@pytest.fixture
def waiter_rules(project):
    return Baseline.objects.create(
        cycle=cycle_get(project=project), name="Waiter rules", kind="rules", rules=WAITER_RULES
    )


@pytest.fixture
def echo_endpoint(project, member, model_server, loopback_allowed, waiter_rules):
    """A plain-JSON endpoint whose server echoes the request: the answer is read from
    `received.guest.diet` — the field mapping both ways."""
    endpoint = services.endpoint_save(
        project=project,
        user=member,
        values={
            "url": model_server + "/echo",
            "protocol": "json",
            "input_field": "guest",
            "output_field": "received.guest.diet",
            "output_kind": "class",
        },
        headers={"Authorization": "Bearer s3cret"},
    )
    return services.endpoint_set_fields(endpoint=endpoint, fields=FIELDS)
