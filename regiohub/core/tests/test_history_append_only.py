from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from regiohub.core import history
from regiohub.core.history import CoreAction
from regiohub.core.models import HistoryEntry
from regiohub.core.models.history import AppendOnlyError
from regiohub.core.tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_keeps_who_when_what_before_after_and_why():
    user = UserFactory(full_name="An Agent")
    department = DepartmentFactory(name="Milieu")
    before = history.snapshot(department, ["name", "email"])
    department.name = "Milieu en klimaat"
    after = history.snapshot(department, ["name", "email"])
    entry = history.record(
        department,
        CoreAction.DEPARTMENT_CREATED,
        actor=user,
        organisation=department.organisation,
        before=before,
        after=after,
        reason="new council",
    )
    assert entry.at is not None
    assert entry.actor == user and entry.actor_label == "An Agent"
    assert entry.before == {"name": "Milieu", "email": ""}
    assert entry.after["name"] == "Milieu en klimaat"
    assert entry.reason == "new council"
    assert list(history.history_of(department)) == [entry]


def test_an_undeclared_action_is_refused():
    """Every action is a constant of a module's Action list (docs/events.md)."""
    with pytest.raises(ValueError, match="undeclared history action"):
        history.record(DepartmentFactory(), "department.renamed")


def test_system_and_citizen_actors_are_labelled():
    department = DepartmentFactory()
    assert history.record(department, CoreAction.DEPARTMENT_CREATED).actor_label == "system"
    assert (
        history.record(department, CoreAction.DEPARTMENT_CREATED, actor_label="citizen").actor_label
        == "citizen"
    )


def test_changed_returns_only_differences():
    assert history.changed({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})


def test_model_refuses_update_and_delete():
    entry = history.record(DepartmentFactory(), CoreAction.DEPARTMENT_CREATED)
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        HistoryEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        HistoryEntry.objects.all().delete()


def test_database_refuses_update_and_delete_behind_the_orm():
    entry = history.record(DepartmentFactory(), CoreAction.DEPARTMENT_CREATED)
    table = HistoryEntry._meta.db_table
    statements = [f"UPDATE {table} SET action = 'forged' WHERE id = %s"]
    if connection.vendor == "postgresql":  # see migration 0002 for SQLite
        statements.append(f"DELETE FROM {table} WHERE id = %s")
    for sql in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.action == CoreAction.DEPARTMENT_CREATED
