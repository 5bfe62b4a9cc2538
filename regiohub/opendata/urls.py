"""The portal's addresses: the catalogue pages, the DCAT-AP feed where harvesters look for
it, the CKAN action API, the steward's pages and the harvest of other catalogues."""

from django.urls import include, path

app_name = "opendata"

urlpatterns = [
    path("", include("regiohub.opendata.views.urls")),
    path("", include("regiohub.opendata.dcat.urls")),
    path("", include("regiohub.opendata.ckan.urls")),
    path("", include("regiohub.opendata.harvest.urls")),
]
