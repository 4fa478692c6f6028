"""Serializers of the account API."""

from rest_framework import serializers

from accounts.models import Membership


class MembershipSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "organization_name", "role"]


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True)
