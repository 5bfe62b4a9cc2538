# Satisfaction after resolution and requests to reopen (ADR 0039): the standard answers,
# the reporter's answer, the requests an agent decides on, and the facts the statistics
# count on the report itself.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

#: The region-wide standard answers a new site starts with (editable in the admin).
DEFAULT_OPTIONS = [
    ("Snel en goed opgelost", "Résolu rapidement et correctement", "Solved quickly and well",
     True),
    ("Opgelost, maar het kon sneller", "Résolu, mais cela aurait pu aller plus vite",
     "Solved, but it could have been faster", True),
    ("Niet echt opgelost", "Pas vraiment résolu", "Not really solved", False),
    ("Het duurde te lang", "Cela a pris trop de temps", "It took too long", False),
    ("Ik kreeg te weinig uitleg", "Je n'ai pas reçu assez d'explications",
     "I was not told enough", False),
]  # fmt: skip

#: A 1-5 rating given before this migration counts as satisfied from 4 up (the usual
#: customer-satisfaction reading of a five-point scale).
SATISFIED_FROM = 4


def default_options(apps, schema_editor):
    Option = apps.get_model("meldpunt", "SatisfactionOption")
    if Option.objects.exists():
        return
    Option.objects.bulk_create(
        Option(position=position, text=nl, text_fr=fr, text_en=en, satisfied=satisfied)
        for position, (nl, fr, en, satisfied) in enumerate(DEFAULT_OPTIONS, start=1)
    )


