"""Side effects start with the change that causes them, or not at all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regiohub.core.models import IdempotencyKey
from regiohub.core.tasks import ATTEMPT_KWARG, enqueue, once
from regiohub.core.tests import sample_tasks


def run_worker() -> None:
    call_command("worker", "--batch", "--interval", "0", "--no-schedule")


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_in_a_rolled_back_transaction_never_runs():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        enqueue(sample_tasks.send_note, "rolled back")
        raise Boom

    assert DBTaskResult.objects.count() == 0
    run_worker()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_in_a_committed_transaction_runs_once():
    with transaction.atomic():
        enqueue(sample_tasks.send_note, "committed")
        # Not yet visible to a worker in another connection before commit, but present in
        # this transaction: the outbox row is part of the change.
        assert DBTaskResult.objects.filter(status="READY").count() == 1

    run_worker()
    assert [m.subject for m in mail.outbox] == ["committed"]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    run_worker()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_failing_task_is_retried_later_with_backoff():
    sample_tasks.FLAKY_FAILURES["remaining"] = 1
    with transaction.atomic():
        enqueue(sample_tasks.flaky_note, "eventually")

    run_worker()
    results = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.status for r in results] == ["FAILED", "READY"]
    retry = results[1]
    assert retry.args_kwargs["kwargs"][ATTEMPT_KWARG] == 2
    assert retry.run_after > timezone.now() + timedelta(seconds=20)
    assert mail.outbox == []

    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_worker()
    assert [m.subject for m in mail.outbox] == ["eventually"]


@pytest.mark.django_db(transaction=True)
def test_task_gives_up_after_max_attempts(settings):
    settings.TASK_MAX_ATTEMPTS = 2
    sample_tasks.FLAKY_FAILURES["remaining"] = 5
    with transaction.atomic():
        enqueue(sample_tasks.flaky_note, "never")
    run_worker()
    DBTaskResult.objects.update(run_after=timezone.now())
    run_worker()
    assert DBTaskResult.objects.filter(status="FAILED").count() == 2
    assert not DBTaskResult.objects.filter(status="READY").exists()


@pytest.mark.django_db
def test_once_runs_the_body_only_the_first_time():
    runs = []
    for _ in range(3):
        with once("send:42") as first:
            if first:
                runs.append(1)
    assert runs == [1]


@pytest.mark.django_db
def test_once_forgets_a_failed_attempt():
    with pytest.raises(RuntimeError), once("send:43") as first:
        assert first
        raise RuntimeError("mail server down")
    assert not IdempotencyKey.objects.filter(key="send:43").exists()
    with once("send:43") as first:
        assert first


def test_a_permanent_failure_is_not_retried(db, settings):
    """A deterministic failure (PermanentError) is given up at once; others are retried."""
    from django_tasks_db.models import DBTaskResult

    from regiohub.core.tasks import enqueue
    from regiohub.core.testing import run_tasks
    from regiohub.core.tests.sample_tasks import fail_permanently

    settings.TASK_RETRY_BASE_SECONDS = 0
    enqueue(fail_permanently)
    run_tasks()
    rows = DBTaskResult.objects.filter(task_path__endswith="fail_permanently")
    assert rows.count() == 1 and rows.get().status == "FAILED"
