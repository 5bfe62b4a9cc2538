from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from regiohub.core import access
from regiohub.core.api.serializers import DepartmentSerializer, OrganisationSerializer
from regiohub.core.models import Department, Organisation


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """The organisations the caller may see."""

    serializer_class = OrganisationSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Organisation]:
        return access.scope(
            Organisation.objects.select_related("parent"), self.request.user, via="pk"
        )


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments of the organisations the caller may see."""

    serializer_class = DepartmentSerializer
    # Declared filters need their backend, or they are silently ignored.
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["organisation__code", "is_active"]

    def get_queryset(self) -> QuerySet[Department]:
        return access.scope(
            Department.objects.select_related("organisation").order_by(
                "organisation__name", "name"
            ),
            self.request.user,
        )
