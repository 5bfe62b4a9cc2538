"""The letters' staff pages (``documents.views``); the REST API is in ``api/urls.py``."""

from django.urls import path

from regiohub.documents import views

app_name = "documents"

urlpatterns = [
    path("staff/letters/", views.letter_list, name="list"),
    path("staff/letters/failed/", views.failed_list, name="failed"),
    path("staff/letters/new/", views.new_letter, name="new"),
    path("staff/letters/<uuid:public_id>/", views.letter_detail, name="letter"),
    path(
        "staff/letters/<uuid:public_id>/files/<int:position>/",
        views.letter_file,
        name="file",
    ),
    path("staff/letters/<uuid:public_id>/resend/", views.resend_letter, name="resend"),
]
