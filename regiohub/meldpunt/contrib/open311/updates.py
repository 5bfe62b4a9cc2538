"""Service request updates (``GET servicerequestupdates``): mySociety's extension of
GeoReport v2 that tells apps what happened to reports.

An update is one public event in a report's life, read from the append-only history:

- ``report.status_changed``: the status after it, and for a cancellation or a reopening
  the reason (the reporter is told it as well);
- ``report.message_sent`` of a message or question to the reporter: its text;
- ``report.updated_through_api``: an update an app posted. It stands for the status
  change it made, so the app sees its own update once, under the update_id it was given;
- ``report.handed_over`` to another municipality of the region: in the jurisdiction the
  report left, with status INTERNAL_REFERRAL (apps that follow it there learn where it
  went); in the jurisdiction that has it now, with the status it had.

``update_id`` is ``h`` and the entry's id: history rows are never renumbered, rewritten or
removed, so the same update has the same id, time and status in every answer.

Only reports the jurisdiction shows in ``GET requests`` (``resources.reports_of``) have
updates there. Descriptions hold only what the reporter may see, and :func:`public_text`
takes the personal data we can recognise out of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core.models import HistoryEntry, Organisation
from regiohub.core.models.history import shown
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import Handover, Message, MessageKind, Report
from regiohub.meldpunt.workflow import Status

from .resources import NOTED_STATUSES, ApiError, parse_w3, reports_of, w3

S = Status
#: Our status -> the Open311 ``status`` after an update: OPEN/CLOSED and mySociety's
#: extended statuses, in upper case as in the extension's examples.
UPDATE_STATUSES: dict[Status, str] = {
    S.NEW: "OPEN",
    S.ACKNOWLEDGED: "INVESTIGATING",
    S.IN_PROGRESS: "IN_PROGRESS",
    S.WAITING_FOR_REPORTER: "IN_PROGRESS",
    S.ON_HOLD: "ACTION_SCHEDULED",
    S.RESOLVED: "FIXED",
    S.CLOSED: "FIXED",  # closed only ever follows resolved
    S.REOPENED: "OPEN",
    S.FORWARDED: "NOT_COUNCILS_RESPONSIBILITY",
    S.MERGED: "DUPLICATE",
    S.CANCELLED: "NO_FURTHER_ACTION",
}
#: The status of a hand-over, in the jurisdiction the report left.
INTERNAL_REFERRAL = "INTERNAL_REFERRAL"
#: Messages that are updates: those written to the reporter. Messages from the reporter
#: stay between them and the municipality; internal notes and hand-overs are internal.
PUBLISHED_KINDS = (MessageKind.TO_REPORTER.value, MessageKind.QUESTION.value)

DEFAULT_WINDOW = timedelta(days=1)
MAX_WINDOW = timedelta(days=31)
_SECOND = timedelta(seconds=1)
#: An app's update entry is written a few milliseconds after the status change it
#: stands for; entries this close outside the window are read to fold them.
_FOLD_MARGIN = timedelta(minutes=5)


# --- The window -------------------------------------------------------------------------


def _ceil_second(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole + _SECOND if whole != moment else whole


def window(params: Mapping[str, Any], now: datetime | None = None) -> tuple[datetime, datetime]:
    """The updates ``start_date``..``end_date`` asks for, as ``[since, until)`` in UTC.

    Both dates are inclusive on the update time as the answer shows it, to the second: an
    update shown as 10:00:00 is in a window that starts or ends at 10:00:00. Without dates
    the window is the last 24 hours; with ``start_date`` alone it runs until now, with
    ``end_date`` alone it is the 24 hours before. At most 31 days: the whole window is
    answered, without pages.
    """
    errors: list[str] = []
    dates: dict[str, datetime] = {}
    for field in ("start_date", "end_date"):
        raw = params.get(field) or ""
        if raw.strip():
            try:
                dates[field] = parse_w3(raw, field)
            except ApiError as exc:
                errors.extend(exc.descriptions)
    if errors:
        raise ApiError(400, *errors)
    now = now or timezone.now()
    start, end = dates.get("start_date"), dates.get("end_date")
    if start is None:
        end = end or now
        start = end - DEFAULT_WINDOW
    elif end is None:
        end = max(now, start)
        if end - start > MAX_WINDOW:
            raise ApiError(
                400,
                _(
                    "start_date lies more than %(days)d days ago and without end_date the "
                    "window ends now: give an end_date at most %(days)d days after it."
                )
                % {"days": MAX_WINDOW.days},
            )
    if end < start:
        raise ApiError(400, _("end_date must not be before start_date."))
    if end - start > MAX_WINDOW:
        raise ApiError(
            400,
            _("start_date and end_date may not span more than %(days)d days.")
            % {"days": MAX_WINDOW.days},
        )
    return _ceil_second(start), end.replace(microsecond=0) + _SECOND


# --- Personal data out of the text --------------------------------------------------------

HIDDEN = "[…]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: A phone number: from + or 0, nine digits or more, with the usual separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+|0)\d(?:[ ./()-]{0,2}\d){7,}(?!\w)")
#: A Belgian national register number (yy.mm.dd-nnn.cc, with or without punctuation).
_NATIONAL_NUMBER = re.compile(r"(?<![\d.])\d{2}\.?\d{2}\.?\d{2}-?\d{3}\.?\d{2}(?![\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
#: Parts of Dutch and French names that are ordinary words too ("van", "de").
_NAME_PARTICLES = frozenset(
    {"van", "den", "der", "het", "ten", "ter", "von", "des", "del", "les", "aan"}
)


def _name_words(names: Iterable[str]) -> list[str]:
    words: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if len(name) >= 3:
            words.add(name)
        words.update(
            part
            for part in re.split(r"[\s,]+", name)
            if len(part) >= 3 and part.lower() not in _NAME_PARTICLES
        )
    return sorted(words, key=len, reverse=True)


def public_text(text: str, *, names: Iterable[str] = (), exact: Iterable[str] = ()) -> str:
    """``text`` without the personal data we can recognise: e-mail addresses, phone
    numbers, national register numbers, bank accounts, and the ``names`` (and each of
    their words) and ``exact`` strings we know belong to the people of this report.

    A name we do not know (a neighbour the handler mentions) cannot be recognised: the
    operators' documentation asks handlers to write to reporters as in public.
    """
    for value in sorted({v.strip() for v in exact if v and v.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(value), HIDDEN, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(HIDDEN, text)
    text = _IBAN.sub(HIDDEN, text)
    text = _NATIONAL_NUMBER.sub(HIDDEN, text)
    text = _PHONE.sub(HIDDEN, text)
    words = _name_words(names)
    if words:
        pattern = r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)"
        text = re.sub(pattern, HIDDEN, text, flags=re.IGNORECASE)
    return text


# --- The updates -----------------------------------------------------------------------

_ACTIONS = (
    Action.STATUS_CHANGED,
    Action.MESSAGE_SENT,
    Action.HANDED_OVER,
    Action.REPORT_UPDATED_THROUGH_API,
)
_ENTRY_FIELDS = ("pk", "object_id", "action", "at", "before", "after", "reason", "actor__full_name")
_REPORT_FIELDS = (
    "pk", "reference", "organisation_id", "status", "reporter_name", "reporter_email",
    "reporter_phone", "merged_into__reference",
)  # fmt: skip


def _entries(organisation: Organisation, since: datetime, until: datetime) -> list[dict]:
    """The history entries that may be updates in ``organisation``, oldest first, with a
    margin around the window for folding.

    Entries are found by the organisation they were recorded in (indexed, like ``at``),
    plus those of reports handed to ``organisation`` from elsewhere (recorded where the
    report was then) and the hand-overs that took a report away. Whether the report is
    shown here now is checked afterwards, on the few reports found.
    """
    moved_in = (
        Handover.objects.filter(
            to_organisation=organisation,
            report__organisation=organisation,
            created_at__gte=since - _FOLD_MARGIN,  # entries before it, in the window
        )
        .order_by()
        .values_list("report_id", flat=True)
        .distinct()
    )
    where = (
        Q(organisation=organisation)
        | Q(object_id__in=[str(pk) for pk in moved_in])
        | Q(action=Action.HANDED_OVER, before__organisation=organisation.pk)
    )
    published = ~Q(action=Action.MESSAGE_SENT) | Q(after__kind__in=PUBLISHED_KINDS)
    return list(
        HistoryEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Report),
            action__in=_ACTIONS,
            at__gte=since - _FOLD_MARGIN,
            at__lt=until + _FOLD_MARGIN,
        )
        .filter(where, published)
        .order_by("at", "pk")
        .values(*_ENTRY_FIELDS)
    )


class _History:
    """What the updates of one answer need besides their own entries: the reports, the
    status each had at any moment, messages, external bodies and municipalities."""

    def __init__(self, entries: list[dict[str, Any]], organisation: Organisation) -> None:
        report_ids = {int(e["object_id"]) for e in entries}
        self.reports = {
            r["pk"]: r for r in Report.objects.filter(pk__in=report_ids).values(*_REPORT_FIELDS)
        }
        self.visible = self._visible(organisation)
        needs_timeline = {
            int(e["object_id"])
            for e in entries
            if e["action"] in (Action.MESSAGE_SENT, Action.HANDED_OVER)
        }
        self.timeline: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
        self.first_status: dict[int, str] = {}
        if needs_timeline:
            changes = (
                HistoryEntry.objects.filter(
                    content_type=ContentType.objects.get_for_model(Report),
                    object_id__in=[str(pk) for pk in needs_timeline],
                    action=Action.STATUS_CHANGED,
                )
                .order_by("at", "pk")
                .values_list("object_id", "at", "pk", "before", "after")
            )
            for object_id, at, pk, before, after in changes:
                report_id = int(object_id)
                self.first_status.setdefault(report_id, (before or {}).get("status", ""))
                self.timeline[report_id].append((at, pk, (after or {}).get("status", "")))
        message_ids = [
            (e["after"] or {}).get("message")
            for e in entries
            if e["action"] in (Action.MESSAGE_SENT, Action.REPORT_UPDATED_THROUGH_API)
        ]
        self.messages = {
            m["pk"]: m
            for m in Message.objects.filter(pk__in=[i for i in message_ids if i]).values(
                "pk", "body", "kind", "author__full_name"
            )
        }
        forwarded = {
            int(e["object_id"]) for e in entries if (e["after"] or {}).get("status") == S.FORWARDED
        }
        self.handovers: dict[int, list[Handover]] = defaultdict(list)
        for handover in (
            Handover.objects.filter(report_id__in=forwarded, to_external_body__isnull=False)
            .select_related("to_external_body")
            .order_by("created_at")
        ):
            self.handovers[handover.report_id].append(handover)
        municipality_ids = {
            (e["after"] or {}).get("organisation")
            for e in entries
            if e["action"] == Action.HANDED_OVER
        }
        self.municipalities = {
            o.pk: o for o in Organisation.objects.filter(pk__in=[i for i in municipality_ids if i])
        }

    def _visible(self, organisation: Organisation) -> set[int]:
        """The reports of these entries that ``GET requests`` shows where they are now."""
        by_place: dict[int, set[int]] = defaultdict(set)
        for report in self.reports.values():
            by_place[report["organisation_id"]].add(report["pk"])
        visible: set[int] = set()
        places = {o.pk: o for o in Organisation.objects.filter(pk__in=by_place)}
        for place_id, ids in by_place.items():
            place = organisation if place_id == organisation.pk else places[place_id]
            visible.update(reports_of(place).filter(pk__in=ids).values_list("pk", flat=True))
        return visible

    def status_at(self, report_id: int, at: datetime, pk: int) -> str:
        """The report's status just after the history entry (``at``, ``pk``)."""
        status = self.first_status.get(report_id) or self.reports[report_id]["status"]
        for change_at, change_pk, after in self.timeline.get(report_id, ()):
            if (change_at, change_pk) > (at, pk):
                break
            status = after
        return status

    def external_body(self, report_id: int, at: datetime) -> str:
        """The name of the external body the report was handed to by ``at``."""
        name = ""
        for handover in self.handovers.get(report_id, ()):
            if handover.created_at <= at and handover.to_external_body is not None:
                name = handover.to_external_body.display_name
        return name


