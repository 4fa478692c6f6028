"""The rule builder: a rules baseline edited as rows of conditions instead of JSON, with
inline errors, add/remove buttons that work without JavaScript, and a JSON view."""

import json

import pytest
from django.urls import reverse

from mlprojects.lifecycle import services
from mlprojects.lifecycle.rule_builder import (
    builder_from_data,
    builder_from_spec,
    builder_to_spec,
    has_errors,
    text_to_list,
    text_to_scalar,
)
from mlprojects.models import Baseline

HX = {"HTTP_HX_REQUEST": "true"}

SPEC = {
    "rules": [
        {
            "when": [
                {"feature": "age", "op": ">=", "value": 30},
                {"feature": "city", "op": "in", "value": ["Seoul", "Busan", "7"]},
            ],
            "then": 1,
        },
        {"when": [{"feature": "liked", "op": "==", "value": "bibimbap"}],
         "recommend": ["bulgogi", "japchae, spicy"]},
        {"when": [{"feature": "vip", "op": "==", "value": True}], "then": 0.5},
    ],
    "default": 0,
}  # fmt: skip


def as_post(builder) -> dict[str, str]:
    """The builder's rows as the form posts them."""
    data = {"rules_default": builder.default}
    for i, rule in enumerate(builder.rules):
        data |= {f"rule-{i}-outcome": rule.outcome, f"rule-{i}-then": rule.then,
                 f"rule-{i}-recommend": rule.recommend}  # fmt: skip
        for j, c in enumerate(rule.conditions):
            data |= {f"rule-{i}-cond-{j}-feature": c.feature, f"rule-{i}-cond-{j}-op": c.op,
                     f"rule-{i}-cond-{j}-value": c.value}  # fmt: skip
    return data


def test_a_stored_rule_set_survives_the_form_unchanged():
    builder = builder_from_data(as_post(builder_from_spec(SPEC)))
    assert builder_to_spec(builder) == SPEC
    assert not has_errors(builder)


def test_values_typed_as_text_become_numbers_booleans_lists_or_text():
    assert text_to_scalar("30") == 30 and text_to_scalar("0.5") == 0.5
    assert text_to_scalar("true") is True and text_to_scalar('"7"') == "7"
    assert text_to_scalar("Seoul") == "Seoul"
    assert text_to_list('Seoul, 7, "a, b"') == ["Seoul", 7, "a, b"]


def test_each_problem_is_written_next_to_its_input():
    builder = builder_from_data(
        {"rule-0-cond-0-feature": "age", "rule-0-cond-0-op": ">=", "rule-0-cond-0-value": "old",
         "rule-0-outcome": "then", "rule-0-then": "",
         "rule-1-cond-0-feature": "", "rule-1-cond-0-op": "==", "rule-1-cond-0-value": "x",
         "rule-1-outcome": "recommend", "rule-1-recommend": "", "rules_default": ""}
    )  # fmt: skip
    builder_to_spec(builder)
    first, second = builder.rules
    assert "compares numbers" in first.conditions[0].errors["value"]
    assert first.errors["then"] == "Say what the rule predicts."
    assert second.conditions[0].errors["feature"] == "Name the feature."
    assert "List the items" in second.errors["recommend"]
    assert "no rule applies" in builder.default_error


def test_blank_rows_are_ignored_and_an_empty_builder_means_no_rules():
    assert builder_to_spec(builder_from_data({"rule-0-cond-0-feature": ""})) is None


# -- the form in the project page -------------------------------------------------------------


@pytest.fixture
def proj(org, member):
    return services.project_create(org=org, user=member, name="Restaurant revenue")


def url(proj, name, *args):
    return reverse(f"mlprojects:{name}", args=[proj.organization.slug, proj.slug, *args])


def post_rules(client, proj, **extra):
    data = {"name": "Waiter rules", "kind": "rules", **as_post(builder_from_spec(SPEC)), **extra}
    return client.post(url(proj, "item_create", "baseline"), data, **HX)


