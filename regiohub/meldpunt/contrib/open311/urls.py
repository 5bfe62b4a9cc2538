from django.urls import re_path

from . import views

app_name = "open311"

_FORMAT = r"\.(?P<fmt>[A-Za-z0-9]{1,10})$"

urlpatterns = [
    re_path(r"^discovery" + _FORMAT, views.discovery, name="discovery"),
    re_path(r"^services" + _FORMAT, views.services, name="services"),
    re_path(
        r"^services/(?P<service_code>[^/.]{1,50})" + _FORMAT,
        views.service_definition,
        name="service-definition",
    ),
    re_path(r"^requests" + _FORMAT, views.requests, name="requests"),
    re_path(
        r"^requests/(?P<service_request_id>[^/.]{1,30})" + _FORMAT,
        views.service_request,
        name="request",
    ),
    re_path(
        r"^servicerequestupdates" + _FORMAT,
        views.service_request_updates,
        name="service-request-updates",
    ),
    re_path(r"^tokens/(?P<token>[^/.]{1,100})" + _FORMAT, views.token, name="token"),
]
