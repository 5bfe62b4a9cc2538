"""Routes of the DCAT-AP feed (included at the site root by opendata/urls.py): where
harvesters look for it, as ckanext-dcat serves it."""

from django.urls import URLPattern, path, register_converter

from regiohub.opendata.dcat import views


class RdfSuffix:
    """``ttl``, ``rdf``, ``xml`` (RDF/XML too) or ``jsonld``."""

    regex = "ttl|rdf|xml|jsonld"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RdfSuffix, "dcat_rdf_suffix")

urlpatterns: list[URLPattern] = [
    path("catalog", views.catalogue_feed, name="catalog-feed"),
    path("catalog.<dcat_rdf_suffix:fmt>", views.catalogue_rdf, name="catalog-rdf"),
    path("open/<slug:slug>.<dcat_rdf_suffix:fmt>", views.dataset_rdf, name="dataset-rdf"),
    path("id/dataset/<slug:slug>", views.dataset_id, name="dataset-id"),
    path("id/organisation/<str:code>", views.organisation_id, name="organisation-id"),
]
