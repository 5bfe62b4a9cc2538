"""Routes of this part of the portal (included by opendata/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
