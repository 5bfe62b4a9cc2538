"""The catalogue pages, the sitemap and the steward's pages (included by opendata/urls.py)."""

from django.urls import path

from regiohub.opendata.views import catalogue, steward

urlpatterns = [
    path("open/", catalogue.catalogue, name="catalogue"),
    path("open/<slug:slug>/", catalogue.dataset, name="dataset"),
    path("sitemap.xml", catalogue.sitemap, name="sitemap"),
    path("staff/open/", steward.manage, name="manage"),
    path("staff/open/<slug:slug>/", steward.describe, name="describe"),
    path("staff/open/<slug:slug>/publish/", steward.publish, name="publish"),
    path("staff/open/<slug:slug>/withdraw/", steward.withdraw, name="withdraw"),
]
