"""Periodic jobs are enqueued once per period, however many workers tick, and a job the
worker missed is caught up later the same day."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from regiohub.core import schedule
from regiohub.core.management.commands.worker import _ticker
from regiohub.core.tasks import task

BRUSSELS = ZoneInfo("Europe/Brussels")


@task()
def periodic_note() -> None:
    mail.send_mail("periodic", "body", None, ["someone@example.org"])


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


@pytest.fixture
def jobs(monkeypatch):
    """An empty registry for the test (the apps' own jobs are put back afterwards)."""
    monkeypatch.setattr(schedule, "_jobs", {})
    return schedule


def queued() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="periodic_note").count()


def test_a_daily_job_is_due_from_its_hour_until_the_end_of_the_local_day():
    daily = schedule.Daily(7)
    assert daily(local(2026, 6, 10, 6, 59)) is None
    assert daily(local(2026, 6, 10, 7, 0)) == "2026-06-10"
    assert daily(local(2026, 6, 10, 23, 59)) == "2026-06-10"
    assert daily(local(2026, 6, 11, 0, 30)) is None
    # Local time decides, not UTC: 05:30 UTC is 07:30 in Brussels in summer.
    assert daily(datetime(2026, 6, 10, 5, 30, tzinfo=UTC)) == "2026-06-10"
    # 23:30 UTC on the 10th is already the 11th in Brussels.
    assert daily(datetime(2026, 6, 10, 23, 30, tzinfo=UTC)) is None


def test_the_hour_may_come_from_a_setting_read_at_every_tick(settings):
    daily = schedule.Daily("MELDPUNT_DIGEST_HOUR")
    settings.MELDPUNT_DIGEST_HOUR = 9
    assert daily(local(2026, 6, 10, 8, 0)) is None
    assert daily(local(2026, 6, 10, 9, 0)) == "2026-06-10"
    settings.MELDPUNT_DIGEST_HOUR = 25
    with pytest.raises(ValueError):
        daily(local(2026, 6, 10, 9, 0))


def test_the_apps_register_their_jobs():
    names = {job.name for job in schedule.jobs()}
    assert {"meldpunt.daily-digest", "meldpunt.retention"} <= names


@pytest.mark.django_db
def test_a_job_is_enqueued_once_a_day_however_often_and_by_however_many_workers_it_ticks(jobs):
    jobs.every_day("test.note", periodic_note, hour=7)
    assert jobs.tick(local(2026, 6, 10, 6, 0)) == []
    assert queued() == 0

    assert jobs.tick(local(2026, 6, 10, 7, 0)) == ["test.note"]
    # The next minute, and a second worker ticking at the same moment: nothing new.
    assert jobs.tick(local(2026, 6, 10, 7, 1)) == []
    assert jobs.tick(local(2026, 6, 10, 7, 0)) == []
    assert queued() == 1

    assert jobs.tick(local(2026, 6, 11, 6, 59)) == []
    assert jobs.tick(local(2026, 6, 11, 7, 0)) == ["test.note"]
    assert queued() == 2


@pytest.mark.django_db
def test_a_job_missed_while_the_worker_was_down_is_caught_up_the_same_day(jobs):
    jobs.every_day("test.note", periodic_note, hour=7)
    assert jobs.tick(local(2026, 6, 10, 6, 59)) == []
    # No worker ran between 07:00 and 15:30.
    assert jobs.tick(local(2026, 6, 10, 15, 30)) == ["test.note"]
    assert jobs.tick(local(2026, 6, 10, 23, 59)) == []
    assert queued() == 1


@pytest.mark.django_db
def test_a_job_missed_for_a_whole_day_is_not_run_twice_the_next_day(jobs):
    jobs.every_day("test.note", periodic_note, hour=7)
    assert jobs.tick(local(2026, 6, 12, 8, 0)) == ["test.note"]  # 10th and 11th missed
    assert jobs.tick(local(2026, 6, 12, 9, 0)) == []
    assert queued() == 1


