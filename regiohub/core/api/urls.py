from rest_framework.routers import DefaultRouter

from regiohub.core.api.views import DepartmentViewSet, OrganisationViewSet

router = DefaultRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("departments", DepartmentViewSet, basename="department")

urlpatterns = router.urls
