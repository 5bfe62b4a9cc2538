"""Create the database cache table (rate limits, sessions of throttling) as part of migrate,
so that `regiohub migrate` alone prepares a working database."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_history_append_only")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
