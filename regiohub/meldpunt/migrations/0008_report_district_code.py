"""Reports know their district (wijk): ``district_code``, set when a report is filed.

Existing reports get theirs from the districts in the database at migration time (none on
a fresh database: the demo region loads them later, and ``regiohub demo`` fills in the
districts of reports that have none). Approximate locations stay without a district.
"""

from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    from regiohub.core.geo import DistrictIndex

    District = apps.get_model("core", "District")
    Report = apps.get_model("meldpunt", "Report")
    index = DistrictIndex(
        District.objects.filter(boundary__isnull=False).values_list("code", "boundary")
    )
    if not len(index):
        return
    reports = Report.objects.filter(location_is_approximate=False, district_code="")
    last = 0
    while True:
        rows = list(
            reports.filter(pk__gt=last).order_by("pk").values_list("pk", "latitude", "longitude")[
                :BATCH
            ]
        )
        if not rows:
            return
        last = rows[-1][0]
        codes = index.codes_at([(lat, lon) for _pk, lat, lon in rows])
        located = [
            Report(pk=pk, district_code=code)
            for (pk, _lat, _lon), code in zip(rows, codes, strict=True)
            if code
        ]
        Report.objects.bulk_update(located, ["district_code"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_district"),
        ("meldpunt", "0007_trigram_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="district_code",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="The district (wijk) of the point; empty when the place is approximate.",
                max_length=12,
                verbose_name="district",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
