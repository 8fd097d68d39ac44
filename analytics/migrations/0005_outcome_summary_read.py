from typing import Any

from django.db import migrations, models


def drop_summaries(apps: Any, schema_editor: Any) -> None:
    """The rows built before lack the new columns: the next ``rollup_clicks`` builds them again
    (until then the outcomes are read from the raw clicks)."""
    apps.get_model("analytics", "OutcomeSummary").objects.all().delete()
    apps.get_model("analytics", "OutcomeValue").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_outcome_summaries"),
    ]

    operations = [
        migrations.AddField(
            model_name="outcomesummary",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outcomesummary",
            name="responded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outcomesummary",
            name="settings",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.AddField(
            model_name="outcomevalue",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(drop_summaries, migrations.RunPython.noop),
    ]
