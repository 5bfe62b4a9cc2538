# The public map of open reports (ADR 0035): which subjects it shows and how exactly, and
# the partial index its bounding-box questions use.
import django.core.validators
from django.db import migrations, models

#: Subjects of the demo set (and of sites that started from it) that the map must not show
#: as they are: a question is not a place, an unemptied bin is someone's front door, and a
#: noise complaint points at a neighbour. Administrators can change this in the admin.
NOT_ON_MAP = ("question", "waste-collection")
BLURRED_M = {"noise": 100}

#: The open states when this was written (workflow.OPEN, sorted): the partial indexes'
#: condition. A change of the workflow's open states needs a migration of both indexes.
OPEN = ["acknowledged", "in_progress", "new", "on_hold", "reopened", "waiting_for_reporter"]


def privacy_first(apps, schema_editor):
    Category = apps.get_model("meldpunt", "Category")
    Category.objects.filter(code__in=NOT_ON_MAP).update(is_public_on_map=False)
    for code, metres in BLURRED_M.items():
        Category.objects.filter(code=code).update(map_generalise_m=metres)


class Migration(migrations.Migration):
    dependencies = [("meldpunt", "0013_open311_updates")]

    operations = [
        migrations.AddField(
            model_name="category",
            name="is_public_on_map",
            field=models.BooleanField(
                default=True,
                help_text="Open reports of this subject are shown on the public map, without "
                "description, photos, contact details or house number. Switch it off for "
                "subjects about a person or a home.",
                verbose_name="on the public map",
            ),
        ),
        migrations.AddField(
            model_name="category",
            name="map_generalise_m",
            field=models.PositiveIntegerField(
                default=0,
                help_text="0 shows the place as reported. Otherwise the public map shows the "
                "centre of a square of this many metres around it, and no street: for "
                "sensitive subjects such as noise.",
                validators=[django.core.validators.MaxValueValidator(5000)],
                verbose_name="blur on the public map (metres)",
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("location_is_approximate", False), ("status__in", OPEN)),
                fields=["latitude", "longitude", "category"],
                name="report_open_map",
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("location_is_approximate", False), ("status__in", OPEN)),
                fields=["created_at", "id"],
                name="report_open_recent",
            ),
        ),
        migrations.RunPython(privacy_first, migrations.RunPython.noop),
    ]
