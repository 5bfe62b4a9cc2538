from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.test import Client

PROJECT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_health_reports_database_and_task_queue():
    response = Client().get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["task_queue"] == {
        "status": "ok",
        "ready": 0,
        "oldest_ready_age_s": 0,
        "failed_attempts_last_24h": 0,
        "stuck": 0,
        "running": 0,
        "orphaned": 0,
        "oldest_orphaned_s": 0,
    }
    assert body["checks"]["workers"] == {
        "status": "ok",
        "live": 0,
        "per_queue": {"default": 0, "mail": 0, "connectors": 0, "data": 0, "documents": 0},
    }
    assert body["checks"]["cache"] == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_health_answers_503_when_the_queue_is_unreachable():
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    table = DBTaskResult._meta.db_table
    with connection.cursor() as cursor:  # undone by the test's rollback
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
    response = Client().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["task_queue"]["status"] == "error"


@pytest.mark.django_db
def test_worker_requeues_tasks_orphaned_by_a_dead_worker():
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from regiohub.core.tasks import enqueue, requeue_stuck
    from regiohub.core.tests import sample_tasks

    enqueue(sample_tasks.send_note, "orphan")
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now() - timedelta(hours=2))
    assert Client().get("/health/").json()["checks"]["task_queue"]["stuck"] == 1
    assert requeue_stuck() == 1
    assert DBTaskResult.objects.get().status == "READY"
    assert requeue_stuck() == 0


@pytest.mark.django_db
def test_regiohub_check_command_reports_ok(capsys):
    call_command("regiohub_check")
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert report["status"] == "ok"
    assert report["checks"]["migrations"] == {"status": "ok", "pending": 0}


@pytest.mark.django_db
def test_every_response_carries_security_headers_and_a_request_id(settings):
    assert len(Client().get("/", HTTP_X_REQUEST_ID="abc12345-trace")["X-Request-ID"]) == 32
    settings.AXES_IPWARE_PROXY_COUNT = 1  # behind a trusted proxy, its id is kept
    response = Client().get("/", HTTP_X_REQUEST_ID="abc12345-trace")
    assert response["X-Request-ID"] == "abc12345-trace"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    hostile = Client().get("/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert "<" not in hostile["X-Request-ID"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_demo_then_serve_answers_home_and_health(tmp_path):
    """What `make run` does, on a fresh data directory: demo, then the production server."""
    env = {
        **os.environ,
        "REGIOHUB_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "regiohub.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("SECRET_KEY", None)
    regiohub = [sys.executable, "-m", "regiohub.cli"]
    demo = subprocess.run(
        [*regiohub, "demo"], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stderr
    assert "Zuid-West-Vlaanderen: 16 organisations" in demo.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    port = _free_port()
    server = subprocess.Popen(
        [*regiohub, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                home = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert home.status_code == 200
        assert "Kortrijk" in home.text and "Spiere-Helkijn" in home.text
        health = requests.get(f"http://127.0.0.1:{port}/health/", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        css = requests.get(f"http://127.0.0.1:{port}/static/regiohub/css/site.css", timeout=5)
        assert css.status_code == 200 and "skip-link" in css.text
        # The demo is idempotent: running it again changes nothing.
        again = subprocess.run(
            [*regiohub, "demo"], env=env, cwd=PROJECT, capture_output=True, text=True
        )
        assert again.returncode == 0 and "16 organisations, 71 departments" in again.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.django_db
def test_the_load_balancer_check_ignores_background_workers(client):
    """/health/live/ asks only what the web process needs; /health/ reports everything."""
    live = client.get("/health/live/")
    assert live.status_code == 200
    assert set(live.json()["checks"]) == {"database", "cache"}
    assert {"task_queue", "workers"} <= set(client.get("/health/").json()["checks"])


@pytest.mark.django_db
def test_health_fails_when_the_api_rate_store_cannot_keep_values(client, settings, tmp_path):
    """Every API request needs the rate counters (REGIOHUB_API_RATE_STORE): a store that
    cannot be written takes the replica out, as a dead database does."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(blocker / "rates"),  # below a file: nothing can be written
        },
    }
    live = client.get("/health/live/")
    assert live.status_code == 503
    assert live.json()["checks"]["cache"]["error"].startswith("throttle: ")
    assert live.json()["checks"]["database"]["status"] == "ok"
