"""Database-level pieces the seed schema needs and Django does not ship for both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Func
from django.db.models.sql.compiler import SQLCompiler

_SQL = tuple[str, tuple[Any, ...]]


class UTCTimestampField(models.DateTimeField):
    """A ``TIMESTAMP`` (without time zone) column that always holds UTC.

    The seed schema uses plain ``TIMESTAMP``. Django's own DateTimeField makes ``timestamptz`` on
    PostgreSQL; this field keeps the seed's type and hands aware UTC datetimes to Python. Django
    sets every connection's time zone to UTC, so values written through the ORM are UTC.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "timestamp"
        return super().db_type(connection)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        """Values to store or compare, as the column's type: on PostgreSQL a UTC wall time.

        An aware datetime would reach PostgreSQL as a ``timestamptz``; compared with this column,
        each row's value is then converted to one (at the session's time zone, UTC: the same
        answer), which a read of the whole table paid per row (0.9 of 2.7 s for ten million
        clicks). The same instant as a plain ``timestamp`` compares as it is.
        """
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "postgresql" and isinstance(value, dt.datetime) and value.tzinfo:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def from_db_value(
        self, value: dt.datetime | None, expression: Any, connection: BaseDatabaseWrapper
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class UTCNow(Func):
    """``CURRENT_TIMESTAMP`` as UTC wall time, the database default of the seed's timestamps.

    On PostgreSQL a bare ``CURRENT_TIMESTAMP`` stored in a ``timestamp`` column takes the session's
    time zone; converting to UTC keeps rows inserted by plain SQL from any session consistent.
    SQLite's ``CURRENT_TIMESTAMP`` is already UTC.
    """

    template = "CURRENT_TIMESTAMP"
    output_field = models.DateTimeField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _SQL:
        return "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')", ()


class RandomUUID(Func):
    """``gen_random_uuid()`` on PostgreSQL; 32 random hex digits (Django's UUID form) on SQLite."""

    template = "gen_random_uuid()"
    output_field = models.UUIDField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _SQL:
        return "lower(hex(randomblob(16)))", ()


class AsUTC(Func):
    """Mark a UTC ``timestamp`` column as an instant, so time-zone truncation works on PostgreSQL.

    Django's ``Trunc*(..., tzinfo=...)`` emits ``col AT TIME ZONE 'X'``, which is only right for
    ``timestamptz``. Wrapping the column first gives ``(col AT TIME ZONE 'UTC') AT TIME ZONE 'X'``.
    """

    output_field = models.DateTimeField()

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _SQL:
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({sql} AT TIME ZONE 'UTC')", tuple(params)
        return sql, tuple(params)


class SeedIndex(models.Index):
    """An index whose name may be as long as PostgreSQL allows (63), as some seed names are.

    Django caps index names at 30 characters for Oracle's sake; this project targets PostgreSQL
    and SQLite, and the seed's ``idx_link_tracking_application_id`` is 32 characters long.
    """

    max_name_length = 63
