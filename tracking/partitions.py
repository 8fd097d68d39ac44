"""``link_clicks`` partitioned by month on PostgreSQL: an opt-in layout for large installations.

The default schema is the seed's (one table, ``click_id`` primary key); nothing here runs unless
someone asks for it (``manage.py partition_clicks --convert``). Seed 000 suggests partitioning by
date and seed 002 partitions its clicks by month; past a few hundred million clicks it pays twice:
retention drops a whole month with one ``DROP TABLE`` instead of deleting rows in batches (no
dead tuples, no vacuum debt), and queries bounded in time read only their months.

What the conversion changes, and why:

- PostgreSQL requires every unique constraint of a partitioned table to include the partition
  key, so the primary key becomes ``(click_id, clicked_at)`` (still named ``link_clicks_pkey``)
  and ``clicked_at`` becomes NOT NULL (it has a database default, so plain-SQL inserts that omit
  it still work; an explicit NULL is refused).
- ``click_id`` stays unique inside each month: every partition gets its own unique index on it,
  which is what the writer's and the API's ``ON CONFLICT DO NOTHING`` meet. The stream, the spool
  and the redirect always carry a click's original ``clicked_at``, so replays stay exactly-once;
  only an API client that retries one ``click_id`` with a *different* ``clicked_at`` in another
  month would store it twice.
- A foreign key can no longer reference ``link_clicks(click_id)`` alone; the conversion refuses
  while one exists (linktrack has none: the outbox's ``events.click_id`` is a plain column).
- The seed's index names, the foreign key to ``link_tracking`` (ON DELETE CASCADE), the check
  constraints, the grants and the views reading the table (``link_analytics_view``) are kept.
- A default partition, ``link_clicks_default``, catches clicks outside every month (a clock far
  off, a month nobody created), so an INSERT never fails for want of a partition; creating that
  month later moves them into it.
"""

# Table names in SQL here are this module's constants or partition names read from the catalog
# (quoted); values always go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone

TABLE = "link_clicks"
DEFAULT_PARTITION = f"{TABLE}_default"
# Kept while the table is rebuilt, dropped in the same transaction.
_OLD_TABLE = f"{TABLE}_unpartitioned"
# DDL on the parent waits for running queries; a queued ACCESS EXCLUSIVE lock would stall every
# redirect's INSERT behind it. Better to give up and retry on the next run.
LOCK_TIMEOUT = "5s"
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")

Report = Callable[[str], None]


class PartitioningError(Exception):
    """The table cannot be (re)partitioned as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime | None  # naive UTC, as stored; None for the default partition
    end: dt.datetime | None


@dataclass(frozen=True)
class Conversion:
    rows: int
    partitions: list[str]


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise PartitioningError(
            f"Partitioning {TABLE} needs PostgreSQL (declarative partitioning); this database is "
            f"{connection.vendor}. The embedded SQLite default keeps one table. Nothing changed."
        )


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + count
    return dt.datetime(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.datetime) -> str:
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if timezone.is_aware(moment):
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def partitions() -> list[Partition]:
    """The partitions of ``link_clicks``, oldest first, the default one last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match:
            start, end = (dt.datetime.fromisoformat(value) for value in match.groups())
            found.append(Partition(name, start, end))
        else:
            found.append(Partition(name, None, None))
    return sorted(found, key=lambda p: (p.start is None, p.start or dt.datetime.min))


def _lock_parent(cursor: object) -> None:
    execute = cursor.execute  # type: ignore[attr-defined]
    execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")


def _create_month(cursor: object, month: dt.datetime) -> str:
    """Create one month's partition (inside the caller's transaction, parent locked), moving the
    clicks the default partition holds for that month into it."""
    execute = cursor.execute  # type: ignore[attr-defined]
    name = partition_name(month)
    start, end = month, add_months(month, 1)
    moved = 0
    execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
    has_default = cursor.fetchone()[0]  # type: ignore[attr-defined]
    if has_default:
        # The default partition may not keep rows that belong to the new range.
        execute(
            f"CREATE TEMP TABLE _moved_clicks ON COMMIT DROP AS SELECT * FROM {DEFAULT_PARTITION} "
            "WHERE clicked_at >= %s AND clicked_at < %s",
            [start, end],
        )
        moved = cursor.rowcount  # type: ignore[attr-defined]
        if moved:
            execute(
                f"DELETE FROM {DEFAULT_PARTITION} WHERE clicked_at >= %s AND clicked_at < %s",
                [start, end],
            )
    execute(
        f"CREATE TABLE {_quote(name)} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
        [start, end],
    )
    execute(f"CREATE UNIQUE INDEX {_quote(name + '_click_id_key')} ON {_quote(name)} (click_id)")
    if has_default:
        if moved:
            execute(f"INSERT INTO {TABLE} SELECT * FROM _moved_clicks")
        execute("DROP TABLE _moved_clicks")
    return name


