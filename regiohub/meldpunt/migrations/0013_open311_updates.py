# Open311 service request updates: the update_id an API client posted, accepted once.
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_history_at_default"),
        ("meldpunt", "0012_sla_calendar"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiUpdateReceipt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "update_id",
                    models.CharField(max_length=100, verbose_name="the client's update_id"),
                ),
                (
                    "received_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="received at"
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="update_receipts",
                        to="meldpunt.apiclient",
                        verbose_name="API client",
                    ),
                ),
                (
                    "history_entry",
                    models.ForeignKey(
                        help_text=(
                            "The entry that records the update; our update_id is made from it."
                        ),
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.historyentry",
                        verbose_name="history entry",
                    ),
                ),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="meldpunt.report",
                        verbose_name="report",
                    ),
                ),
            ],
            options={
                "verbose_name": "update received through the API",
                "verbose_name_plural": "updates received through the API",
                "ordering": ["received_at", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("client", "update_id"), name="api_update_once_per_client"
                    )
                ],
            },
        ),
    ]
