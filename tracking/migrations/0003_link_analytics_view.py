"""The anonymized view ``link_analytics_view`` of seed 000 ("Data Privacy"), on PostgreSQL.

It shows a click's IP address only while the click is younger than 90 days. ``clicked_at`` is a
``timestamp`` holding UTC, so "now" is taken as UTC wall time too; comparing with a bare ``NOW()``
would shift the boundary by the session's UTC offset. The 90 days are the seed's and are fixed in
the view: a view cannot read ``IP_RETENTION_DAYS``. ``anonymize_clicks`` applies that setting to
the table itself, so with a shorter retention the view simply finds the addresses already gone.

SQLite gets no view: it only serves the embedded setup, where nothing reads the database directly.
"""

from __future__ import annotations

from django.db import migrations
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
         ELSE NULL END AS ip_address
FROM link_clicks
"""

DROP_VIEW = "DROP VIEW IF EXISTS link_analytics_view"


def create_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_VIEW, params=None)


def drop_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_VIEW, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_seed_foreign_keys")]

    operations = [migrations.RunPython(create_view, drop_view, elidable=False)]
