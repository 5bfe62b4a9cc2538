"""Helpers for the test suites of every module (not imported by the product)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from regiohub.core.auth.oidc import SESSION_METHOD_KEY

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CHROMIUM = "/usr/bin/chromium"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def in_ci() -> bool:
    """Whether this runs in CI, which sets the ``CI`` environment variable (``CI=true``)."""
    value = os.environ.get("CI", "")  # noqa: TID251 - CI's own switch, not a product setting
    return value.strip().lower() not in {"", "0", "false", "no", "off"}


def shared_path(*parts: str) -> Path:
    """A file or folder of the shared data folder (``../shared``, next to the project).

    When it is absent the test is skipped with a note, except in CI, which always lays
    the shared folder next to the project: there its absence is a broken set-up, and the
    test fails instead of passing unnoticed as a skip. Every test that needs the shared
    folder comes here, directly or through the :func:`needs_shared` mark.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: this test needs the shared folder next to the project"
        if in_ci():
            pytest.fail(f"{message} (CI is set, so a missing file fails the run)", pytrace=False)
        pytest.skip(message)
    return path


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """A mark for tests (or, as ``pytestmark``, modules) that need ``shared_path(*parts)``;
    ``regiohub/conftest.py`` checks it before each such test."""
    return pytest.mark.needs_shared(*parts)


def check_shared_marks(item: pytest.Item) -> None:
    """Skip, or fail in CI, a test whose ``needs_shared`` marks name an absent path."""
    for mark in item.iter_markers("needs_shared"):
        shared_path(*mark.args)


def staff_client(user: Any) -> Client:
    """A test client logged in as ``user`` with the second factor done."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_METHOD_KEY] = "password+totp"
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def run_tasks(max_rounds: int = 10) -> int:
    """Run every ready task the way ``regiohub worker`` does, in this connection.

    The real worker closes "old" connections between tasks, which would close the test's
    transaction; this runs the same claim/run/record steps without that. Tasks enqueued by
    tasks run too (up to ``max_rounds`` rounds). Returns how many tasks ran.
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    for _ in range(max_rounds):
        ready = list(DBTaskResult.objects.ready())
        if not ready:
            break
        for result in ready:
            result.claim(worker.worker_id)
            worker.run_task(result)
            ran += 1
    return ran


@contextmanager
def chromium_page(
    width: int = 1280, height: int = 900, *, javascript: bool = True
) -> Iterator[Any]:
    """A headless Chromium page (Debian's chromium, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, java_script_enabled=javascript
            )
            yield context.new_page()
        finally:
            browser.close()


def login_page_as(page: Any, user: Any, base_url: str) -> None:
    """Give the browser page a staff session (second factor done) for ``user``."""
    client = staff_client(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
    )


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """WCAG 2.1 A and AA violations axe-core finds on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
    ]


# --- Local fake servers that speak an outside service's wire format ----------------------


@dataclass
class Received:
    """One request a fake server got, for tests to look at."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeHandler(BaseHTTPRequestHandler):
    """Base of a fake server's handler: records each request in ``received`` (set by the
    subclass), answers JSON or raw bytes, and keeps the test output quiet."""

    received: list[Received]

    def read_request(self) -> Received:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Received(self.command, self.path, dict(self.headers), body)
        self.received.append(request)
        return request

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), headers)

    def send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout)
            pass

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def local_server(
    handler: type[BaseHTTPRequestHandler], poll_interval: float = 0.5
) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


#: Settings a worker subprocess must not inherit from the test run: its database, mail,
#: task backend, secrets, datasets and site all live in its own data directory.
_INHERITED = (
    "DATABASE_URL",
    "EMAIL_HOST",
    "REGIOHUB_TASK_BACKEND",
    "REGIOHUB_SECRETS_KEY",
    "REGIOHUB_DATASETS_URI",
    "REGIOHUB_SITE_URL",
)


def worker_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of ``regiohub`` subprocesses (workers, migrate, shell) that share one
    file SQLite database in ``data_dir``, as the tests that kill real workers start them.

    ``settings`` are extra environment variables (``REGIOHUB_TASK_LEASE_SECONDS="3"``).
    """
    env = {
        **os.environ,
        "REGIOHUB_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "regiohub.settings",
        "SECRET_KEY": "test-only-secret-key-for-worker-processes-0123456789",
        "DEBUG": "false",  # db_worker would otherwise run under the autoreloader
        **settings,
    }
    for name in _INHERITED:
        env.pop(name, None)
    return env