def ensure_months(months: Iterable[dt.datetime]) -> list[str]:
    """Create the partitions of ``months`` that do not exist yet; returns their names."""
    require_postgresql()
    if not is_partitioned():
        raise PartitioningError(
            f"{TABLE} is not partitioned: run `manage.py partition_clicks --convert` first."
        )
    existing = {p.start for p in partitions()}
    wanted = sorted({month_start(m) for m in months} - existing)
    created = []
    for month in wanted:
        # One short transaction per month: the parent is locked only while one table is made.
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_parent(cursor)
            created.append(_create_month(cursor, month))
    return created


def ensure_future(months_ahead: int, *, now: dt.datetime | None = None) -> list[str]:
    """Partitions for this month and the ``months_ahead`` following ones."""
    current = month_start(_naive_utc(now or timezone.now()))
    return ensure_months(add_months(current, n) for n in range(months_ahead + 1))


# --- Conversion ---------------------------------------------------------------------------------


def _fetch(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _refuse_unconvertible() -> None:
    referencing = _fetch(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE confrelid = to_regclass(%s) AND contype = 'f'",
        [TABLE],
    )
    if referencing:
        names = ", ".join(f"{table}.{name}" for table, name in referencing)
        raise PartitioningError(
            f"Foreign keys reference {TABLE}: {names}. A partitioned table's unique keys include "
            "clicked_at, so a foreign key must reference (click_id, clicked_at). Drop them (and "
            "recreate them on both columns after the conversion), then run again. Nothing changed."
        )
    triggers = _fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
        [TABLE],
    )
    if triggers:
        names = ", ".join(str(name) for (name,) in triggers)
        raise PartitioningError(
            f"{TABLE} has triggers ({names}) the conversion would not carry over. Drop them, "
            "convert, and create them again. Nothing changed."
        )
    ((undated,),) = _fetch(f"SELECT count(*) FROM {TABLE} WHERE clicked_at IS NULL")
    if undated:
        raise PartitioningError(
            f"{undated} clicks have no clicked_at; in a table partitioned by clicked_at every row "
            "needs one. Set it (or delete those rows), then run again. Nothing changed."
        )


def _dependent_views() -> list[tuple[str, str]]:
    return [
        (str(name), str(definition))
        for name, definition in _fetch(
            "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid) FROM pg_depend d "
            "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
            "WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(%s) "
            "AND v.oid <> to_regclass(%s)",
            [TABLE, TABLE],
        )
    ]


def _grants(relation: str) -> list[str]:
    """GRANT statements restoring what other roles may do with ``relation``."""
    rows = _fetch(
        "SELECT grantee, privilege_type, is_grantable FROM information_schema.role_table_grants "
        "WHERE table_schema = current_schema() AND table_name = %s AND grantee <> "
        "(SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(%s))",
        [relation, relation],
    )
    statements = []
    for grantee, privilege, grantable in rows:
        role = "PUBLIC" if grantee == "PUBLIC" else _quote(str(grantee))
        option = " WITH GRANT OPTION" if grantable == "YES" else ""
        statements.append(f"GRANT {privilege} ON {_quote(relation)} TO {role}{option}")
    return statements


def _owner(relation: str) -> str:
    ((owner,),) = _fetch(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(%s)", [relation]
    )
    return str(owner)


