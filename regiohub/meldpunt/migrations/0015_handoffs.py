# Hand-offs that come back (ADR 0038): a hand-over to an external body has a state, a due
# date, the body's answer and a private link; "forwarded" is an open state now, so the
# public map's partial indexes name it too.
import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

#: The open states now (workflow.OPEN, sorted): 0014's list and "forwarded".
OPEN = [
    "acknowledged", "forwarded", "in_progress", "new", "on_hold", "reopened",
    "waiting_for_reporter",
]  # fmt: skip


def forwarded_reports_stay_open(apps, schema_editor):
    """Hand-overs made before this change got no link and no due date. The one that has a
    forwarded report now waits ("sent", never overdue) until staff take the report back or
    close it; earlier ones ended. A forwarded report is open (not closed) and its SLA clock
    stands still from its hand-over, as for a report forwarded from now on."""
    Handover = apps.get_model("meldpunt", "Handover")
    Report = apps.get_model("meldpunt", "Report")
    SlaPause = apps.get_model("meldpunt", "SlaPause")
    external = Handover.objects.filter(to_external_body__isnull=False, state="")
    waiting = {}
    for handover in external.filter(report__status="forwarded").order_by("created_at", "pk"):
        waiting[handover.report_id] = handover  # the latest per report
    external.filter(pk__in=[h.pk for h in waiting.values()]).update(state="sent")
    for handover in external.exclude(pk__in=[h.pk for h in waiting.values()]).iterator():
        handover.state = "ended"
        handover.answered_at = handover.created_at
        handover.save(update_fields=["state", "answered_at"])
    for report in Report.objects.filter(status="forwarded").iterator():
        if not SlaPause.objects.filter(report=report, ended_at__isnull=True).exists():
            handover = waiting.get(report.pk)
            started = handover.created_at if handover else (report.closed_at or report.updated_at)
            SlaPause.objects.create(report=report, started_at=started)
    Report.objects.filter(status="forwarded").update(closed_at=None)


class Migration(migrations.Migration):
    dependencies = [("meldpunt", "0014_public_map")]

    operations = [
        migrations.AddField(
            model_name="externalbody",
            name="acknowledge_days",
            field=models.PositiveSmallIntegerField(
                default=5,
                help_text="A hand-over not acknowledged within this many business days (the "
                "municipality's SLA calendar) shows as overdue in the inbox.",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(60),
                ],
                verbose_name="business days to acknowledge",
            ),
        ),
        migrations.AddField(
            model_name="externalbody",
            name="tell_reporter_when_acknowledged",
            field=models.BooleanField(
                default=False,
                help_text="The reporter always hears when the body solves the problem or sends "
                "the report back; with this on, also when it acknowledges the report.",
                verbose_name="tell the reporter when acknowledged",
            ),
        ),
        migrations.AddField(
            model_name="apiclient",
            name="external_body",
            field=models.ForeignKey(
                blank=True,
                help_text="For a body's own system: it may then post updates (acknowledged, "
                "resolved, not ours) only to the reports currently handed over to this body.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="api_clients",
                to="meldpunt.externalbody",
                verbose_name="external body",
            ),
        ),
        migrations.AddField(
            model_name="handover",
            name="state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sent", "Sent, waiting for acknowledgement"),
                    ("acknowledged", "Acknowledged"),
                    ("rejected", "Sent back: not theirs"),
                    ("resolved", "Resolved by the body"),
                    ("ended", "Ended by the municipality"),
                ],
                default="",
                max_length=12,
                verbose_name="state",
            ),
        ),
        migrations.AddField(
            model_name="handover",
            name="acknowledge_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="acknowledgement due"),
        ),
        migrations.AddField(
            model_name="handover",
            name="acknowledged_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="acknowledged at"),
        ),
        migrations.AddField(
            model_name="handover",
            name="acknowledgement",
            field=models.TextField(blank=True, verbose_name="note with the acknowledgement"),
        ),
        migrations.AddField(
            model_name="handover",
            name="answered_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the body sent the report back or resolved it, or we took it back.",
                null=True,
                verbose_name="answered at",
            ),
        ),
        migrations.AddField(
            model_name="handover",
            name="answer",
            field=models.TextField(
                blank=True,
                help_text="Why it is not theirs, or their message to the reporter.",
                verbose_name="the body's answer",
            ),
        ),
        migrations.AddField(
            model_name="handover",
            name="answered_by",
            field=models.CharField(blank=True, max_length=200, verbose_name="answered by"),
        ),
        migrations.AddField(
            model_name="handover",
            name="token_salt",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="handover",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name="handover",
            index=models.Index(
                condition=models.Q(("state", "sent")),
                fields=["acknowledge_due_at"],
                name="handover_waiting_due",
            ),
        ),
        migrations.RemoveIndex(model_name="report", name="report_open_map"),
        migrations.RemoveIndex(model_name="report", name="report_open_recent"),
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
        migrations.RunPython(forwarded_reports_stay_open, migrations.RunPython.noop),
    ]