def earlier_reports(apps, schema_editor):
    """What earlier reports tell: their first resolution and first reopen after it (from
    their history), and their 1-5 rating as an answer."""
    Report = apps.get_model("meldpunt", "Report")
    Answer = apps.get_model("meldpunt", "SatisfactionAnswer")
    HistoryEntry = apps.get_model("core", "HistoryEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    kind = ContentType.objects.filter(app_label="meldpunt", model="report").first()
    resolved: dict[int, object] = {}
    reopened: dict[int, object] = {}
    if kind is not None:
        entries = (
            HistoryEntry.objects.filter(content_type=kind, action="report.status_changed")
            .order_by("at", "pk")
            .values_list("object_id", "after", "at")
        )
        for object_id, after, at in entries.iterator(chunk_size=5000):
            status = (after or {}).get("status")
            pk = int(object_id)
            if status == "resolved":
                resolved.setdefault(pk, at)
            elif status == "reopened" and pk in resolved:
                reopened.setdefault(pk, at)
    # Reports resolved before their history was kept: their resolution date.
    for pk, at in Report.objects.filter(resolved_at__isnull=False).values_list(
        "pk", "resolved_at"
    ):
        resolved.setdefault(pk, at)
    changed = []
    for report in Report.objects.filter(pk__in=list(resolved)).only("pk").iterator(2000):
        report.first_resolved_at = resolved[report.pk]
        report.reopened_at = reopened.get(report.pk)
        changed.append(report)
    Report.objects.bulk_update(changed, ["first_resolved_at", "reopened_at"], batch_size=1000)
    rated = Report.objects.filter(rated_at__isnull=False, rating__isnull=False)
    answers, changed = [], []
    for report in rated.only("pk", "rating", "rating_comment", "rated_at").iterator(2000):
        satisfied = report.rating >= SATISFIED_FROM
        answers.append(
            Answer(
                report_id=report.pk,
                text=f"{report.rating}/5",
                satisfied=satisfied,
                comment=report.rating_comment,
                answered_at=report.rated_at,
            )
        )
        report.satisfied = satisfied
        report.satisfaction_asked_at = report.rated_at
        changed.append(report)
    Answer.objects.bulk_create(answers, batch_size=1000)
    Report.objects.bulk_update(
        changed, ["satisfied", "satisfaction_asked_at"], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("meldpunt", "0015_handoffs"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SatisfactionOption",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField(default=0, verbose_name="position")),
                ("text", models.CharField(max_length=200, verbose_name="answer (Dutch)")),
                ("text_fr", models.CharField(blank=True, max_length=200, verbose_name="answer (French)")),
                ("text_en", models.CharField(blank=True, max_length=200, verbose_name="answer (English)")),
                ("satisfied", models.BooleanField(help_text="Counted as a satisfied reporter in the statistics.", verbose_name="means satisfied")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("organisation", models.ForeignKey(blank=True, help_text="Empty: offered in every municipality without answers of its own.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="satisfaction_options", to="core.organisation", verbose_name="municipality")),
            ],
            options={
                "verbose_name": "satisfaction answer",
                "verbose_name_plural": "satisfaction answers",
                "ordering": ["organisation_id", "position", "pk"],
            },
        ),
        migrations.CreateModel(
            name="SatisfactionAnswer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(blank=True, max_length=200, verbose_name="answer as shown")),
                ("satisfied", models.BooleanField(verbose_name="satisfied")),
                ("comment", models.TextField(blank=True, max_length=2000, verbose_name="comment")),
                ("answered_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="answered at")),
                ("option", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to="meldpunt.satisfactionoption", verbose_name="answer")),
                ("report", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="satisfaction_answer", to="meldpunt.report", verbose_name="report")),
            ],
            options={
                "verbose_name": "satisfaction answer of a reporter",
                "verbose_name_plural": "satisfaction answers of reporters",
            },
        ),
        migrations.CreateModel(
            name="ReopenRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.TextField(max_length=2000, verbose_name="reason")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                ("decision", models.CharField(choices=[("pending", "Waiting for an agent"), ("reopened", "Reopened"), ("declined", "Declined")], default="pending", max_length=10, verbose_name="decision")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decided_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL, verbose_name="decided by")),
                ("report", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="reopen_requests", to="meldpunt.report", verbose_name="report")),
            ],
            options={
                "verbose_name": "request to reopen",
                "verbose_name_plural": "requests to reopen",
                "ordering": ["requested_at", "pk"],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("decision", "pending")), fields=("report",), name="reopen_request_one_pending"),
                ],
            },
        ),
        migrations.AddField(
            model_name="report",
            name="first_resolved_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first resolved at"),
        ),
        migrations.AddField(
            model_name="report",
            name="reopened_at",
            field=models.DateTimeField(blank=True, help_text="The first time the report was reopened after it was resolved.", null=True, verbose_name="first reopened at"),
        ),
        migrations.AddField(
            model_name="report",
            name="satisfaction_asked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="satisfaction asked at"),
        ),
        migrations.AddField(
            model_name="report",
            name="satisfied",
            field=models.BooleanField(blank=True, null=True, verbose_name="satisfied"),
        ),
        migrations.AddField(
            model_name="report",
            name="reopen_requested_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="reopen first requested at"),
        ),
        # The statistics counted ahead per municipality, category and month; the job that
        # counts them finds the months whose reports changed by their last change.
        migrations.CreateModel(
            name="StatisticsMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("filed", models.PositiveIntegerField(default=0)),
                ("resolved", models.PositiveIntegerField(default=0)),
                ("asked", models.PositiveIntegerField(default=0)),
                ("answered", models.PositiveIntegerField(default=0)),
                ("satisfied", models.PositiveIntegerField(default=0)),
                ("reopen_requested", models.PositiveIntegerField(default=0)),
                ("reopened", models.PositiveIntegerField(default=0)),
                ("resolved_now", models.PositiveIntegerField(default=0)),
                ("on_time", models.PositiveIntegerField(default=0)),
                ("judged", models.PositiveIntegerField(default=0)),
                ("judged_reopened_soon", models.PositiveIntegerField(default=0)),
                ("lead_seconds", models.BinaryField(default=b"")),
                ("first_resolved", models.BinaryField(default=b"")),
                ("reopened_soon", models.BinaryField(default=b"")),
                ("counted_at", models.DateTimeField()),
                ("category", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="meldpunt.category")),
                ("organisation", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.organisation")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("month", "organisation", "category"), name="statistics_month_cell"),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(fields=["updated_at"], name="report_updated"),
        ),
        migrations.RunPython(default_options, migrations.RunPython.noop),
        migrations.RunPython(earlier_reports, migrations.RunPython.noop),
    ]  # fmt: skip
