"""Leases: a task whose worker died is requeued by any live worker, and /health/ says so.

The slow end-to-end version with real processes is ``test_killed_worker_lease.py``.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import timedelta

import pytest
import structlog
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regiohub.core import health, heartbeat
from regiohub.core.mail import headers_for, message_id
from regiohub.core.models import WorkerHeartbeat
from regiohub.core.supervise import Supervisor
from regiohub.core.tasks import enqueue, requeue_orphaned
from regiohub.core.tests import sample_tasks


def running_task(subject: str, worker_ids: list[str], started_ago: timedelta) -> DBTaskResult:
    """A task row as a worker leaves it when it claims it (django-tasks-db's ``claim``)."""
    enqueue(sample_tasks.send_note, subject)
    row = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert row is not None
    DBTaskResult.objects.filter(pk=row.pk).update(
        status="RUNNING", worker_ids=worker_ids, started_at=timezone.now() - started_ago
    )
    row.refresh_from_db()
    return row


def worker(worker_id: str, beat_ago: timedelta, queues: list[str] | None = None) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="host",
        pid=1,
        queues=queues or ["*"],
        started_at=now - timedelta(hours=1),
        beat_at=now - beat_ago,
    )


@pytest.mark.django_db
def test_tasks_of_dead_or_unknown_workers_are_requeued_those_of_live_ones_not(settings):
    settings.TASK_LEASE_SECONDS = 60
    worker("dead", beat_ago=timedelta(seconds=90))
    worker("alive", beat_ago=timedelta(seconds=5))
    of_dead = running_task("dead", ["earlier", "dead"], timedelta(minutes=5))
    of_alive = running_task("alive", ["dead", "alive"], timedelta(minutes=5))
    of_unknown = running_task("unknown", ["gone"], timedelta(minutes=5))
    just_started = running_task("young", ["not-registered-yet"], timedelta(seconds=10))

    with structlog.testing.capture_logs() as logs:
        assert requeue_orphaned() == 2
    assert requeue_orphaned() == 0  # nothing left, nothing twice

    def status(row: DBTaskResult) -> str:
        row.refresh_from_db()
        return row.status

    assert status(of_dead) == status(of_unknown) == "READY"
    assert status(of_alive) == status(just_started) == "RUNNING"
    of_dead.refresh_from_db()
    assert of_dead.started_at is None
    assert of_dead.worker_ids == ["earlier", "dead"]  # the history of who ran it stays
    (warning,) = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] == "requeued tasks of a dead worker"
    assert warning["count"] == 2
    assert warning["workers"] == ["dead", "gone"]


@pytest.mark.django_db
def test_a_task_claimed_again_meanwhile_is_not_requeued(monkeypatch):
    """The requeue matches worker_ids and started_at as read: a second worker that requeued
    (and a third that claimed the task again) in between wins, nothing is undone."""
    worker("dead", beat_ago=timedelta(hours=1))
    row = running_task("raced", ["dead"], timedelta(minutes=5))
    seen = heartbeat.orphaned()
    assert [orphan.id for orphan in seen] == [str(row.pk)]
    DBTaskResult.objects.filter(pk=row.pk).update(
        worker_ids=["dead", "third"], started_at=timezone.now()
    )
    monkeypatch.setattr(heartbeat, "orphaned", lambda: seen)
    assert requeue_orphaned() == 0
    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("RUNNING", ["dead", "third"])

    # The same snapshot, still true: requeued.
    DBTaskResult.objects.filter(pk=row.pk).update(
        worker_ids=seen[0].worker_ids, started_at=seen[0].started_at
    )
    assert requeue_orphaned() == 1


@pytest.mark.django_db
def test_health_reports_running_orphaned_and_live_workers(settings):
    settings.TASK_LEASE_SECONDS = 60
    settings.HEALTH_ORPHANED_SECONDS = 120
    worker("dead", beat_ago=timedelta(seconds=100))  # lease expired 40 s ago
    worker("mailer", beat_ago=timedelta(seconds=1), queues=["default", "mail"])
    worker("everything", beat_ago=timedelta(seconds=1))
    running_task("orphan", ["dead"], timedelta(minutes=3))
    running_task("fine", ["mailer"], timedelta(minutes=3))

    body = Client().get("/health/").json()
    assert body["status"] == "ok"
    queue = body["checks"]["task_queue"]
    assert (queue["running"], queue["orphaned"]) == (2, 1)
    assert 39 <= queue["oldest_orphaned_s"] <= 42
    assert body["checks"]["workers"] == {
        "status": "ok",
        "live": 2,
        "per_queue": {"default": 2, "mail": 2, "connectors": 1, "data": 1, "documents": 1},
    }

    # Orphaned longer than the threshold: no live worker requeues it. The whole is 503.
    settings.HEALTH_ORPHANED_SECONDS = 30
    response = Client().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["task_queue"]["status"] == "error"
    assert "orphaned" in body["checks"]["task_queue"]["error"]
    assert body["checks"]["workers"]["status"] == "ok"
    settings.HEALTH_ORPHANED_SECONDS = 0  # turned off
    assert Client().get("/health/").status_code == 200


