"""The job's other company names, a click's ``from_company_network``, and the country and region
in ``link_analytics_view``.

The view keeps the seed's four columns first and as they were, and adds ``country_code`` and
``region`` after them: both survive anonymisation (``anonymize_clicks`` keeps them when it drops
the IP, the city and the network), so the anonymised view may show them for every click. The
city and the network are not in the view. PostgreSQL only, like the view itself (0003).
"""

from __future__ import annotations

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CREATE_VIEW = """
CREATE OR REPLACE VIEW link_analytics_view AS
SELECT
    tracking_id,
    clicked_at,
    click_source,
    CASE WHEN clicked_at > (now() AT TIME ZONE 'UTC') - INTERVAL '90 days'
         THEN ip_address
         ELSE NULL END AS ip_address,
    country_code,
    region
FROM link_clicks
"""

# CREATE OR REPLACE cannot take columns away: going back drops the view and makes 0003's again.
DROP_VIEW = "DROP VIEW IF EXISTS link_analytics_view"
SEED_VIEW = """
CREATE VIEW link_analytics_view AS
SELECT
    tracking_id,
    clicked_at,
    click_source,
    CASE WHEN clicked_at > (now() AT TIME ZONE 'UTC') - INTERVAL '90 days'
         THEN ip_address
         ELSE NULL END AS ip_address
FROM link_clicks
"""


def create_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_VIEW, params=None)


def restore_seed_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_VIEW, params=None)
        schema_editor.execute(SEED_VIEW, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0008_link_controls")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="company_aliases",
            field=models.TextField(
                blank=True,
                default="",
                db_default="",
                help_text=(
                    "Other names or domains of the company (a parent company, an old name, "
                    "fabrikam.com), one a line: clicks from a network registered under one of "
                    "them are marked as opened from the company's network."
                ),
            ),
        ),
        migrations.AddField(
            model_name="linkclick",
            name="from_company_network",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.RunPython(create_view, restore_seed_view, elidable=False),
    ]
