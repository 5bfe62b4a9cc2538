from django.urls import path

from regiohub.datasets.views import browse, sheet, steward, versions

app_name = "datasets"

urlpatterns = [
    path("data/", browse.dataset_list, name="list"),
    path("data/<slug:slug>/", browse.dataset_detail, name="detail"),
    path("data/<slug:slug>/download/", browse.download, name="download"),
    path(
        "data/<slug:slug>/download/metadata.json",
        browse.download_metadata,
        name="download-metadata",
    ),
    path("data/<slug:slug>/compare/", versions.compare_page, name="compare"),
    path("data/<slug:slug>/compare/download/", versions.compare_download, name="compare-download"),
    path("staff/data/new/", steward.dataset_create, name="create"),
    path("staff/data/<slug:slug>/edit/", steward.dataset_edit, name="edit"),
    path("staff/data/<slug:slug>/upload/", steward.upload, name="upload"),
    path("staff/data/<slug:slug>/feed/", steward.feed_settings, name="feed"),
    path("staff/data/<slug:slug>/versions/<int:number>/restore/", versions.restore, name="restore"),
    path("staff/data/<slug:slug>/feed/run/", steward.feed_run, name="feed-run"),
    path("staff/data/<slug:slug>/loads/<int:pk>/", steward.load_detail, name="load"),
    path("staff/data/<slug:slug>/loads/<int:pk>/confirm/", steward.load_confirm, name="confirm"),
    path("staff/data/<slug:slug>/loads/<int:pk>/cancel/", steward.load_cancel, name="cancel"),
    path("staff/data/<slug:slug>/loads/<int:pk>/again/", sheet.load_reopen, name="reopen"),
]
