from rest_framework.routers import SimpleRouter

from regiohub.documents.api.views import LetterViewSet

app_name = "documents-api"

router = SimpleRouter()
router.register("letters", LetterViewSet, basename="letter")

urlpatterns = router.urls