def convert(*, months_ahead: int = 3, report: Report | None = None) -> Conversion:
    """Rebuild ``link_clicks`` as a table partitioned by month of ``clicked_at``, in one
    transaction: the clicks, the seed's index names, the foreign key to ``link_tracking``, the
    check constraints, the views reading it and the grants are kept. Writers block on the table
    lock while it runs (buffered mode: the stream holds the clicks meanwhile).
    """
    say = report or (lambda _line: None)
    require_postgresql()
    if is_partitioned():
        raise PartitioningError(f"{TABLE} is already partitioned. Nothing changed.")
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_parent(cursor)
        _refuse_unconvertible()
        indexes = _fetch(
            "SELECT indexdef FROM pg_indexes i WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u'))",
            [TABLE, TABLE],
        )
        foreign_keys = _fetch(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype = 'f'",
            [TABLE],
        )
        views = [
            (name, definition, _grants(name), _owner(name))
            for name, definition in _dependent_views()
        ]
        grants, owner = _grants(TABLE), _owner(TABLE)
        months = [
            month_start(month)  # type: ignore[arg-type]
            for (month,) in _fetch(
                f"SELECT DISTINCT date_trunc('month', clicked_at) FROM {TABLE} ORDER BY 1"
            )
        ]

        for name, *_rest in views:
            cursor.execute(f"DROP VIEW {name}")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {_OLD_TABLE}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {_OLD_TABLE} INCLUDING ALL EXCLUDING INDEXES) "
            "PARTITION BY RANGE (clicked_at)"
        )
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN clicked_at SET NOT NULL")
        current = month_start(_naive_utc(timezone.now()))
        months += [add_months(current, n) for n in range(months_ahead + 1)]
        created = [_create_month(cursor, month) for month in sorted(set(months))]
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(
            f"CREATE UNIQUE INDEX {DEFAULT_PARTITION}_click_id_key ON {DEFAULT_PARTITION} (click_id)"
        )
        say(f"created {len(created)} monthly partitions and {DEFAULT_PARTITION}")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {_OLD_TABLE}")
        rows = cursor.rowcount
        say(f"copied {rows} clicks")
        cursor.execute(f"DROP TABLE {_OLD_TABLE}")

        cursor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (click_id, clicked_at)"
        )
        for (index_definition,) in indexes:
            cursor.execute(str(index_definition))
        for constraint, constraint_definition in foreign_keys:
            cursor.execute(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT {_quote(str(constraint))} "
                f"{constraint_definition}"
            )
        say(f"recreated {len(indexes)} indexes and {len(foreign_keys)} foreign keys")
        if owner != _owner(TABLE):
            cursor.execute(f"ALTER TABLE {TABLE} OWNER TO {_quote(owner)}")
        for statement in grants:
            cursor.execute(statement)
        for name, definition, view_grants, view_owner in views:
            cursor.execute(f"CREATE VIEW {name} AS {definition}")
            if view_owner != _owner(name):
                cursor.execute(f"ALTER VIEW {name} OWNER TO {_quote(view_owner)}")
            for statement in view_grants:
                cursor.execute(statement)
        if views:
            say("recreated the views " + ", ".join(name for name, *_rest in views))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    return Conversion(rows=rows, partitions=[*created, DEFAULT_PARTITION])


# --- Retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    partitions: list[str]
    clicks: int


def partitions_before(cutoff: dt.datetime) -> list[Partition]:
    """The monthly partitions whose every click is older than ``cutoff``."""
    limit = _naive_utc(cutoff)
    return [p for p in partitions() if p.end is not None and p.end <= limit]


def drop_partitions_before(cutoff: dt.datetime, *, report: Report | None = None) -> Dropped:
    """Drop the monthly partitions wholly past ``cutoff``; returns them and the clicks they held.

    One short transaction per partition. A partition whose lock cannot be had within
    :data:`LOCK_TIMEOUT` is left for the row-by-row purge that follows (or the next run).
    """
    if not is_partitioned():
        return Dropped([], 0)
    dropped, clicks = [], 0
    for partition in partitions_before(cutoff):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                _lock_parent(cursor)
                cursor.execute(f"SELECT count(*) FROM {_quote(partition.name)}")
                count = int(cursor.fetchone()[0])
                cursor.execute(f"DROP TABLE {_quote(partition.name)}")
        except OperationalError as exc:  # a lock timeout must not stop the purge
            if report is not None:
                report(
                    f"could not drop {partition.name} now ({type(exc).__name__}); "
                    "its clicks are purged row by row"
                )
            continue
        dropped.append(partition.name)
        clicks += count
        if report is not None:
            report(f"dropped partition {partition.name} ({count} clicks)")
    return Dropped(dropped, clicks)
