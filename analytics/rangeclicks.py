"""The clicks of the days a rollup run rebuilds, copied once into a temporary table.

Rebuilding a range of days runs twenty-odd aggregates over its clicks (per link, per breakdown
value, per session scope), and comparing the rows they give with those already there reads each
of them twice. Each used to find the range's clicks in ``link_clicks`` again, and work out each
click's local day and hour again. :func:`copied` reads them once into a temporary table
(:class:`analytics.models.RangeClick`), which the aggregates then read instead: a small table
held by this connection only, gone when the range is done.

Only for ranges of a few days (an incremental run's last days): a full rebuild reads the clicks
where they are rather than copying them all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast, ExtractHour, TruncDate

from analytics.models import RangeClick
from analytics.selection import local_tz
from tracking.dbfields import AsUTC
from tracking.models import LinkClick

# Ranges longer than this are read from link_clicks directly (see the module docstring).
MAX_COPIED_DAYS = 31
# The columns copied as they are; the local day and hour are added (RangeClick).
COPIED = (
    "click_id",
    "tracking_id",
    "session_id",
    "click_source",
    "classification",
    "device_type",
    "browser",
    "os",
    "country_code",
)


def day_expression() -> TruncDate:
    """A click's local day (``TIME_ZONE``)."""
    return TruncDate(AsUTC("clicked_at"), tzinfo=local_tz())


def hour_expression() -> Cast:
    """A click's local hour, as text (as the breakdown rows hold it)."""
    return Cast(ExtractHour(AsUTC("clicked_at"), tzinfo=local_tz()), CharField())


def _temporary_name() -> str:
    # Qualified, so that no statement here can reach a stored table of the same name.
    schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
    return f"{schema}.{connection.ops.quote_name(RangeClick._meta.db_table)}"


@contextlib.contextmanager
def copied(start: dt.datetime, end: dt.datetime) -> Iterator[QuerySet[RangeClick]]:
    """The clicks from ``start`` until ``end``, copied once; yields a queryset over the copy.

    Runs inside the caller's transaction. The copy is dropped when the block ends normally; when
    it raises, the transaction's rollback takes the copy with it.
    """
    source: Any = (
        LinkClick.objects.order_by()
        .filter(clicked_at__gte=start, clicked_at__lt=end)
        .values(*COPIED, day=day_expression(), hour=hour_expression())
    )
    sql, params = source.query.get_compiler(using=source.db).as_sql()
    table = _temporary_name()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # The SELECT is compiled by the ORM with its parameters apart; the name is quoted.
        cursor.execute(f"CREATE TEMPORARY TABLE {table.split('.', 1)[1]} AS {sql}", params)
        if connection.vendor == "postgresql":
            # Temporary tables get no statistics from autovacuum: the comparisons' plans need them.
            cursor.execute(f"ANALYZE {table}")
    yield RangeClick.objects.order_by()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
