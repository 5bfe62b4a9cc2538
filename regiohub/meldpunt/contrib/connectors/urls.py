from django.urls import path

from regiohub.meldpunt.contrib.connectors import views

urlpatterns = [
    path("<int:pk>/callback/", views.callback, name="connector-callback"),
]
