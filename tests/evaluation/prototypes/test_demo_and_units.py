"""The restaurant's demo prototype, and the plain functions under the page: protocols, the
schema builder, the built-in recommender and the rules baseline."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from evaluation.prototypes import protocols, schema
from evaluation.prototypes.baseline import rule_answers
from evaluation.prototypes.builtin import restaurant_recommender
from evaluation.prototypes.models import PrototypeCall, PrototypeEndpoint, PrototypeFeedback
from tests.evaluation.prototypes.conftest import WAITER_RULES

RESTAURANT = "/o/demo/projects/restaurant-revenue/"


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


def test_the_demo_restaurant_has_a_recommender_prototype_with_two_colleagues_feedback(demo, client):
    call_command("load_demo", stdout=io.StringIO())  # loading again adds nothing
    endpoint = PrototypeEndpoint.objects.get(project__slug="restaurant-revenue")
    assert endpoint.url == "builtin://restaurant-recommender"
    feedback = PrototypeFeedback.objects.filter(call__project=endpoint.project)
    assert sorted(f.user.email for f in feedback) == [
        "admin@example.com",
        "stakeholder@example.com",
    ]
    call = PrototypeCall.objects.get(user__email="admin@example.com")
    assert call.answer["items"][0]["item"] == "japchae_bap"
    assert call.baseline_answer["text"] == "bibimbap"  # the waiter rule for vegetarians
    client.force_login(User.objects.get(email="viewer@example.com"))
    page = client.get(RESTAURANT).content.decode()
    assert "Open the prototype" in page and "safer answer" in page
    answer = client.post(
        RESTAURANT + "prototype/try/",
        {"favourite_dishes": "tteokbokki", "likes_spicy": "on", "diet": "none"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert '<ol class="proto-ranking">' in answer and "kimchi_jjigae" in answer


def test_a_proposal_carries_the_prototype_feedback(demo):
    from mlprojects.models import Project, Proposal
    from mlprojects.review.selectors import proposal_document, proposal_markdown
    from mlprojects.review.services import proposal_submit

    project = Project.objects.get(slug="restaurant-revenue")
    proposal = Proposal.objects.filter(project=project).order_by("-version").first()
    member = User.objects.get(email="member@example.com")
    stakeholder = User.objects.get(email="stakeholder@example.com")
    new = proposal_submit(project=project, user=member, reviewers=[stakeholder], message="")
    assert new.version == (proposal.version + 1 if proposal else 1)
    feedback = next(
        s for s in proposal_document(new.snapshot) if s.key == "evidence-prototype_feedback"
    )
    assert feedback.title == "Feedback on the prototype's answers"
    assert any(r.value.startswith("Bad answer") for r in feedback.rows)
    text = proposal_markdown(new)
    assert "safer answer" in text and "Bad answer" in text


def test_the_recommender_respects_a_vegetarian_diet():
    answer = restaurant_recommender({"guest": {"favourite_dishes": "bulgogi", "diet": "vegan"}})
    items = [r["item"] for r in answer["recommendations"]]
    assert items and "galbi" not in items and "bulgogi" not in items


def test_rules_answer_like_the_evaluation_engine():
    rows = [
        {"likes_spicy": True, "diet": "vegan"},
        {"likes_spicy": False, "diet": "vegan"},
        {"likes_spicy": False, "diet": None},
    ]
    assert rule_answers(WAITER_RULES, rows) == ["kimchi_jjigae", "bibimbap", "bulgogi"]


def test_kserve_v2_request_and_answer():
    body = protocols.build_request(
        protocols.KSERVE_V2, [{"x": 1.5, "c": "a"}, {"x": 2.0, "c": "b"}]
    )
    assert body["inputs"][0] == {"name": "x", "shape": [2], "datatype": "FP64", "data": [1.5, 2.0]}
    assert body["inputs"][1]["datatype"] == "BYTES"
    answer = {"outputs": [{"name": "proba", "shape": [2, 2], "datatype": "FP64",
                           "data": [0.2, 0.8, 0.9, 0.1]}]}  # fmt: skip
    rows = protocols.parse_response(protocols.KSERVE_V2, answer, n_rows=2)
    assert rows == [[0.2, 0.8], [0.9, 0.1]]
    readable = protocols.readable_answer(rows[0], kind="class")
    assert (readable["label"], readable["percent"]) == ("1", 80.0)


def test_mlflow_requests_in_both_shapes():
    rows = [{"a": 1, "b": "x"}]
    assert protocols.build_request(protocols.MLFLOW_SPLIT, rows) == {
        "dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"]]}
    }
    assert protocols.build_request(protocols.MLFLOW_INPUTS, rows) == {
        "inputs": {"a": [1], "b": ["x"]}
    }
    with pytest.raises(protocols.ProtocolError, match="1 row\\(s\\) were sent but 2"):
        protocols.parse_response(protocols.MLFLOW_SPLIT, {"predictions": [1, 2]}, n_rows=1)


def test_answers_read_as_class_ranking_or_number():
    cls = protocols.readable_answer({"label": "fraud", "probability": 0.91}, kind="class")
    assert (cls["text"], cls["percent"]) == ("fraud", 91.0)
    ranked = protocols.readable_answer({"a": 0.1, "b": 0.7, "c": 0.3}, kind="ranking", top_k=2)
    assert [i["item"] for i in ranked["items"]] == ["b", "c"]
    assert protocols.readable_answer([42.5], kind="regression")["value"] == 42.5
    with pytest.raises(protocols.ProtocolError):
        protocols.readable_answer("n/a", kind="regression")


def test_a_missing_output_field_says_which():
    with pytest.raises(protocols.ProtocolError, match="no field 'result.label'"):
        protocols.parse_response(
            protocols.PLAIN_JSON, {"result": {}}, n_rows=1, output_field="result.label"
        )


def test_schema_fields_from_an_mlflow_signature_feed_the_same_builder():
    fields = schema.fields_from_signature(
        [{"name": "age", "type": "long"}, {"name": "amount", "type": "double"}]
    )
    assert fields == [{"name": "age", "type": "integer"}, {"name": "amount", "type": "number"}]


def test_a_category_value_outside_its_choices_is_refused():
    fields = schema.build_fields([{"name": "diet", "type": "category", "choices": ["none"]}])
    with pytest.raises(schema.SchemaError, match="diet: 'meat' is not a valid category"):
        schema.coerce_row(fields, {"diet": "meat"})


def test_rules_that_recommend_items_answer_a_ranking_prototype_in_rule_order():
    from evaluation.prototypes.baseline import rule_recommendations

    rules = {
        "rules": [
            {"when": [{"feature": "likes_spicy", "op": "==", "value": True}],
             "recommend": ["kimchi_jjigae", "tteokbokki"]},
            {"when": [{"feature": "diet", "op": "==", "value": "vegan"}],
             "recommend": ["bibimbap", "tteokbokki"]},
        ],
        "default": 0,
    }  # fmt: skip
    rows = [
        {"likes_spicy": True, "diet": "vegan"},
        {"likes_spicy": False, "diet": "none"},
    ]
    assert rule_recommendations(rules, rows) == [
        ["kimchi_jjigae", "tteokbokki", "bibimbap"],
        [],
    ]


def test_ranking_rules_without_recommendations_say_they_cannot_rank():
    from evaluation.metrics.errors import EvaluationInputError
    from evaluation.prototypes.baseline import rule_recommendations

    with pytest.raises(EvaluationInputError, match="cannot rank"):
        rule_recommendations(WAITER_RULES, [{"likes_spicy": True, "diet": "none"}])


def test_a_ranking_baseline_agrees_when_its_first_item_is_the_models():
    model = {"kind": protocols.RANKING, "items": [{"item": "bibimbap", "score": 0.9}]}
    assert protocols.same_answer(model, {"text": "bibimbap, bulgogi",
                                         "value": ["bibimbap", "bulgogi"]})  # fmt: skip
    assert not protocols.same_answer(model, {"text": "bulgogi", "value": ["bulgogi"]})
    assert protocols.same_answer(model, {"name": "x", "error": "cannot rank"}) is None
