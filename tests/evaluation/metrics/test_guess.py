"""The column-mapping guess on realistic files: it reads the values as well as the names."""

import random

from evaluation.metrics.guess import column_roles, guess_columns, is_id_like, profile_column

DISHES = ["bibimbap", "bulgogi", "kimchi_jjigae", "japchae", "tteokbokki", "naengmyeon"]


def ranking_rows(*, with_score: bool = True) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(3)
    header = ["guest_id", "dish", "rank", "ordered", "party_size", "meal"]
    if with_score:
        header.insert(3, "score")
    rows = []
    for guest in range(15):
        for position, dish in enumerate(rng.sample(DISHES, 4), start=1):
            row = [f"G{1000 + guest}", dish, str(position), str(int(rng.random() < 0.3))]
            if with_score:
                row.insert(3, f"{rng.random():.3f}")
            rows.append([*row, str(rng.choice([1, 2, 4])), rng.choice(["lunch", "dinner"])])
    return header, rows


def fraud_rows() -> tuple[list[str], list[list[str]]]:
    rng = random.Random(5)
    header = ["transaction_id", "customer_id", "amount", "channel", "hour", "is_fraud", "score"]
    rows = [
        [
            f"tx{i:07d}",
            f"C{rng.randrange(40)}",
            f"{rng.uniform(1, 900):.2f}",
            rng.choice(["web", "pos", "app"]),
            str(rng.randrange(24)),
            str(int(rng.random() < 0.1)),
            f"{rng.random():.4f}",
        ]
        for i in range(120)
    ]
    return header, rows


def test_a_ranking_file_with_guest_dish_and_rank_is_taken_as_ranking():
    header, rows = ranking_rows()
    guess = guess_columns(header, rows)
    assert guess["task"] == "ranking"
    mapping = guess["mapping"]
    assert mapping["group"] == "guest_id"
    assert mapping["item"] == "dish"
    assert mapping["y_true"] == "ordered"
    assert mapping["y_score"] == "score"
    assert mapping["features"] == ["party_size", "meal"]
    assert guess["slices"] == ["party_size", "meal"]


def test_an_id_column_is_never_the_label_even_when_no_label_is_named():
    header, rows = ranking_rows(with_score=False)
    header = [h if h != "ordered" else "outcome_flag" for h in header]
    guess = guess_columns(header, rows)
    assert guess["task"] == "ranking"
    assert guess["mapping"].get("y_true") != "guest_id"
    assert "guest_id" in guess["id_like"]
    assert any("rank position" in note for note in guess["notes"])


def test_a_rank_position_is_not_offered_as_a_feature_or_slice():
    header, rows = ranking_rows()
    guess = guess_columns(header, rows)
    assert "rank" not in guess["mapping"]["features"]
    assert "rank" not in guess["slices"]


def test_a_fraud_file_finds_the_flag_label_and_skips_the_ids():
    header, rows = fraud_rows()
    guess = guess_columns(header, rows)
    assert guess["task"] == "binary"
    assert guess["mapping"]["y_true"] == "is_fraud"
    assert guess["mapping"]["y_score"] == "score"
    assert set(guess["id_like"]) == {"transaction_id", "customer_id"}
    assert "transaction_id" not in guess["mapping"]["features"]
    # channel has three values; amount is a measurement and hour has 24 values.
    assert guess["slices"] == ["channel"]


def test_a_fraud_file_without_a_group_is_not_ranking():
    header, rows = fraud_rows()
    assert "group" not in guess_columns(header, rows)["mapping"]


def test_a_regression_file_is_detected_from_the_label_values():
    rng = random.Random(9)
    header = ["store_id", "week", "city", "sales", "forecast"]
    rows = [
        [str(s), str(w), rng.choice(["Seoul", "Busan"]), f"{rng.uniform(50, 500):.1f}",
         f"{rng.uniform(50, 500):.1f}"]
        for s in range(10) for w in range(8)
    ]  # fmt: skip
    guess = guess_columns(header, rows)
    assert guess["task"] == "regression"
    assert guess["mapping"]["y_true"] == "sales"
    assert guess["mapping"]["y_pred"] == "forecast"
    assert "city" in guess["slices"]
    assert "store_id" in guess["id_like"]


def test_a_multiclass_file_with_per_class_probabilities():
    rng = random.Random(2)
    header = ["id", "label", "proba_cat", "proba_dog", "proba_bird", "colour"]
    rows = [
        [str(i), rng.choice(["cat", "dog", "bird"]), "0.2", "0.5", "0.3", rng.choice("rgb")]
        for i in range(40)
    ]
    guess = guess_columns(header, rows)
    assert guess["task"] == "multiclass"
    assert guess["mapping"]["proba"] == {"cat": "proba_cat", "dog": "proba_dog",
                                         "bird": "proba_bird"}  # fmt: skip
    assert guess["slices"] == ["colour"]


def test_ids_are_recognised_by_name_and_by_distinct_values():
    assert is_id_like(profile_column("guest_id", ["G1", "G1", "G2"]))
    assert is_id_like(profile_column("userid", ["1", "1"]))
    assert is_id_like(profile_column("ref", [f"R{i}" for i in range(30)]))
    # Distinct floats are scores, not ids; few rows prove nothing.
    assert not is_id_like(profile_column("score", [f"0.{i:03d}" for i in range(30)]))
    assert not is_id_like(profile_column("city", ["Seoul", "Busan", "Daegu"]))
    assert not is_id_like(profile_column("paid", ["yes", "no"] * 15))


def test_an_empty_file_guesses_nothing_and_says_so():
    guess = guess_columns(["a", "b"], [])
    assert guess["task"] is None
    assert guess["slices"] == []
    assert any("true label" in note for note in guess["notes"])


def test_the_roles_name_every_column():
    roles = column_roles(
        {"y_true": "ordered", "group": "guest_id", "features": ["meal", "party_size"]},
        ["meal"],
        ["guest_id", "ordered", "meal", "party_size", "rank"],
    )
    assert roles == {
        "guest_id": "Group",
        "ordered": "Label",
        "meal": "Feature · Slice",
        "party_size": "Feature",
        "rank": "Not used",
    }
