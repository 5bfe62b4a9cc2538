from rest_framework import serializers

from regiohub.core.models import Department, Organisation


class OrganisationSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Organisation
        fields = ["code", "kind", "nis_code", "name", "name_fr", "parent", "population", "website"]


class DepartmentSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "organisation", "name", "email", "is_active"]
