from django.urls import include, path

from regiohub.meldpunt.contrib.mail import views as mail
from regiohub.meldpunt.views import (
    handoff,
    public,
    public_map,
    staff,
    staff_routing,
    staff_satisfaction,
    statistics,
)

app_name = "meldpunt"

urlpatterns = [
    # Citizens (Dutch paths: they end up in mails and on paper).
    path("melden/", public.report_form, name="report"),
    path("melden/privacy/", public.privacy, name="privacy"),
    path("melden/in-de-buurt/", public.nearby_open_reports, name="nearby"),
    path("melden/adressen/", public.address_suggestions, name="addresses"),
    path("melden/plaats/", public.place_at, name="place-at"),
    path("melden/foto-plaats/", public.photo_position, name="photo-position"),
    path("melden/kaart/", public_map.map_page, name="map"),
    path("melden/kaart/meldingen.json", public_map.map_json, name="map-json"),
    path("melding/<str:token>/", public.followup, name="followup"),
    path("melding/<str:token>/antwoord/", public.followup_answer, name="followup-answer"),
    path("melding/<str:token>/fotos/", public.followup_photos, name="followup-photos"),
    path("melding/<str:token>/fotos/<int:pk>/", public.followup_photo, name="followup-photo"),
    path("melding/<str:token>/beoordeling/", public.followup_rate, name="followup-rate"),
    path("melding/<str:token>/heropenen/", public.followup_reopen, name="followup-reopen"),
    path("kaart/gemeenten.geojson", public.boundaries, name="boundaries"),
    # External bodies answer a hand-over through their private link (ADR 0038).
    path("overdracht/<str:token>/", handoff.handoff_page, name="handoff"),
    # Apps (Open311 GeoReport v2).
    path("open311/v2/", include("regiohub.meldpunt.contrib.open311.urls")),
    path("meldpunt/connectors/", include("regiohub.meldpunt.contrib.connectors.urls")),
    # Staff.
    path("meldpunt/mail/inbound/", mail.inbound, name="mail-inbound"),
    path("staff/reports/mail/", mail.mailbox, name="mailbox"),
    path("staff/reports/mail/<int:pk>/discard/", mail.discard, name="mail-discard"),
    path("staff/reports/mail/<int:pk>/original/", mail.original, name="mail-original"),
    path("staff/reports/", staff.inbox_view, name="inbox"),
    path("staff/reports/new/", staff.intake, name="intake"),
    path("staff/reports/export.csv", staff.inbox_export, name="inbox-export"),
    path("staff/reports/bulk/", staff.bulk, name="bulk"),
    path("staff/reports/filters/", staff.save_filter, name="save-filter"),
    path("staff/reports/filters/<int:pk>/delete/", staff.delete_filter, name="delete-filter"),
    path(
        "staff/reports/routing/layers/<int:pk>/",
        staff_routing.layer_moves,
        name="staff-routing-moves",
    ),
    path("staff/reports/statistics/", statistics.statistics_page, name="statistics"),
    path(
        "staff/reports/statistics/export.csv",
        statistics.statistics_export,
        name="statistics-export",
    ),
    path("staff/reports/<str:reference>/", staff.report_detail, name="staff-report"),
    path(
        "staff/reports/<str:reference>/reopen-request/decline/",
        staff_satisfaction.report_decline_reopen,
        name="staff-reopen-decline",
    ),
    path(
        "staff/reports/<str:reference>/reroute/",
        staff_routing.report_reroute,
        name="staff-reroute",
    ),
    path("staff/reports/<str:reference>/owner/", staff_routing.report_owner, name="staff-owner"),
    path(
        "staff/reports/<str:reference>/subject/",
        staff_routing.report_category,
        name="staff-subject",
    ),
    path("staff/reports/<str:reference>/status/", staff.report_status, name="staff-status"),
    path("staff/reports/<str:reference>/assign/", staff.report_assign, name="staff-assign"),
    path("staff/reports/<str:reference>/note/", staff.report_note, name="staff-note"),
    path("staff/reports/<str:reference>/place/", staff.report_place, name="staff-place"),
    path("staff/reports/<str:reference>/message/", staff.report_message, name="staff-message"),
    path("staff/reports/<str:reference>/forward/", staff.report_forward, name="staff-forward"),
    path("staff/reports/<str:reference>/merge/", staff.report_merge, name="staff-merge"),
    path("staff/reports/<str:reference>/split/", staff.report_split, name="staff-split"),
    path("staff/reports/<str:reference>/photos/<int:pk>/", staff.report_photo, name="staff-photo"),
]
