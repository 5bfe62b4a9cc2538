"""History entries default to now but may carry an earlier moment (imports, demo data).

SQLite applies AlterField by rebuilding the table, which drops its triggers: the
append-only trigger of migration 0002 is put back right after.
"""

import django.utils.timezone
from django.db import migrations, models

SQLITE_TRIGGER = """CREATE TRIGGER IF NOT EXISTS core_historyentry_no_update
    BEFORE UPDATE ON core_historyentry
    BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"""


def restore_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_cache_table")]

    operations = [
        migrations.AlterField(
            model_name="historyentry",
            name="at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, verbose_name="when"
            ),
        ),
        migrations.RunPython(restore_trigger, migrations.RunPython.noop),
    ]
