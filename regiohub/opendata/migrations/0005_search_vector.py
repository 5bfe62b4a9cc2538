"""PostgreSQL keeps the catalogue's words as a stored ``tsvector`` column with a GIN index
(``opendata.search.create_index``), instead of an index on an expression that a question
could end up computing row by row. Nothing changes on SQLite."""

from django.db import migrations


def create(apps, schema_editor):
    from regiohub.opendata.search import create_index

    create_index(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("opendata", "0004_reuses")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
