"""regiohub stays the front office: what it tells the reporter, and the status changes made
in regiohub, are added to the TOPdesk incident as actions (ADR 0036).

Status changes come from the ``meldpunt.report_status_changed`` event; messages to the
reporter (and photos added later) from the ``Message`` and ``Photo`` rows the services
write (there is no event for them), inside the service's transaction. Either way a task
is enqueued in that same transaction and does the HTTP; changes that came from TOPdesk
itself (the poll) are not sent back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.utils import translation
from django.utils.translation import gettext as _

from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import enqueue
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskConnector, Update, as_html
from regiohub.meldpunt.events import ReportStatusChanged
from regiohub.meldpunt.models import ConnectorConfig, Delivery, Message, Photo, Report
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.models.conversation import MessageKind
from regiohub.meldpunt.workflow import Status

#: Messages regiohub writes to the reporter (their answers and internal notes stay here).
PUSHED_KINDS = (MessageKind.TO_REPORTER, MessageKind.QUESTION)


def pushes_updates(config: ConnectorConfig) -> bool:
    return (config.settings or {}).get("push_updates", True) is not False


def deliveries_to_update(report_id: int) -> list[Delivery]:
    """The report's TOPdesk deliveries of its present municipality that take updates."""
    deliveries = (
        Delivery.objects.filter(
            report=report_id, config__connector=TopdeskConnector.name, config__is_active=True
        )
        .exclude(state=DeliveryState.DEAD)
        .select_related("config", "report")
    )
    return [
        d
        for d in deliveries
        if d.config.organisation_id == d.report.organisation_id and pushes_updates(d.config)
    ]


def from_this_back_office(entry: HistoryEntry | None, config: ConnectorConfig) -> bool:
    """A change the poll of ``config`` applied (no person, the connector as actor)."""
    return entry is not None and entry.actor_id is None and entry.actor_label == config.name


def on_status_changed(event: ReportStatusChanged) -> None:
    from regiohub.meldpunt.contrib.topdesk.tasks import push_topdesk_update

    entry = HistoryEntry.objects.filter(pk=event.history_entry_id).first()
    for delivery in deliveries_to_update(event.report_id):
        if not from_this_back_office(entry, delivery.config):
            enqueue(push_topdesk_update, delivery.pk, "status", event.history_entry_id)


def status_change_concerns_topdesk(event: ReportStatusChanged) -> bool:
    return Delivery.objects.filter(
        report=event.report_id, config__connector=TopdeskConnector.name, config__is_active=True
    ).exists()


def on_message_saved(sender: Any, instance: Message, created: bool, **kwargs: Any) -> None:
    """A new message to the reporter: enqueued in the transaction that wrote it."""
    if not created or kwargs.get("raw") or instance.kind not in PUSHED_KINDS:
        return
    from regiohub.meldpunt.contrib.topdesk.tasks import push_topdesk_update

    for delivery in deliveries_to_update(instance.report_id):
        enqueue(push_topdesk_update, delivery.pk, "message", instance.pk)


def on_photo_saved(sender: Any, instance: Photo, created: bool, **kwargs: Any) -> None:
    """A photo added after the push (the reporter's follow-up page, a handler) is attached
    too; photos of a new report go with its push."""
    if not created or kwargs.get("raw"):
        return
    from regiohub.meldpunt.contrib.topdesk.tasks import push_topdesk_update

    for delivery in deliveries_to_update(instance.report_id):
        enqueue(push_topdesk_update, delivery.pk, "photo", instance.pk)


def subscribe() -> None:
    from regiohub.core import events

    events.subscribe(
        ReportStatusChanged,
        "meldpunt.connectors.topdesk_status",
        on_status_changed,
        queue="connectors",
        when=status_change_concerns_topdesk,
    )
    post_save.connect(on_message_saved, sender=Message, dispatch_uid="meldpunt.topdesk.messages")
    post_save.connect(on_photo_saved, sender=Photo, dispatch_uid="meldpunt.topdesk.photos")


def build(connector: TopdeskConnector, report: Report, kind: str, object_id: int) -> Update | None:
    """The action for one status change (a history entry) or one message; ``None`` when it
    is gone. Written in the site's language: TOPdesk's operators read it."""
    with translation.override(settings.LANGUAGE_CODE):
        if kind == "status":
            entry = HistoryEntry.objects.for_object(report).filter(pk=object_id).first()
            status = (entry.after or {}).get("status") if entry else None
            if entry is None or status not in Status.values:
                return None
            html = "<b>{}</b><br>{}".format(
                as_html(_("Status in regiohub: %(status)s") % {"status": Status(status).label}),
                as_html(entry.reason_display),
            )
            return Update(
                marker=f"[regiohub:status:{entry.pk}]",
                html=html,
                processing_status=connector.processing_status_for(status),
            )
        if kind == "message":
            message = Message.objects.filter(pk=object_id, report=report).first()
            if message is None:
                return None
            heading = as_html(
                _("%(kind)s (sent by regiohub)") % {"kind": message.get_kind_display()}
            )
            return Update(
                marker=f"[regiohub:message:{message.pk}]",
                html=f"<b>{heading}</b><br>{as_html(message.body)}",
            )
    return None
