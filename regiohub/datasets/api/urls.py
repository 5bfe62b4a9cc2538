from rest_framework.routers import SimpleRouter

from regiohub.datasets.api.loads import LoadViewSet, VersionViewSet
from regiohub.datasets.api.views import DatasetViewSet

router = SimpleRouter()
router.register("datasets", DatasetViewSet, basename="dataset")
router.register(
    r"datasets/(?P<dataset_slug>[a-z0-9-]+)/versions", VersionViewSet, basename="dataset-version"
)
router.register(
    r"datasets/(?P<dataset_slug>[a-z0-9-]+)/loads", LoadViewSet, basename="dataset-load"
)

urlpatterns = router.urls
