"""The dashboards' addresses: the list, a dashboard (``?embed=1`` for a website's frame),
one chart, the data behind a chart and the exports for council reports."""

from django.urls import path, register_converter

from regiohub.dashboards import views


class _Format:
    regex = "csv|json|png|pdf|svg"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_Format, "figure_format")

app_name = "dashboards"

urlpatterns = [
    path("dashboards/", views.listing, name="list"),
    path("dashboards/<slug:slug>/", views.dashboard, name="dashboard"),
    path("dashboards/<slug:slug>.pdf", views.dashboard_pdf, name="dashboard-pdf"),
    path("dashboards/<slug:slug>/<slug:chart>/", views.chart, name="chart"),
    path(
        "dashboards/<slug:slug>/<slug:chart>.<figure_format:fmt>",
        views.chart_file,
        name="chart-file",
    ),
]
