"""``regiohub serve --with-demo-services`` starts the processes the modules declare for the
demo (``ModuleConfig.demo_services``) under a supervisor and stops them at exit; without
the flag none start. Gunicorn and collectstatic are replaced: only the wiring is tested."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command

from regiohub.core import modules
from regiohub.core.management.commands import serve


class FakeSupervisor:
    made: list[FakeSupervisor] = []

    def __init__(self, command: list[str], **options: Any) -> None:
        self.command, self.name = command, options.get("name", "task worker")
        self.started = self.stopped = False
        self.made.append(self)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def served(monkeypatch):
    FakeSupervisor.made = []
    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(serve, "Supervisor", FakeSupervisor)
    monkeypatch.setattr(serve, "subprocess", SimpleNamespace(run=lambda *a, **k: None))
    monkeypatch.setattr(serve._Gunicorn, "run", lambda self: ran.append(self.options))
    return ran


def test_the_letters_declare_their_stand_ins():
    assert ("documents", "stand-ins") in modules.demo_services()


def test_serve_with_demo_services_supervises_each_and_stops_them(served):
    call_command("serve", "--bind", "127.0.0.1:8123", "--with-worker", "--with-demo-services")
    assert served and served[0]["bind"] == "127.0.0.1:8123"
    commands = [s.command for s in FakeSupervisor.made]
    assert [sys.executable, "-m", "regiohub.cli", "worker"] in commands
    for service in modules.demo_services():
        assert [sys.executable, "-m", "regiohub.cli", *service] in commands
    assert len(commands) == 1 + len(modules.demo_services())
    assert all(s.started and s.stopped for s in FakeSupervisor.made)
    assert "documents stand-ins" in [s.name for s in FakeSupervisor.made]


def test_serve_without_the_flag_starts_no_demo_service(served):
    call_command("serve", "--bind", "127.0.0.1:8123")
    assert served and FakeSupervisor.made == []
