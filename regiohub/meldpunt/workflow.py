"""The life of a report: its states and the transitions allowed between them.

This table is the only place that says which status may follow which; services call
:func:`check` before every change and tests walk every pair.

    new -> acknowledged -> in progress <-> waiting for reporter / on hold -> resolved -> closed
    resolved/closed/cancelled -> reopened -> ...
    any open state -> forwarded (to an external body) | merged (into another report)
                    | cancelled (with a reason)
    forwarded -> resolved (the body solved it) | in progress (the body sent it back, or we
                 took it back) | cancelled

"Forwarded" is open: the report is with someone else until the body answers (ADR 0038).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Status(models.TextChoices):
    NEW = "new", gettext_lazy("New")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("Acknowledged")
    IN_PROGRESS = "in_progress", gettext_lazy("In progress")
    WAITING_FOR_REPORTER = "waiting_for_reporter", gettext_lazy("Waiting for the reporter")
    ON_HOLD = "on_hold", gettext_lazy("On hold")
    RESOLVED = "resolved", gettext_lazy("Resolved")
    CLOSED = "closed", gettext_lazy("Closed")
    REOPENED = "reopened", gettext_lazy("Reopened")
    FORWARDED = "forwarded", gettext_lazy("Forwarded to an external body")
    MERGED = "merged", gettext_lazy("Merged into another report")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


S = Status
_WORKING = {S.IN_PROGRESS, S.WAITING_FOR_REPORTER, S.ON_HOLD}
_LEAVE = {S.FORWARDED, S.MERGED, S.CANCELLED}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, *_WORKING, S.RESOLVED, *_LEAVE}),
    S.ACKNOWLEDGED: frozenset({*_WORKING, S.RESOLVED, *_LEAVE}),
    S.IN_PROGRESS: frozenset({S.WAITING_FOR_REPORTER, S.ON_HOLD, S.RESOLVED, *_LEAVE}),
    S.WAITING_FOR_REPORTER: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.RESOLVED, *_LEAVE}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.WAITING_FOR_REPORTER, S.RESOLVED, *_LEAVE}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({*_WORKING, S.RESOLVED, *_LEAVE}),
    # The external body may hand the report back, or tell us it is done.
    S.FORWARDED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
    S.MERGED: frozenset(),
    S.CANCELLED: frozenset({S.REOPENED}),
}

#: Transitions into these states need a reason (shown in history, and for cancel/reopen
#: to the reporter).
REASON_REQUIRED: frozenset[Status] = frozenset(
    {S.CANCELLED, S.REOPENED, S.ON_HOLD, S.FORWARDED, S.WAITING_FOR_REPORTER}
)
#: While in these states the SLA clock is paused: the reporter or an external body has the
#: next move, not the municipality (the hand-over has a due date of its own).
SLA_PAUSED: frozenset[Status] = frozenset({S.WAITING_FOR_REPORTER, S.FORWARDED})
#: States in which a report is done, from the handler's point of view.
FINISHED: frozenset[Status] = frozenset({S.RESOLVED, S.CLOSED, S.MERGED, S.CANCELLED})
OPEN: frozenset[Status] = frozenset(set(Status) - FINISHED)
#: Open, but an external body has it until it answers (ADR 0038): not ours to route or to
#: hand over again before we take it back.
WITH_EXTERNAL_BODY: frozenset[Status] = frozenset({S.FORWARDED})
#: Open and in the municipality's own hands.
HANDLED_HERE: frozenset[Status] = OPEN - WITH_EXTERNAL_BODY
#: A report has been answered (the response SLA is met) once it leaves these.
UNANSWERED: frozenset[Status] = frozenset({S.NEW})


class TransitionNotAllowed(Exception):
    """A status change the workflow does not allow; the message is for the user."""

    def __init__(self, current: Status | str, target: Status | str, message: str) -> None:
        self.current = Status(current)
        self.target = Status(target)
        super().__init__(message)


def allowed(current: Status | str, target: Status | str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


def next_states(current: Status | str) -> list[Status]:
    """The states a report in ``current`` may move to, in the order of :class:`Status`."""
    targets = TRANSITIONS[Status(current)]
    return [status for status in Status if status in targets]


def check(current: Status | str, target: Status | str, *, reason: str = "") -> None:
    """Raise :class:`TransitionNotAllowed` unless ``current -> target`` is allowed."""
    current, target = Status(current), Status(target)
    if not allowed(current, target):
        raise TransitionNotAllowed(
            current,
            target,
            _("A report that is “%(current)s” cannot become “%(target)s”.")
            % {"current": current.label, "target": target.label},
        )
    if target in REASON_REQUIRED and not reason.strip():
        raise TransitionNotAllowed(
            current,
            target,
            _("Give a reason to make the report “%(target)s”.") % {"target": target.label},
        )
