"""Model servers built into the app, for the demo only: no network call is made, the
request and answer still go through the plain-JSON field mapping. An endpoint URL
`builtin://<name>` reaches them only where PROTOTYPE_BUILTIN_MODELS is on (the local and
demo settings); elsewhere a call is refused with a message saying so.

`restaurant-recommender` is a small taste-based recommender: each dish has taste tags;
a guest's favourite dishes add up to a taste profile, and the other dishes are ranked by
the cosine similarity of their tags to it (a spicy guest gets spicy dishes, a vegetarian
only vegetarian ones). It is a stand-in for the team's real model, written to be honest
about what it is: a few lines of arithmetic over a fixed menu."""

from __future__ import annotations

import math
from typing import Any

MENU: dict[str, set[str]] = {
    "kimchi_jjigae": {"spicy", "stew", "fermented", "pork"},
    "sundubu_jjigae": {"spicy", "stew", "tofu", "seafood"},
    "tteokbokki": {"spicy", "rice_cake", "sweet", "vegetarian"},
    "jjamppong": {"spicy", "noodles", "seafood"},
    "bibimbap": {"rice", "vegetables", "vegetarian", "egg"},
    "japchae": {"noodles", "vegetables", "sweet", "vegetarian"},
    "bulgogi": {"grilled", "beef", "sweet"},
    "galbi": {"grilled", "beef", "sweet", "sharing"},
    "samgyeopsal": {"grilled", "pork", "sharing"},
    "haemul_pajeon": {"pancake", "seafood", "sharing"},
    "kimchi_pajeon": {"pancake", "fermented", "spicy", "vegetarian"},
    "naengmyeon": {"noodles", "cold", "beef"},
    "doenjang_jjigae": {"stew", "fermented", "tofu", "vegetarian"},
    "japchae_bap": {"rice", "noodles", "vegetables", "vegetarian"},
}
VEGETARIAN_DIETS = {"vegetarian", "vegan"}


class BuiltinError(Exception):
    """A request the built-in model can't answer; the message says why."""


def _cosine(a: dict[str, float], b: set[str]) -> float:
    dot = sum(weight for tag, weight in a.items() if tag in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(len(b))
    return dot / norm if norm else 0.0


def restaurant_recommender(body: Any) -> dict[str, Any]:
    """`{"guest": {"favourite_dishes": "bulgogi, japchae", "likes_spicy": false,
    "diet": "none"}}` → `{"recommendations": [{"item", "score"}, …]}`."""
    guest = body.get("guest") if isinstance(body, dict) else None
    if not isinstance(guest, dict):
        raise BuiltinError('Send {"guest": {"favourite_dishes": …}}.')
    raw = guest.get("favourite_dishes") or ""
    favourites = [d.strip().lower().replace(" ", "_") for d in str(raw).split(",") if d.strip()]
    unknown = [d for d in favourites if d not in MENU]
    if unknown:
        raise BuiltinError(f"Not on the menu: {', '.join(unknown)}.")
    profile: dict[str, float] = {}
    for dish in favourites:
        for tag in MENU[dish]:
            profile[tag] = profile.get(tag, 0.0) + 1.0
    if guest.get("likes_spicy") is True:
        profile["spicy"] = profile.get("spicy", 0.0) + 2.0
    vegetarian = str(guest.get("diet") or "").lower() in VEGETARIAN_DIETS
    candidates = [
        dish
        for dish, tags in MENU.items()
        if dish not in favourites and (not vegetarian or "vegetarian" in tags)
    ]
    # Ties (and a guest with no favourites) fall back to the menu's order.
    order = {dish: i for i, dish in enumerate(MENU)}
    ranked = sorted(candidates, key=lambda d: (-_cosine(profile, MENU[d]), order[d]))
    return {
        "recommendations": [
            {"item": dish, "score": round(_cosine(profile, MENU[dish]), 4)} for dish in ranked
        ]
    }


MODELS = {"restaurant-recommender": restaurant_recommender}
