from typing import Any

from django.db import migrations

# The rollups' totals check groups every click by its quarter-hour in UTC and its class
# (analytics.rollups._raw_totals). Without statistics on that expression PostgreSQL expects a
# group per click, and plans one hash aggregate on one core; with them (tens of thousands of
# groups) it scans the table in parallel: 3.3 → 2.3 s at ten million clicks on two cores.
# The seed's tables, columns and indexes stay as they are.
STATISTICS = "analytics_link_clicks_quarter_hour"
CREATE = (
    f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} "
    "ON (date_bin('15 minutes', clicked_at, TIMESTAMP '2000-01-01')), classification "
    "FROM link_clicks"
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0014_monthly_link_clicks"),
        ("tracking", "0013_company_network_clicks_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
