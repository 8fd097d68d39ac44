# Monthly session rows: one per link, month, session and kind, so that a run can merge new days into them.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0008_link_column_indexes"),
        ("tracking", "0011_unclassified_clicks_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="monthlylinksession",
            name="idx_monthly_session_link",
        ),
        migrations.AddConstraint(
            model_name="monthlylinksession",
            constraint=models.UniqueConstraint(
                fields=("tracking", "month", "session_id", "human"), name="uniq_monthly_session"
            ),
        ),
    ]
