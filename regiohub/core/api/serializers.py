from rest_framework import serializers

from regiohub.core.models import Department, Organisation


class OrganisationSerializer(serializers.ModelSerializer):
    # The stubs take this for Field.parent (the serializer a field is bound to); DRF's
    # metaclass takes declared fields off the class, so the two never meet.
    parent: serializers.SlugRelatedField[Organisation]  # type: ignore[assignment]
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Organisation
        fields = ["code", "kind", "nis_code", "name", "name_fr", "parent", "population", "website"]
        # The API only reads. A writable integer field takes its bounds from the database
        # (64-bit on SQLite, 32-bit on PostgreSQL), which would make docs/openapi.yaml
        # depend on where it was generated.
        read_only_fields = ["population"]


class DepartmentSerializer(serializers.ModelSerializer):
    organisation: serializers.SlugRelatedField[Organisation] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Department
        fields = ["id", "organisation", "name", "email", "is_active"]
