"""The catalogue pages, the sitemap and the steward's pages (included by opendata/urls.py)."""

from django.urls import path

from regiohub.opendata.views import catalogue, reuses, steward

urlpatterns = [
    path("open/", catalogue.catalogue, name="catalogue"),
    path("open/reuses/", reuses.listing, name="reuses"),
    path("open/<slug:slug>/reuses/new/", reuses.submit, name="reuse-new"),
    path("staff/open/reuses/", reuses.review_list, name="reuse-review"),
    path("staff/open/reuses/<int:pk>/review/", reuses.review, name="reuse-decide"),
    path("open/<slug:slug>/", catalogue.dataset, name="dataset"),
    path("sitemap.xml", catalogue.sitemap, name="sitemap"),
    path("staff/open/", steward.manage, name="manage"),
    path("staff/open/<slug:slug>/", steward.describe, name="describe"),
    path("staff/open/<slug:slug>/publish/", steward.publish, name="publish"),
    path("staff/open/<slug:slug>/usage/", steward.usage_page, name="usage"),
    path("staff/open/<slug:slug>/withdraw/", steward.withdraw, name="withdraw"),
]
