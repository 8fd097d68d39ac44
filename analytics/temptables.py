"""Temporary tables a rollup or summary run fills once from a query and reads many times.

Some are the table of an unmanaged model (:class:`analytics.models.RangeClick`,
:class:`analytics.models.OutcomeClick`), read through the ORM; others are read by plain SQL. Each
is held by the run's connection only: created from the query's rows, analysed on PostgreSQL
(autovacuum never visits a temporary table, and the reads' plans need its statistics), dropped
when the block ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet


def qualified_name(name: str) -> str:
    """The table ``name`` in the connection's temporary schema: qualified, so that no statement
    here can reach a stored table of the same name."""
    schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
    return f"{schema}.{connection.ops.quote_name(name)}"


@contextlib.contextmanager
def rows_of(name: str, source: QuerySet[Any]) -> Iterator[str]:
    """A temporary table ``name`` holding the rows of ``source`` (a ``values()`` queryset: its
    names are the table's columns); yields the table's qualified name.

    Runs inside the caller's transaction, if any. The table is dropped when the block ends
    normally; when it raises inside a transaction, the rollback takes the table with it (else the
    next fill replaces it).
    """
    sql, params = source.query.get_compiler(using=source.db).as_sql()
    table = qualified_name(name)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # The SELECT is compiled by the ORM with its parameters apart; the name is quoted.
        cursor.execute(f"CREATE TEMPORARY TABLE {table.split('.', 1)[1]} AS {sql}", params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
    yield table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")


@contextlib.contextmanager
def filled(model: type[models.Model], source: QuerySet[Any]) -> Iterator[QuerySet[Any]]:
    """``model``'s table as a temporary table holding the rows of ``source``
    (:func:`rows_of`); yields the model's queryset over them."""
    with rows_of(model._meta.db_table, source):
        yield model._default_manager.order_by()
