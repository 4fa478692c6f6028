"""The restaurant's demo prototype (loader registered by `EvaluationConfig`): the taste-based
recommender, answered by the model built into the app (`builtin://restaurant-recommender`,
see `evaluation.prototypes.builtin`), next to the waiter pairing rules, with two colleagues'
feedback. Without PROTOTYPE_BUILTIN_MODELS the endpoint and examples are still set up, and
the feedback is left out (there would be no answer to judge)."""

from django.conf import settings
from django.db import transaction

from accounts.models import Organization, User
from evaluation.prototypes import services
from evaluation.prototypes.models import PrototypeEndpoint
from mlprojects.lifecycle.demo import RESTAURANT
from mlprojects.models import Project

FIELDS = [
    {"name": "favourite_dishes", "type": "text"},
    {"name": "likes_spicy", "type": "boolean"},
    {"name": "diet", "type": "category", "choices": ["none", "vegetarian", "vegan"]},
]
EXAMPLES = [
    ("Regular who loves grills", {"favourite_dishes": "bulgogi, samgyeopsal", "diet": "none"}),
    ("Vegetarian first-timer", {"favourite_dishes": "japchae", "diet": "vegetarian"}),
    ("Spice lover", {"favourite_dishes": "tteokbokki", "likes_spicy": True, "diet": "none"}),
]
FEEDBACK = [
    (
        "stakeholder@example.com",
        {"favourite_dishes": "bulgogi, samgyeopsal", "likes_spicy": False, "diet": "none"},
        "up",
        "Galbi after bulgogi is exactly what our servers suggest — and it explains the pairing "
        "better than “most guests order bulgogi”.",
    ),
    (
        "admin@example.com",
        {"favourite_dishes": "japchae", "likes_spicy": False, "diet": "vegetarian"},
        "down",
        "Tteokbokki in the top three for a vegetarian who chose a mild dish? It should know it is "
        "spicy and ask first. The waiter rule's bibimbap is the safer answer here.",
    ),
]


@transaction.atomic
def load_prototype_demo(org: Organization) -> PrototypeEndpoint | None:
    project = Project.objects.filter(organization=org, slug=RESTAURANT).first()
    if project is None:
        return None
    existing = PrototypeEndpoint.objects.filter(project=project).first()
    if existing is not None and existing.url:
        return existing
    member = User.objects.get(email="member@example.com")
    endpoint = services.endpoint_save(
        project=project,
        user=member,
        values={
            "url": services.BUILTIN_SCHEME + "restaurant-recommender",
            "protocol": "json",
            "input_field": "guest",
            "output_field": "",
            "output_kind": "ranking",
            "top_k": 5,
        },
    )
    services.endpoint_set_fields(endpoint=endpoint, fields=FIELDS)
    for name, values in EXAMPLES:
        services.example_save(endpoint=endpoint, name=name, values=values)
    if not settings.PROTOTYPE_BUILTIN_MODELS:
        return endpoint
    for email, values, verdict, comment in FEEDBACK:
        user = User.objects.get(email=email)
        call = services.prototype_try(endpoint=endpoint, values=values, user=user)
        services.feedback_give(call=call, user=user, verdict=verdict, comment=comment)
    return endpoint
