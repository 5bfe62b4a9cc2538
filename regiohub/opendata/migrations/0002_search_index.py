"""The full-text index of the catalogue: an FTS5 table on SQLite, a GIN index on
PostgreSQL (``opendata.search``)."""

from django.db import migrations


def create(apps, schema_editor):
    from regiohub.opendata.search import create_index

    create_index(schema_editor)


def drop(apps, schema_editor):
    from regiohub.opendata.search import drop_index

    drop_index(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("opendata", "0001_publications")]

    operations = [migrations.RunPython(create, drop)]