@pytest.mark.django_db
def test_on_the_day_clocks_go_forward_the_missing_hour_runs_at_the_first_tick_after_it(jobs):
    # 29 March 2026: at 02:00 local time the clocks jump to 03:00.
    jobs.every_day("test.night", periodic_note, hour=2)
    jobs.every_day("test.morning", periodic_note, hour=7)
    assert jobs.tick(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == []  # 01:59 local
    assert jobs.tick(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == ["test.night"]  # 03:00
    # 07:00 local is 05:00 UTC from today, not 06:00 as yesterday.
    assert jobs.tick(datetime(2026, 3, 29, 4, 59, tzinfo=UTC)) == []
    assert jobs.tick(datetime(2026, 3, 29, 5, 0, tzinfo=UTC)) == ["test.morning"]
    assert queued() == 2


@pytest.mark.django_db
def test_on_the_day_clocks_go_back_the_repeated_hour_runs_once(jobs):
    # 25 October 2026: 02:00-03:00 local time happens twice.
    jobs.every_day("test.night", periodic_note, hour=2)
    assert jobs.tick(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == ["test.night"]  # 02:30
    assert jobs.tick(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == []  # 02:30 again
    assert queued() == 1


@pytest.mark.django_db
def test_a_failing_job_does_not_keep_the_others_from_being_enqueued(jobs):
    def broken(now: datetime) -> str:
        raise RuntimeError("bad schedule")

    jobs.register("test.broken", periodic_note, broken)
    jobs.every_day("test.note", periodic_note, hour=7)
    assert jobs.tick(local(2026, 6, 10, 8, 0)) == ["test.note"]


def test_job_names_may_not_contain_the_key_separator(jobs):
    with pytest.raises(ValueError):
        jobs.register("a:b", periodic_note, schedule.Daily(1))


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_the_same_moment_enqueue_a_job_once(jobs):
    jobs.every_day("test.note", periodic_note, hour=7)
    now = local(2026, 6, 10, 7, 0)
    barrier = threading.Barrier(2)
    enqueued: list[str] = []

    def worker() -> None:
        from django.db import connection

        try:
            barrier.wait()
            # A worker that lost a database lock tries again at its next tick.
            for _ in range(3):
                enqueued.extend(jobs.tick(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert enqueued == ["test.note"]
    assert queued() == 1


@pytest.mark.django_db(transaction=True)
def test_worker_batch_enqueues_the_due_jobs_and_runs_them(jobs, mailoutbox):
    jobs.register("test.always", periodic_note, lambda now: "every-run")
    call_command("worker", "--batch", "--interval", "0")
    assert [m.subject for m in mailoutbox] == ["periodic"]
    call_command("worker", "--batch", "--interval", "0")
    assert len(mailoutbox) == 1  # once per period


@pytest.mark.django_db(transaction=True)
def test_worker_without_schedule_does_not_enqueue_jobs(jobs, mailoutbox):
    jobs.register("test.always", periodic_note, lambda now: "every-run")
    call_command("worker", "--batch", "--interval", "0", "--no-schedule")
    assert mailoutbox == []
    assert queued() == 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_ticks_in_a_background_thread_until_stopped(jobs):
    jobs.register("test.always", periodic_note, lambda now: "every-run")
    stop = threading.Event()
    thread = threading.Thread(target=_ticker, args=(stop, 0.01), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if queued():
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert queued() == 1


@pytest.mark.django_db
def test_finished_task_rows_are_pruned_after_the_configured_days(settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from regiohub.core.tasks import prune_task_results

    settings.TASK_RESULT_DAYS = 30
    DBTaskResult.objects.all().delete()
    old = timezone.now() - timedelta(days=31)
    recent = timezone.now() - timedelta(days=2)
    for finished in (old, recent):
        DBTaskResult.objects.create(
            status="SUCCESSFUL", finished_at=finished, args_kwargs={"args": [], "kwargs": {}},
            task_path="x.y", backend_name="default", run_after=finished, queue_name="mail",
        )  # fmt: skip
    prune_task_results.call()
    assert list(DBTaskResult.objects.values_list("finished_at", flat=True)) == [recent]
    assert "core.prune-task-results" in {job.name for job in schedule.jobs()}


def test_an_interval_job_runs_once_per_block_whatever_the_workers(db):
    from datetime import timedelta

    calls = schedule.Every(5)
    start = datetime(2026, 11, 25, 10, 2, tzinfo=UTC)
    assert calls(start) == calls(start + timedelta(minutes=2))  # same 10:00-10:05 block
    assert calls(start) != calls(start + timedelta(minutes=4))  # 10:05 block
    with pytest.raises(ValueError):
        schedule.Every(0)
    assert "meldpunt.topdesk-poll" in {job.name for job in schedule.jobs()}