def _status_text(status: str, reason: str, report: dict[str, Any], body: str) -> str:
    label = Status(status).label if status in Status.values else status
    if status == S.MERGED and report["merged_into__reference"]:
        return _("Merged into report %(reference)s: follow that report.") % {
            "reference": report["merged_into__reference"]
        }
    if status == S.FORWARDED and body:
        return _("Handed over to %(body)s, who look after this.") % {"body": body}
    if status in NOTED_STATUSES and reason:
        return _("Status: %(status)s. Reason: %(reason)s") % {
            "status": label,
            "reason": shown(reason),
        }
    return _("Status: %(status)s.") % {"status": label}


def _update(
    entry: dict[str, Any], history: _History, organisation: Organisation
) -> dict[str, Any] | None:
    """The update ``entry`` records in ``organisation``, or ``None`` when it shows none
    there."""
    report_id = int(entry["object_id"])
    report = history.reports.get(report_id)
    if report is None or report_id not in history.visible:
        return None
    action, after = entry["action"], entry["after"] or {}
    left = (
        action == Action.HANDED_OVER
        and (entry["before"] or {}).get("organisation") == organisation.pk
    )
    if report["organisation_id"] != organisation.pk and not left:
        return None  # recorded where a report was before it moved on
    names = [report["reporter_name"], entry["actor__full_name"] or ""]
    if action == Action.STATUS_CHANGED:
        status = after.get("status", "")
        body = history.external_body(report_id, entry["at"])
        text = _status_text(status, entry["reason"], report, body)
    elif action == Action.REPORT_UPDATED_THROUGH_API:
        status = after.get("status", "")
        message = history.messages.get(after.get("message") or 0)
        if message is None and not after.get("status_change"):
            return None  # nothing public: only a media URL, kept as an internal note
        text = message["body"] if message else _status_text(status, "", report, "")
    elif action == Action.MESSAGE_SENT:
        message = history.messages.get(after.get("message") or 0)
        if message is None or message["kind"] not in PUBLISHED_KINDS:
            return None
        status = history.status_at(report_id, entry["at"], entry["pk"])
        names.append(message["author__full_name"] or "")
        text = message["body"]
    else:  # handed over to another municipality
        target = history.municipalities.get(after.get("organisation") or 0)
        if target is None:
            return None
        status = history.status_at(report_id, entry["at"], entry["pk"])
        text = _("Handed over to %(municipality)s (jurisdiction_id %(nis)s).") % {
            "municipality": target.display_name,
            "nis": target.nis_code,
        }
    return {
        "update_id": update_id(entry["pk"]),
        "service_request_id": report["reference"],
        "status": INTERNAL_REFERRAL if left else UPDATE_STATUSES.get(status, "OPEN"),
        "updated_datetime": w3(entry["at"]),
        "description": public_text(
            text, names=names, exact=[report["reporter_email"], report["reporter_phone"]]
        ),
        "media_url": "",
    }


def updates(organisation: Organisation, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The updates of ``organisation``'s reports in ``[since, until)``, oldest first."""
    entries = _entries(organisation, since, until)
    if not entries:
        return []
    history = _History(entries, organisation)
    folded = {
        (e["after"] or {}).get("status_change")
        for e in entries
        if e["action"] == Action.REPORT_UPDATED_THROUGH_API
    }
    found = (
        _update(entry, history, organisation)
        for entry in entries
        if since <= entry["at"] < until and entry["pk"] not in folded
    )
    return [item for item in found if item is not None]


def update_id(entry_id: int) -> str:
    """The update_id of the update a history entry records."""
    return f"h{entry_id}"
