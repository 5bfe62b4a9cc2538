"""docs/events.md lists every event, its payload and who listens; every history action is a
constant of a module's Action list, never a string typed where it is recorded."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from regiohub.core import events, history

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT.parent / "docs" / "events.md"


def _product_events() -> list[type[events.Event]]:
    return [e for e in events.declared() if not e.name.startswith("testing.")]


def _section(text: str, name: str) -> str:
    match = re.search(rf"^### `{re.escape(name)}`\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    assert match, f"docs/events.md has no section for {name}"
    return match.group(1)


def test_every_event_is_documented_with_its_payload():
    text = CATALOGUE.read_text()
    assert _product_events(), "no events declared"
    for event in _product_events():
        section = _section(text, event.name)
        for field in dataclasses.fields(event):
            assert f"`{field.name}`" in section, f"{event.name}: payload field {field.name}"
        assert "Published by" in section, event.name
        assert "Listened to by" in section, event.name


def test_every_subscriber_is_named_under_its_event():
    text = CATALOGUE.read_text()
    for subscriber in events.subscribers():
        if subscriber.name.startswith("testing."):
            continue
        section = _section(text, subscriber.event.name)
        assert f"`{subscriber.name}`" in section, subscriber.name


def test_every_documented_event_exists():
    text = CATALOGUE.read_text()
    documented = set(re.findall(r"^### `([a-z_]+\.[a-z_]+)`", text, re.M))
    assert documented == {e.name for e in _product_events()}


def test_every_history_action_is_documented():
    text = CATALOGUE.read_text()
    missing = sorted(a for a in history.known_actions() if f"`{a}`" not in text)
    assert missing == []


def _literal_actions(path: Path) -> list[str]:
    """Calls of ``history.record(subject, "literal", ...)`` in a source file."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "record"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant | ast.JoinedStr)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_history_action_is_a_bare_string():
    offenders = [
        place
        for path in ROOT.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
        for place in _literal_actions(path)
    ]
    assert offenders == [], "use the module's Action constants (events.py)"


def test_nothing_reacts_to_history_rows():
    """History is a record for people; behaviour hangs on events, not on history signals."""
    from django.db.models.signals import post_save

    from regiohub.core.models import HistoryEntry

    assert not post_save.has_listeners(HistoryEntry)
