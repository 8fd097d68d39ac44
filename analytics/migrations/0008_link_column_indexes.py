# The link column of the rollup tables: no index of its own (see analytics.models).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_outcome_click_days"),
        ("tracking", "0011_unclassified_clicks_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dailylinkbreakdown",
            name="tracking",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.trackedlink",
            ),
        ),
        migrations.AlterField(
            model_name="dailylinkclicks",
            name="tracking",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.trackedlink",
            ),
        ),
        migrations.AlterField(
            model_name="dailyscopesessions",
            name="tracking",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.trackedlink",
            ),
        ),
        migrations.AlterField(
            model_name="monthlylinksession",
            name="tracking",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tracking.trackedlink",
            ),
        ),
    ]
