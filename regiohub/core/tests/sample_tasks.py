"""Tasks used by the task tests (a task must live at an importable module path)."""

import os
import time
from pathlib import Path

from django.core.mail import EmailMessage, send_mail

from regiohub.core.mail import headers_for
from regiohub.core.tasks import PermanentError, once, task

FLAKY_FAILURES = {"remaining": 0}


@task(queue_name="mail")
def send_note(subject: str) -> None:
    with once(f"test-note:{subject}") as first:
        if first:
            send_mail(subject, "body", None, ["someone@example.org"])


@task(queue_name="mail")
def flaky_note(subject: str) -> None:
    if FLAKY_FAILURES["remaining"] > 0:
        FLAKY_FAILURES["remaining"] -= 1
        raise ConnectionError("mail server unavailable")
    send_mail(subject, "body", None, ["someone@example.org"])


@task(queue_name="data")
def wait_for_release(folder: str, timeout_s: float) -> str:
    """A long data task: writes ``folder/started``, then waits until ``folder/release``
    exists (or ``timeout_s`` passed, so a failed test never leaves it running for ever)."""
    Path(folder, "started").touch()
    deadline = time.monotonic() + timeout_s
    while not Path(folder, "release").exists():
        if time.monotonic() > deadline:
            return "timed out"
        time.sleep(0.05)
    return "released"


@task(queue_name="default")
def fail_permanently() -> None:
    raise PermanentError("this input can never work")


@task(queue_name="mail")
def slow_note(subject: str, folder: str, pause_s: float) -> str:
    """A mail sent inside ``once`` with its key's Message-ID, after a pause on the first run.

    Each run appends its process id to ``folder/runs``; the first run then sleeps
    ``pause_s`` before it sends (a test kills its worker meanwhile), later runs send at once.
    """
    runs = Path(folder, "runs")
    first_run = not runs.exists()
    with runs.open("a") as out:
        out.write(f"{os.getpid()}\n")
    if first_run:
        time.sleep(pause_s)
    key = f"test-slow-note:{subject}"
    with once(key) as first:
        if first:
            EmailMessage(
                subject, "body", to=["someone@example.org"], headers=headers_for(key)
            ).send()
            return "sent"
    return "already sent"
