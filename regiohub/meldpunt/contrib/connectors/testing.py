"""A local fake back office for tests: real HTTP on 127.0.0.1, scripted answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from regiohub.core.testing import FakeHandler, Received, local_server


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class FakeServer:
    url: str
    answers: list[Answer]
    received: list[Received]


@contextmanager
def fake_server(*answers: Answer) -> Iterator[FakeServer]:
    """Serve ``answers`` in turn (the last one repeats) and record every request."""
    script = list(answers) or [Answer()]
    received: list[Received] = []

    class Handler(FakeHandler):
        def _answer(self) -> None:
            self.read_request()
            answer = script.pop(0) if len(script) > 1 else script[0]
            if answer.delay:
                time.sleep(answer.delay)
            self.send_json(answer.status, answer.body)

        do_GET = do_POST = _answer

    Handler.received = received
    with local_server(Handler) as url:
        yield FakeServer(url, script, received)
