from rest_framework import serializers

from accounts.models import Membership

from ..models import Project


class MembershipSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "organization_name", "role"]


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True, default=None)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "summary",
            "stage",
            "cycle",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "slug", "stage", "cycle", "owner", "created_at", "updated_at"]