@pytest.mark.django_db
def test_health_is_an_error_when_a_queue_has_no_live_worker_for_too_long(settings):
    settings.HEALTH_UNSERVED_MINUTES = 10
    worker("mailer", beat_ago=timedelta(seconds=1), queues=["mail"])
    enqueue(sample_tasks.wait_for_release, "/nowhere", 1)  # on "data"
    enqueue(sample_tasks.send_note, "waits on a served queue")  # on "mail"
    assert health.check()["status"] == "ok"  # just enqueued

    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=11))
    report = health.check()
    assert report["status"] == "error"
    workers = report["checks"]["workers"]
    assert workers["status"] == "error"
    assert workers["unserved_queues"] == ["data"]  # "mail" has its worker
    assert workers["per_queue"]["data"] == 0

    # A retried task counts from its run_after, not from its first enqueue.
    DBTaskResult.objects.update(run_after=timezone.now() - timedelta(minutes=1))
    assert health.check()["status"] == "ok"

    worker("loader", beat_ago=timedelta(seconds=1), queues=["data"])
    DBTaskResult.objects.update(run_after=timezone.now() - timedelta(minutes=30))
    assert health.check()["status"] == "ok"
    settings.HEALTH_UNSERVED_MINUTES = 0
    WorkerHeartbeat.objects.all().delete()
    assert health.check()["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_the_worker_registers_runs_under_its_id_and_forgets_itself(mailoutbox):
    enqueue(sample_tasks.send_note, "with a lease")
    call_command("worker", "--batch", "--interval", "0", "--no-schedule")
    row = DBTaskResult.objects.get()
    assert row.status == "SUCCESSFUL"
    (worker_id,) = row.worker_ids
    assert re.fullmatch(r".+-\d+-[A-Za-z0-9]{8}", worker_id)
    assert not WorkerHeartbeat.objects.exists()  # stopped cleanly: its row is gone


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_and_requeues(settings):
    import threading

    from regiohub.core.management.commands.worker import _heartbeat

    settings.TASK_LEASE_SECONDS = 3  # beats every 0.5 s
    worker("dead", beat_ago=timedelta(minutes=5))
    row = running_task("orphan", ["dead"], timedelta(minutes=5))
    heartbeat.register("me", ["mail"])
    WorkerHeartbeat.objects.filter(worker_id="me").update(
        beat_at=timezone.now() - timedelta(seconds=30)
    )
    stop = threading.Event()
    thread = threading.Thread(target=_heartbeat, args=(stop, "me", ["mail"], 0.2), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while DBTaskResult.objects.get(pk=row.pk).status != "READY":
            assert time.monotonic() < deadline, "the orphan was not requeued"
            time.sleep(0.05)
        assert heartbeat.live().filter(worker_id="me").exists()
    finally:
        stop.set()
        thread.join(timeout=10)


# --- Mail: one Message-ID per idempotency key ---------------------------------------------


def test_the_message_id_is_stable_per_key_and_differs_between_keys(settings):
    settings.SITE_URL = "https://meldpunt.example.be/"
    assert message_id("meldpunt.ack:1") == message_id("meldpunt.ack:1")
    assert message_id("meldpunt.ack:1") != message_id("meldpunt.ack:2")
    assert re.fullmatch(r"<[0-9a-f]{40}@meldpunt\.example\.be>", message_id("meldpunt.ack:1"))
    assert headers_for("k") == {"Message-ID": message_id("k")}


@pytest.mark.django_db
def test_a_resent_invitation_carries_the_same_message_id(mailoutbox):
    from regiohub.core.models import IdempotencyKey
    from regiohub.core.tasks_mail import send_invitation
    from regiohub.core.tests.factories import OrganisationFactory, UserFactory

    organisation = OrganisationFactory()
    person = UserFactory(email="nieuw@example.org")
    send_invitation.call(person.pk, organisation.pk)
    IdempotencyKey.objects.all().delete()  # as if killed between the send and the commit
    send_invitation.call(person.pk, organisation.pk)
    first, second = mailoutbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.message()["Message-ID"] == message_id(f"core.invitation:{person.pk}")


# --- serve --with-worker: the supervisor ------------------------------------------------


def wait_until(condition, limit: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_dying_child_is_restarted_with_exponential_back_off():
    supervisor = Supervisor(
        [sys.executable, "-c", "import sys; sys.exit(3)"],
        first_delay=0.05,
        max_delay=0.2,
        reset_after=60,
        poll=0.01,
    )
    with structlog.testing.capture_logs() as logs:
        supervisor.start()
        try:
            wait_until(lambda: supervisor.restarts >= 5)
        finally:
            supervisor.stop()
    restarts = [e for e in logs if e["event"] == "task worker stopped, restarting"]
    assert [e["restart_in_s"] for e in restarts[:5]] == [0.05, 0.1, 0.2, 0.2, 0.2]
    assert {e["exit_code"] for e in restarts} == {3}
    assert all(e["log_level"] == "warning" for e in restarts)


def test_the_back_off_starts_over_after_the_child_ran_a_while():
    supervisor = Supervisor(
        [sys.executable, "-c", "import time; time.sleep(0.3)"],
        first_delay=0.05,
        max_delay=1,
        reset_after=0.2,
        poll=0.01,
    )
    with structlog.testing.capture_logs() as logs:
        supervisor.start()
        try:
            wait_until(lambda: supervisor.restarts >= 3)
        finally:
            supervisor.stop()
    restarts = [e for e in logs if e["event"] == "task worker stopped, restarting"]
    assert [e["restart_in_s"] for e in restarts[:3]] == [0.05, 0.05, 0.05]


def test_stop_terminates_the_child_and_does_not_restart_it():
    supervisor = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"], poll=0.01)
    supervisor.start()
    process = supervisor.process
    assert process is not None
    started = time.monotonic()
    assert supervisor.stop() == -15  # SIGTERM
    assert time.monotonic() - started < 5
    time.sleep(0.1)
    assert supervisor.process is process and supervisor.restarts == 0
