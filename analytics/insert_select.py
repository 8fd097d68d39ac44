"""``INSERT INTO … SELECT …`` from a query built by the ORM: the rollups' way of writing rows.

Rows computed by the database (grouped counts over many clicks) go straight into their table,
without a round trip through Python: a run costs one pass over the clicks it reads.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models


def insert_select(
    model: type[models.Model], qs: models.QuerySet[Any], columns: dict[str, str]
) -> int:
    """``INSERT INTO model (…) SELECT …``; ``columns`` maps each select alias to its column.

    Annotations may not take a model field's name (``tracking_id``), hence the mapping. The
    column list follows the compiled select, whatever order Django puts the aliases in.
    """
    compiler = qs.query.get_compiler(using=qs.db)
    sql, params = compiler.as_sql()
    aliases = [alias for _col, _sql, alias in compiler.select]
    if sorted(aliases) != sorted(columns):  # pragma: no cover - guards a Django behaviour change
        raise RuntimeError(f"unexpected select list {aliases} for {sorted(columns)}")
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(columns[alias]) for alias in aliases)
    with connection.cursor() as cursor:
        # The SELECT is compiled by the ORM with its parameters apart; names are quoted.
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)
        return cursor.rowcount