def test_the_add_form_offers_the_builder_not_raw_json(proj, client_for, member):
    page = client_for(member).get(url(proj, "item_create", "baseline"), **HX).text
    assert 'name="rule-0-cond-0-feature"' in page
    assert 'name="rules_default"' in page
    assert '<textarea name="rules"' not in page
    assert "<script" not in page and "onclick" not in page and "style=" not in page


def test_a_valid_rule_set_built_with_the_form_is_saved_as_json(proj, client_for, member):
    response = post_rules(client_for(member), proj)
    assert response.status_code == 200
    assert Baseline.objects.get().rules == SPEC


def test_an_invalid_rule_set_shows_inline_errors_and_saves_nothing(proj, client_for, member):
    response = post_rules(client_for(member), proj, **{"rule-0-cond-0-value": "thirty"})
    assert "Fix the rules marked below." in response.text
    assert "“≥” compares numbers: give a number." in response.text
    assert 'value="thirty" data-field="value" placeholder="e.g. 30" aria-invalid="true"' in (
        response.text
    )
    assert not Baseline.objects.exists()


def test_add_and_remove_buttons_work_without_javascript(proj, client_for, member):
    client = client_for(member)
    page = post_rules(client, proj, rules_action="add-condition-2").text
    assert 'name="rule-2-cond-1-feature"' in page
    page = post_rules(client, proj, rules_action="remove-rule-0").text
    assert 'name="rule-2-cond-0-feature"' not in page
    assert 'value="liked"' in page
    assert not Baseline.objects.exists()  # nothing is saved by these buttons


def test_the_json_view_round_trips_the_rules(proj, client_for, member):
    client = client_for(member)
    page = post_rules(client, proj, rules_action="view-json").text
    assert '<textarea name="rules"' in page and 'name="rules_mode" value="json"' in page
    assert "japchae, spicy" in page
    back = client.post(
        url(proj, "item_create", "baseline"),
        {"name": "Waiter rules", "kind": "rules", "rules_mode": "json",
         "rules": json.dumps(SPEC), "rules_action": "view-form"},
        **HX,
    ).text  # fmt: skip
    assert 'name="rules_mode" value="form"' in back
    assert 'value="&quot;japchae, spicy&quot;' in back or "japchae, spicy" in back
    assert builder_to_spec(builder_from_spec(SPEC)) == SPEC


def test_the_json_view_keeps_invalid_json_with_its_error(proj, client_for, member):
    page = client_for(member).post(
        url(proj, "item_create", "baseline"),
        {"name": "R", "kind": "rules", "rules_mode": "json", "rules": "{oops",
         "rules_action": "view-form"},
        **HX,
    ).text  # fmt: skip
    assert "This is not valid JSON" in page and '<textarea name="rules"' in page


def test_rules_saved_from_the_json_view_are_kept(proj, client_for, member):
    client_for(member).post(
        url(proj, "item_create", "baseline"),
        {"name": "R", "kind": "rules", "rules_mode": "json", "rules": json.dumps(SPEC)},
        **HX,
    )
    assert Baseline.objects.get().rules == SPEC


def test_editing_a_baseline_shows_its_rules_as_rows(proj, client_for, member):
    baseline = services.item_create(
        project=proj, user=member, model=Baseline,
        values={"name": "R", "kind": "rules", "rules": SPEC},
    )  # fmt: skip
    page = client_for(member).get(url(proj, "item_edit", "baseline", baseline.pk), **HX).text
    assert 'name="rule-1-recommend" value="bulgogi, &quot;japchae, spicy&quot;"' in page
    assert '<option value="recommend" selected>' in page


def test_another_kind_of_baseline_ignores_the_builder_rows(proj, client_for, member):
    client_for(member).post(
        url(proj, "item_create", "baseline"),
        {"name": "Most popular", "kind": "scarecrow", "strategy": "most_popular",
         "rule-0-cond-0-feature": "", "rule-0-outcome": "then", "rules_default": ""},
        **HX,
    )  # fmt: skip
    assert Baseline.objects.get().rules is None
