"""A question that runs past its time limit is stopped, and only that one: one watchdog
thread per process keeps the deadlines of every running query."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from regiohub.datasets import query

SLOW = "SELECT sum(i) FROM range(100000000000) t(i)"  # minutes of work


def test_a_query_past_its_limit_is_interrupted_and_the_connection_goes_on():
    con = query.connection()
    started = time.monotonic()
    with query.Deadline(con, 0.2) as deadline, pytest.raises(duckdb.Error) as raised:
        con.sql(SLOW).fetchall()
    assert query.interrupted(raised.value, deadline)
    assert deadline.fired and time.monotonic() - started < 5
    assert con.sql("SELECT 42").fetchall() == [(42,)]


def test_a_deadline_left_in_time_never_fires_on_the_next_question():
    con = query.connection()
    with query.Deadline(con, 0.05) as early:
        assert con.sql("SELECT 1").fetchall() == [(1,)]
    time.sleep(0.15)  # past the deadline it had
    with query.Deadline(con, 5) as later:
        assert con.sql("SELECT count(*) FROM range(1000000)").fetchall() == [(1000000,)]
    assert not early.fired and not later.fired


def test_each_thread_is_stopped_at_its_own_limit():
    outcome: dict[str, str] = {}

    def ask(name: str, seconds: float, sql: str) -> None:
        con = query.connection()  # one per thread
        with query.Deadline(con, seconds) as deadline:
            try:
                con.sql(sql).fetchall()
                outcome[name] = "answered"
            except duckdb.Error as exc:
                outcome[name] = "stopped" if query.interrupted(exc, deadline) else repr(exc)

    threads = [
        threading.Thread(target=ask, args=("slow", 0.3, SLOW)),
        threading.Thread(target=ask, args=("quick", 30, "SELECT 1")),
        threading.Thread(target=ask, args=("slower", 0.6, SLOW)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcome == {"slow": "stopped", "quick": "answered", "slower": "stopped"}
