"""An update posted by an app (``POST servicerequestupdates``, mySociety's extension of
GeoReport v2) changes a report once.

The update's ``status`` may move the report through the workflow (through
``change_status``, like a handler's click: the same rules, SLA, mails and history); its
``description`` becomes a message to the reporter (shown on the follow-up page, mailed,
and public in ``GET servicerequestupdates``). The client's ``update_id`` is stored with the
update (:class:`ApiUpdateReceipt`): the same id again is refused, so an app that retries
after a timeout never tells the reporter twice. ``media_url`` is never fetched; like on
filing, it is kept as an internal note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.models import HistoryEntry, Organisation
from regiohub.core.tasks import enqueue
from regiohub.meldpunt import workflow
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import ApiClient, ApiUpdateReceipt, Message, MessageKind, Report
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.workflow import FINISHED, REASON_REQUIRED, Status

from .filing import LIMITS, MAX_DESCRIPTION, _field_error
from .render import NOT_XML
from .resources import ApiError, parse_w3, reports_of
from .updates import UPDATE_STATUSES, update_id

S = Status
#: The status an app may post -> the status it gives the report (``None``: the report
#: stays as it is when open, and is reopened when finished).
POSTED_STATUSES: dict[str, Status | None] = {
    "OPEN": None,
    "REOPEN": S.REOPENED,
    "INVESTIGATING": S.ACKNOWLEDGED,
    "IN_PROGRESS": S.IN_PROGRESS,
    "ACTION_SCHEDULED": S.ON_HOLD,
    "FIXED": S.RESOLVED,
    "CLOSED": S.RESOLVED,
    "NO_FURTHER_ACTION": S.CANCELLED,
}
#: Extended statuses that need more than a status (the report it duplicates, the body or
#: municipality to hand it to): a handler sets them in the contact point.
HANDLER_ONLY = frozenset({"DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "INTERNAL_REFERRAL"})
#: What an external body's client (``ApiClient.external_body``) may post: its answer to a
#: hand-over (ADR 0038), by the status it posts.
BODY_ANSWERS = {
    "INVESTIGATING": "acknowledge",
    "IN_PROGRESS": "acknowledge",
    "ACTION_SCHEDULED": "acknowledge",
    "FIXED": "resolve",
    "CLOSED": "resolve",
    "NOT_COUNCILS_RESPONSIBILITY": "reject",
}
MAX_UPDATE_ID = 100
_FIELDS = (
    "service_request_id", "update_id", "status", "updated_datetime", "description", "media_url",
)  # fmt: skip


def target_status(current: Status | str, posted: str) -> Status | None:
    """The status the posted ``status`` gives a report now in ``current``; ``None`` when
    the report already is what the app says (an app that only knows OPEN and CLOSED
    changes nothing by repeating them, nor does one that repeats the DUPLICATE it read).
    A status only a handler can give is a 400 when it would change the report."""
    current = Status(current)
    if UPDATE_STATUSES[current] == posted:
        return None
    if posted in HANDLER_ONLY:
        raise ApiError(
            400,
            _field_error(
                "status",
                _(
                    "%(status)s needs more than a status (the report it duplicates, or whom "
                    "to hand it to): a handler of the contact point does this."
                )
                % {"status": posted},
            ),
        )
    if posted == "OPEN":
        return S.REOPENED if current in FINISHED else None
    if posted == "CLOSED" and current in FINISHED:
        return None
    target = POSTED_STATUSES[posted]
    return None if target == current else target


def _clean(data: Any) -> tuple[dict[str, str], datetime | None]:
    """Check the parameters; raise one 400 naming every problem."""
    values = {name: (data.get(name) or "").strip() for name in _FIELDS}
    errors = [
        _field_error(name, _("contains control characters that are not allowed."))
        for name, value in values.items()
        if NOT_XML.search(value)
    ]
    if errors:
        raise ApiError(400, *errors)
    if not values["service_request_id"]:
        errors.append(_field_error("service_request_id", _("say which report this updates.")))
    if not values["update_id"]:
        errors.append(_field_error("update_id", _("give the id this update has in your app.")))
    elif len(values["update_id"]) > MAX_UPDATE_ID:
        errors.append(
            _field_error("update_id", _("at most %(limit)d characters.") % {"limit": MAX_UPDATE_ID})
        )
    status = values["status"] = values["status"].upper()
    if not status:
        errors.append(_field_error("status", _("give the status after this update.")))
    elif status not in POSTED_STATUSES and status not in HANDLER_ONLY:
        errors.append(
            _field_error(
                "status",
                _("%(status)s is not one of %(statuses)s.")
                % {"status": status[:40], "statuses": ", ".join(POSTED_STATUSES)},
            )
        )
    posted_at = None
    if not values["updated_datetime"]:
        errors.append(_field_error("updated_datetime", _("give the time of the update.")))
    else:
        try:
            posted_at = parse_w3(values["updated_datetime"], "updated_datetime")
        except ApiError as exc:
            errors.extend(exc.descriptions)
    if len(values["description"]) > MAX_DESCRIPTION:
        errors.append(
            _field_error(
                "description", _("at most %(limit)d characters.") % {"limit": MAX_DESCRIPTION}
            )
        )
    if len(values["media_url"]) > LIMITS["media_url"]:
        errors.append(
            _field_error(
                "media_url", _("at most %(limit)d characters.") % {"limit": LIMITS["media_url"]}
            )
        )
    elif values["media_url"]:
        try:
            URLValidator(schemes=["http", "https"])(values["media_url"])
        except ValidationError:
            errors.append(_field_error("media_url", _("an http or https URL is needed.")))
    if errors:
        raise ApiError(400, *errors)
    return values, posted_at


def _repeated(receipt: ApiUpdateReceipt | None, update: str) -> ApiError:
    if receipt is None:  # the other request is still being written
        return ApiError(
            409,
            _("update_id %(id)s was already received from this api_key; it is not applied again.")
            % {"id": update[:MAX_UPDATE_ID]},
        )
    return ApiError(
        409,
        _(
            "update_id %(id)s was already received from this api_key on %(date)s, as update "
            "%(ours)s; it is not applied again."
        )
        % {
            "id": update[:MAX_UPDATE_ID],
            "date": timezone.localtime(receipt.received_at).isoformat(timespec="seconds"),
            "ours": update_id(receipt.history_entry_id),
        },
    )


def post_update(client: ApiClient, organisation: Organisation, data: Any) -> str:
    """Apply the update ``client`` posted to a report of ``organisation``; return our
    update_id for it."""
    bound = client.organisation
    if bound is not None and bound.pk != organisation.pk:
        raise ApiError(
            403,
            _("This api_key may only update service requests in %(municipality)s.")
            % {"municipality": bound.display_name},
        )
    values, posted_at = _clean(data)
    report = reports_of(organisation).filter(reference=values["service_request_id"][:30]).first()
    if report is None:
        raise ApiError(
            404,
            _("service_request_id %(id)s was not found in %(municipality)s.")
            % {"id": values["service_request_id"][:30], "municipality": organisation.display_name},
        )
    receipts = ApiUpdateReceipt.objects.filter(client=client, update_id=values["update_id"])
    if receipts.exists():
        raise _repeated(receipts.first(), values["update_id"])
    try:
        if client.external_body_id:
            entry = _apply_for_body(client, report, values, posted_at)
        else:
            entry = _apply(client, report, values, posted_at)
    except IntegrityError as exc:  # the same update_id, posted twice at the same moment
        raise _repeated(receipts.first(), values["update_id"]) from exc
    return update_id(entry.pk)


@transaction.atomic
def _apply(
    client: ApiClient, report: Report, values: dict[str, str], posted_at: datetime | None
) -> HistoryEntry:
    report = Report.objects.select_for_update().get(pk=report.pk)
    target = target_status(report.status, values["status"])
    description = values["description"]
    if target is None and not description and not values["media_url"]:
        raise ApiError(
            400,
            _("Nothing to update: the report already is %(status)s and no description was sent.")
            % {"status": values["status"]},
        )
    if target in REASON_REQUIRED and not description:
        raise ApiError(
            400,
            _field_error(
                "description",
                _("say why: a report becomes “%(status)s” only with a reason.")
                % {"status": target.label},
            ),
        )
    label = _("API client %(name)s") % {"name": client.name}
    status_entry = None
    if target is not None:
        try:
            report = change_status(
                report, target, actor=None, actor_label=label, reason=description
            )
        except workflow.TransitionNotAllowed as exc:
            raise ApiError(409, _field_error("status", str(exc))) from exc
        status_entry = (
            HistoryEntry.objects.for_object(report)
            .filter(action=Action.STATUS_CHANGED)
            .order_by("-at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
    message = None
    if description:
        message = Message.objects.create(
            report=report, kind=MessageKind.TO_REPORTER, body=description
        )
    note = None
    if values["media_url"]:
        note = Message.objects.create(
            report=report,
            kind=MessageKind.NOTE,
            body=_("Media URL sent by the app %(client)s (not fetched; open with care): %(url)s")
            % {"client": client.name, "url": values["media_url"]},
        )
    entry = history.record(
        report,
        Action.REPORT_UPDATED_THROUGH_API,
        actor_label=label,
        organisation=report.organisation,
        after={
            "api_client": client.pk,
            "update_id": values["update_id"],
            "updated_datetime": posted_at.isoformat() if posted_at else None,
            "status": report.status,
            "status_change": status_entry,
            "message": message.pk if message else None,
            "media_url_note": note.pk if note else None,
        },
    )
    ApiUpdateReceipt.objects.create(
        client=client, update_id=values["update_id"], report=report, history_entry=entry
    )
    if message is not None and report.reporter_email:
        from regiohub.meldpunt.tasks import send_message_mail

        enqueue(send_message_mail, message.pk)
    return entry


@transaction.atomic
def _apply_for_body(
    client: ApiClient, report: Report, values: dict[str, str], posted_at: datetime | None
) -> HistoryEntry:
    """An external body's answer to the hand-over of ``report`` to it: acknowledged,
    resolved (the description is the message to the reporter) or not theirs (the
    description is the reason). Only a report handed over to the client's body, through
    the same services as the body's link."""
    from regiohub.meldpunt.services import handoff

    body = client.external_body
    answer = BODY_ANSWERS.get(values["status"])
    if answer is None:
        raise ApiError(
            400,
            _field_error(
                "status",
                _(
                    "as %(body)s, post INVESTIGATING (you have the report), FIXED (solved, "
                    "with a description for the reporter) or NOT_COUNCILS_RESPONSIBILITY "
                    "(not yours, with the reason as description)."
                )
                % {"body": body.display_name},
            ),
        )
    handover = handoff.latest_to(report, body)
    if handover is None:
        raise ApiError(
            403,
            _(
                "service_request_id %(id)s was not handed over to %(body)s; this api_key may "
                "only update the reports handed over to it."
            )
            % {"id": report.reference, "body": body.display_name},
        )
    label = _("API client %(name)s") % {"name": client.name}
    description = values["description"]
    try:
        if answer == "acknowledge":
            outcome = handoff.acknowledge(handover, note=description, actor_label=label)
        elif answer == "reject":
            outcome = handoff.reject(handover, description, actor_label=label)
        else:
            outcome = handoff.resolve(
                handover, description, actor_label=label, record_message=False
            )
    except ValidationError as exc:
        problems = [str(m) for messages in exc.message_dict.values() for m in messages]
        raise ApiError(400, *[_field_error("description", p) for p in problems]) from exc
    except handoff.HandoffClosed as exc:
        raise ApiError(409, str(exc)) from exc
    if not outcome.changed:
        raise ApiError(
            409,
            _field_error(
                "status",
                _("the hand-over already has this answer (%(state)s); nothing changed.")
                % {"state": outcome.handover.get_state_display()},
            ),
        )
    note = None
    if values["media_url"]:
        note = Message.objects.create(
            report=report,
            kind=MessageKind.NOTE,
            body=_("Media URL sent by the app %(client)s (not fetched; open with care): %(url)s")
            % {"client": client.name, "url": values["media_url"]},
        )
    report.refresh_from_db(fields=["status"])
    entry = history.record(
        report,
        Action.REPORT_UPDATED_THROUGH_API,
        actor_label=label,
        organisation=report.organisation,
        after={
            "api_client": client.pk,
            "update_id": values["update_id"],
            "updated_datetime": posted_at.isoformat() if posted_at else None,
            "status": report.status,
            "status_change": outcome.status_entry.pk if outcome.status_entry else None,
            "message": outcome.message.pk if outcome.message else None,
            "media_url_note": note.pk if note else None,
            "handover": handover.pk,
        },
    )
    ApiUpdateReceipt.objects.create(
        client=client, update_id=values["update_id"], report=report, history_entry=entry
    )
    return entry
