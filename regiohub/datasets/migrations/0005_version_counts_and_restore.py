from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0004_load_base_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='datasetversion',
            name='rows_unchanged',
            field=models.PositiveBigIntegerField(default=0, verbose_name='rows unchanged'),
        ),
        migrations.AddField(
            model_name='datasetversion',
            name='rows_removed',
            field=models.PositiveBigIntegerField(default=0, verbose_name='rows removed'),
        ),
        migrations.AddField(
            model_name='datasetversion',
            name='restored_from',
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name='restored from version'),
        ),
    ]
