# The SLA calendar: closing days that repeat every year, and 11 July per organisation.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_cache_table"),
        ("meldpunt", "0011_routing"),
    ]

    operations = [
        migrations.AddField(
            model_name="closingday",
            name="repeats_yearly",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Closed on this day every year from this date on. A yearly 29 February "
                    "closes in leap years only."
                ),
                verbose_name="every year",
            ),
        ),
        migrations.CreateModel(
            name="SlaCalendar",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "flemish_community_holiday",
                    models.BooleanField(
                        default=True,
                        help_text=(
                            "The holiday of the Flemish Community: a day off for "
                            "administrations in Flanders. The SLA clock does not run that day."
                        ),
                        verbose_name="closed on 11 July",
                    ),
                ),
                (
                    "organisation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_calendar",
                        to="core.organisation",
                        verbose_name="organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA calendar",
                "verbose_name_plural": "SLA calendars",
            },
        ),
    ]
