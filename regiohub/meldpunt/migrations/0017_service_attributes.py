# Extra questions per category (service attributes) and the answers on the report.
import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("meldpunt", "0016_satisfaction")]

    operations = [
        migrations.AddField(
            model_name="report",
            name="attributes",
            field=models.JSONField(
                blank=True, default=dict, verbose_name="answers to the extra questions"
            ),
        ),
        migrations.CreateModel(
            name="CategoryAttribute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="What apps send and reports store, e.g. lamp-number. Keep it "
                        "once in use.",
                        max_length=50,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[a-z0-9][a-z0-9_-]*$",
                                "Lower-case letters, digits, dashes and underscores.",
                            )
                        ],
                        verbose_name="code",
                    ),
                ),
                ("order", models.PositiveSmallIntegerField(default=1, verbose_name="order")),
                (
                    "datatype",
                    models.CharField(
                        choices=[
                            ("string", "Short text (one line)"),
                            ("text", "Longer text"),
                            ("number", "Number"),
                            ("datetime", "Date and time"),
                            ("singlevaluelist", "One answer from a list"),
                            ("multivaluelist", "Any answers from a list"),
                        ],
                        default="string",
                        max_length=16,
                        verbose_name="kind of answer",
                    ),
                ),
                ("required", models.BooleanField(default=False, verbose_name="required")),
                ("label", models.CharField(max_length=200, verbose_name="question (Dutch)")),
                (
                    "label_fr",
                    models.CharField(blank=True, max_length=200, verbose_name="question (French)"),
                ),
                (
                    "label_en",
                    models.CharField(blank=True, max_length=200, verbose_name="question (English)"),
                ),
                (
                    "help_text",
                    models.CharField(blank=True, max_length=300, verbose_name="help (Dutch)"),
                ),
                (
                    "help_text_fr",
                    models.CharField(blank=True, max_length=300, verbose_name="help (French)"),
                ),
                (
                    "help_text_en",
                    models.CharField(blank=True, max_length=300, verbose_name="help (English)"),
                ),
                (
                    "values",
                    models.TextField(
                        blank=True,
                        help_text="Only for the two list kinds: one answer per line, as key | "
                        "Dutch | French | English, e.g. yes | Ja | Oui | Yes. The key is what "
                        "apps send and reports store.",
                        verbose_name="answers to choose from",
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attributes",
                        to="meldpunt.category",
                        verbose_name="category",
                    ),
                ),
            ],
            options={
                "verbose_name": "question",
                "verbose_name_plural": "questions",
                "ordering": ["order", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("category", "code"), name="attribute_code_per_category"
                    )
                ],
            },
        ),
    ]
