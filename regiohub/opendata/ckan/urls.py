"""The CKAN Action API where CKAN clients look for it (included by opendata/urls.py at
the site's root). No trailing slash: ``ckanapi`` posts and does not follow redirects."""

from django.urls import path

from regiohub.opendata.ckan import views

urlpatterns = [
    path("api/3/action/<str:name>", views.action, name="ckan-action"),
    path("api/action/<str:name>", views.action, name="ckan-action-default"),
    path("api/3", views.api_version, name="ckan-api"),
    path("api/3/", views.api_version, name="ckan-api-slash"),
]
