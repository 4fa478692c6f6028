from rest_framework import serializers

from accounts.api.fields import (
    StrictCharField,
    StrictChoiceField,
    StrictIdField,
    StrictModelSerializer,
)
from evaluation.prototypes.models import PrototypeCall, PrototypeFeedback, Verdict


class PredictInputSerializer(serializers.Serializer):
    inputs = serializers.DictField(
        help_text='The input fields by name, e.g. {"favourite_dishes": "bulgogi"}.'
    )


class CallSerializer(StrictModelSerializer):
    answer = serializers.JSONField(
        allow_null=True,
        help_text="The model's answer as shown: kind (class, ranking, regression), text, "
        "label/probability, items, or value, and the raw answer.",
    )
    baseline_answer = serializers.JSONField(
        allow_null=True, help_text="The rule baseline's answer: name, text, value (or error)."
    )

    class Meta:
        model = PrototypeCall
        fields = ["id", "inputs", "answer", "baseline_answer", "error", "latency_ms", "created_at"]


class PrototypeFeedbackInputSerializer(serializers.Serializer):
    call = StrictIdField(help_text="The id of a call you made (from predict).")
    verdict = StrictChoiceField(choices=Verdict.choices)
    comment = StrictCharField(required=False, allow_blank=True, max_length=2000)


class FeedbackSerializer(StrictModelSerializer):
    who = serializers.SerializerMethodField()
    call = CallSerializer(read_only=True)

    class Meta:
        model = PrototypeFeedback
        fields = ["id", "who", "verdict", "comment", "created_at", "call"]

    def get_who(self, feedback: PrototypeFeedback) -> str:
        return feedback.user.display_name if feedback.user else "a former member"
