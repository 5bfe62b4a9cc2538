"""Every background task runs on a queue that exists and that the operators' guide names,
and docs/scaling.md lists each task under the queue it really runs on."""

from __future__ import annotations

import importlib
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

import regiohub
from regiohub.core import schedule, tasks

PACKAGE = Path(regiohub.__file__).parent
SCALING = PACKAGE.parent / "docs" / "scaling.md"
DECORATOR = re.compile(r"^\s*@[\w.]*task\b", re.MULTILINE)


def task_modules() -> list[str]:
    """Every module of the product (not its tests) that declares a task."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        if DECORATOR.search(path.read_text()):
            names.append(".".join(parts))
    return names


def product_tasks() -> dict[str, Task]:
    """The product's tasks by function name, every module that declares one imported."""
    modules = [importlib.import_module(name) for name in task_modules()]
    # A task declared with django_tasks' own decorator would skip the retries.
    registered = {id(t) for t in tasks.declared()}
    bypassing = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, Task) and id(value) not in registered
    ]
    assert bypassing == [], "declare tasks with regiohub.core.tasks.task"
    found = [t for t in tasks.declared() if ".tests." not in t.module_path]
    by_name = {t.name: t for t in found}
    assert len(by_name) == len(found), "two tasks share a name; the docs could not tell them apart"
    return by_name


def documented_queues() -> dict[str, set[str]]:
    """The queue table of docs/scaling.md: queue -> the task names listed for it."""
    text = SCALING.read_text()
    start = text.index("| Queue | Tasks |")
    table: dict[str, set[str]] = {}
    for line in text[start:].splitlines()[2:]:  # below the header and its rule
        if not line.startswith("|"):
            break
        queue, names = (cell.strip() for cell in line.strip("|").split("|")[:2])
        table[queue.strip("`")] = set(re.findall(r"`(\w+)`", names))
    assert table, "docs/scaling.md has no queue table"
    return table


def test_the_documented_queues_are_the_configured_ones():
    assert set(documented_queues()) == set(settings.TASKS["default"]["QUEUES"])


def test_every_task_runs_on_a_documented_and_configured_queue():
    configured = set(settings.TASKS["default"]["QUEUES"])
    documented = set(documented_queues())
    found = product_tasks()
    assert len(found) >= 15, sorted(found)  # the walk found the modules
    # Test-only tasks too: a worker has to be able to run them.
    wrong = {t.module_path: t.queue_name for t in tasks.declared()}
    wrong = {path: q for path, q in wrong.items() if q not in configured & documented}
    assert wrong == {}


def test_the_docs_list_each_task_under_the_queue_it_runs_on():
    table = documented_queues()
    actual = {queue: set() for queue in table}
    for name, task_ in product_tasks().items():
        actual.setdefault(task_.queue_name, set()).add(name)
    assert table == actual


def test_the_work_is_split_as_the_docs_promise():
    found = product_tasks()
    assert found["push_report"].queue_name == "connectors"
    assert found["poll_topdesk"].queue_name == "connectors"
    for name in ("inspect_load", "run_load", "run_feed", "run_due_feeds", "compute_stats"):
        assert found[name].queue_name == "data", name
    mails = {name for name, t in found.items() if t.queue_name == "mail"}
    assert mails == {
        "send_invitation", "send_acknowledgement", "send_status_update", "send_message_mail",
        "notify_assignee", "send_handover_mail", "send_department_digest",
        "send_satisfaction_question",
    }  # fmt: skip
    for name in ("prune_task_results", "send_daily_digests", "anonymise_expired_reports"):
        assert found[name].queue_name == "default", name  # scheduled housekeeping


@pytest.mark.django_db
def test_the_scheduler_enqueues_each_job_on_its_own_task_queue():
    jobs = schedule.jobs()
    assert {job.task.queue_name for job in jobs} >= {"default", "connectors", "data"}
    # Late in the evening every daily job is due, and every interval job always is.
    enqueued = schedule.tick(datetime(2026, 6, 10, 23, 30, tzinfo=ZoneInfo("Europe/Brussels")))
    assert sorted(enqueued) == sorted(job.name for job in jobs)
    rows = {row.task_path: row.queue_name for row in DBTaskResult.objects.all()}
    assert rows == {job.task.module_path: job.task.queue_name for job in jobs}
