"""Serializers of the account API."""

from rest_framework import serializers

from accounts.api.fields import StrictCharField, StrictIntegerField, StrictModelSerializer
from accounts.models import Membership


class MembershipSerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = StrictCharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "organization_name", "role"]


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    full_name = StrictCharField(read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True)


class ErrorDetailSerializer(serializers.Serializer):
    status = StrictIntegerField(help_text="The HTTP status, repeated.")
    code = StrictCharField(help_text="A stable machine-readable code, e.g. `invalid`.")
    message = StrictCharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="With `invalid`: the messages of each invalid field (nested like the body).",
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every /api/v1/ answer with a 4xx or 5xx status."""

    error = ErrorDetailSerializer()
