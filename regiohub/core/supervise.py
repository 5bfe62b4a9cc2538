"""Keep a child process running: ``regiohub serve --with-worker`` supervises its worker.

When the child exits (killed, crashed, out of memory) it is started again after a back-off
of 1 s, 2 s, 4 s ... at most 60 s; the back-off starts over at 1 s once a child has run for
:attr:`Supervisor.reset_after` seconds. Each exit and restart is logged. :meth:`stop` sends
SIGTERM (a worker finishes its task, then exits) and SIGKILL after a grace period.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence

import structlog

log = structlog.get_logger(__name__)


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str = "task worker",
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        reset_after: float = 60.0,
        grace: float = 20.0,
        poll: float = 0.5,
    ) -> None:
        self.command = list(command)
        self.name = name
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.reset_after = reset_after
        self.grace = grace
        self.poll = poll
        self.process: subprocess.Popen[bytes] | None = None
        #: How many times the child was started again after it exited.
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the child and watch it from a daemon thread."""
        self._spawn()
        self._thread = threading.Thread(
            target=self._watch, name=f"regiohub-supervise-{self.name}", daemon=True
        )
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self.process = subprocess.Popen(self.command)  # noqa: S603 - our own command
                log.info(f"{self.name} started", pid=self.process.pid)

    def _watch(self) -> None:
        delay = self.first_delay
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            while process.poll() is None:
                if self._stopping.wait(self.poll):
                    return
            if self._stopping.is_set():
                return
            ran = time.monotonic() - started
            if ran >= self.reset_after:
                delay = self.first_delay
            # A server that reaps every child (gunicorn's arbiter does) leaves us no exit
            # status: Popen then reports 0.
            log.warning(
                f"{self.name} stopped, restarting",
                pid=process.pid,
                exit_code=process.returncode,
                ran_s=round(ran, 1),
                restart_in_s=delay,
            )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.max_delay)
            self.restarts += 1
            self._spawn()

    def stop(self) -> int | None:
        """Stop watching, then stop the child: SIGTERM, SIGKILL after ``grace`` seconds."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if self._thread is not None:
            self._thread.join(timeout=self.poll + 5)
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.terminate()
        try:
            return process.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            log.warning(f"{self.name} ignored SIGTERM, killing it", pid=process.pid)
            process.kill()
            return process.wait(timeout=10)
