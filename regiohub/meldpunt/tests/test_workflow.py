"""Every pair of states: allowed ones pass, all others are refused with a clear message."""

from __future__ import annotations

import itertools

import pytest

from regiohub.meldpunt import workflow
from regiohub.meldpunt.workflow import Status, TransitionNotAllowed

S = Status

EXPECTED_ALLOWED = {
    (S.NEW, S.ACKNOWLEDGED), (S.NEW, S.IN_PROGRESS), (S.NEW, S.WAITING_FOR_REPORTER),
    (S.NEW, S.ON_HOLD), (S.NEW, S.RESOLVED), (S.NEW, S.FORWARDED), (S.NEW, S.MERGED),
    (S.NEW, S.CANCELLED),
    (S.ACKNOWLEDGED, S.IN_PROGRESS), (S.ACKNOWLEDGED, S.WAITING_FOR_REPORTER),
    (S.ACKNOWLEDGED, S.ON_HOLD), (S.ACKNOWLEDGED, S.RESOLVED), (S.ACKNOWLEDGED, S.FORWARDED),
    (S.ACKNOWLEDGED, S.MERGED), (S.ACKNOWLEDGED, S.CANCELLED),
    (S.IN_PROGRESS, S.WAITING_FOR_REPORTER), (S.IN_PROGRESS, S.ON_HOLD),
    (S.IN_PROGRESS, S.RESOLVED), (S.IN_PROGRESS, S.FORWARDED), (S.IN_PROGRESS, S.MERGED),
    (S.IN_PROGRESS, S.CANCELLED),
    (S.WAITING_FOR_REPORTER, S.IN_PROGRESS), (S.WAITING_FOR_REPORTER, S.ON_HOLD),
    (S.WAITING_FOR_REPORTER, S.RESOLVED), (S.WAITING_FOR_REPORTER, S.FORWARDED),
    (S.WAITING_FOR_REPORTER, S.MERGED), (S.WAITING_FOR_REPORTER, S.CANCELLED),
    (S.ON_HOLD, S.IN_PROGRESS), (S.ON_HOLD, S.WAITING_FOR_REPORTER), (S.ON_HOLD, S.RESOLVED),
    (S.ON_HOLD, S.FORWARDED), (S.ON_HOLD, S.MERGED), (S.ON_HOLD, S.CANCELLED),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.REOPENED),
    (S.CLOSED, S.REOPENED),
    (S.REOPENED, S.IN_PROGRESS), (S.REOPENED, S.WAITING_FOR_REPORTER), (S.REOPENED, S.ON_HOLD),
    (S.REOPENED, S.RESOLVED), (S.REOPENED, S.FORWARDED), (S.REOPENED, S.MERGED),
    (S.REOPENED, S.CANCELLED),
    (S.FORWARDED, S.IN_PROGRESS), (S.FORWARDED, S.RESOLVED), (S.FORWARDED, S.CANCELLED),
    (S.CANCELLED, S.REOPENED),
}  # fmt: skip

ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_transition_table(current, target):
    reason = "because"
    if (current, target) in EXPECTED_ALLOWED:
        workflow.check(current, target, reason=reason)
        assert target in workflow.next_states(current)
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            workflow.check(current, target, reason=reason)
        assert str(current.label) in str(refused.value)
        assert str(target.label) in str(refused.value)
        assert target not in workflow.next_states(current)


def test_the_table_has_no_transition_the_test_does_not_know():
    actual = {(c, t) for c, targets in workflow.TRANSITIONS.items() for t in targets}
    assert actual == EXPECTED_ALLOWED


def test_every_state_is_reachable_from_new():
    seen, frontier = {S.NEW}, [S.NEW]
    while frontier:
        for target in workflow.TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Status)


def test_merged_is_final_and_no_state_loops_onto_itself():
    assert workflow.next_states(S.MERGED) == []
    assert all(status not in workflow.TRANSITIONS[status] for status in Status)


@pytest.mark.parametrize("target", sorted(workflow.REASON_REQUIRED))
def test_a_reason_is_required_for(target):
    current = next(c for c in Status if target in workflow.TRANSITIONS[c])
    with pytest.raises(TransitionNotAllowed, match=r"reason|reden|raison"):
        workflow.check(current, target, reason="   ")
    workflow.check(current, target, reason="De aannemer komt pas in mei.")


def test_open_and_finished_partition_the_states():
    assert set(Status) == workflow.OPEN | workflow.FINISHED
    assert not workflow.OPEN & workflow.FINISHED
    assert workflow.SLA_PAUSED <= workflow.OPEN
