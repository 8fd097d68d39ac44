from typing import Any

from django.db import migrations, models


def drop_summaries(apps: Any, schema_editor: Any) -> None:
    """A summary without its click days would never be found changed: the next ``rollup_clicks``
    builds every summary again with them (until then the outcomes are read from the raw clicks)."""
    apps.get_model("analytics", "OutcomeSummary").objects.all().delete()
    apps.get_model("analytics", "OutcomeValue").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_outcome_value_covering_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutcomeClickDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("application_id", models.UUIDField()),
                ("day", models.DateField()),
                ("person_clicks", models.PositiveIntegerField()),
                ("id_sum_a", models.BigIntegerField()),
                ("id_sum_b", models.BigIntegerField()),
            ],
            options={
                "db_table": "analytics_outcome_click_day",
                "indexes": [models.Index(fields=["day"], name="idx_outcome_click_day_day")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("application_id", "day"), name="uniq_outcome_click_day"
                    )
                ],
            },
        ),
        migrations.RunPython(drop_summaries, migrations.RunPython.noop),
    ]
