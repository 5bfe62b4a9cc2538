from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from regiohub.core import views as core_views
from regiohub.core.auth.oidc import OIDCCallbackView, OIDCStartView

urlpatterns = [
    path("health/", core_views.health_view, name="health"),
    path("health/live/", core_views.health_live_view, name="health-live"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", core_views.admin_login),
    path("admin/", admin.site.urls),
    path("oidc/authenticate/", OIDCStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("regiohub.core.api.urls")),
    path("api/v1/", include("regiohub.datasets.api.urls")),
    path("api/v1/", include("regiohub.documents.api.urls")),
    path("", include("regiohub.meldpunt.urls")),
    path("", include("regiohub.datasets.urls")),
    path("", include("regiohub.opendata.urls")),
    path("", include("regiohub.dashboards.urls")),
    path("", include("regiohub.documents.urls")),
    path("", include("regiohub.core.urls")),
]

# The site's own error pages (styled, translated; see core.errors).
handler400 = "regiohub.core.errors.bad_request"
handler403 = "regiohub.core.errors.permission_denied"
handler404 = "regiohub.core.errors.page_not_found"
handler500 = "regiohub.core.errors.server_error"
