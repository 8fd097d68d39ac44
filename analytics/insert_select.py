"""``INSERT INTO … SELECT …`` from a query built by the ORM: the rollups' way of writing rows.

Rows computed by the database (grouped counts over many clicks) go straight into their table,
without a round trip through Python: a run costs one pass over the clicks it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, models


@dataclass(frozen=True)
class Merge:
    """What a row that collides with one already there does instead of failing: ``ON CONFLICT
    (key) DO UPDATE SET column = <combine>``, where ``combine`` is SQL over ``{old}`` (the row
    there) and ``{new}`` (the row inserted), e.g. ``"{old} | {new}"``. The key must be a unique
    constraint's columns."""

    key: tuple[str, ...]
    column: str
    combine: str


def insert_select(
    model: type[models.Model],
    qs: models.QuerySet[Any],
    columns: dict[str, str],
    *,
    merge: Merge | None = None,
) -> int:
    """``INSERT INTO model (…) SELECT …``; ``columns`` maps each select alias to its column.

    Annotations may not take a model field's name (``tracking_id``), hence the mapping. The
    column list follows the compiled select, whatever order Django puts the aliases in.
    ``merge``: rows colliding with existing ones update them (see :class:`Merge`).
    """
    compiler = qs.query.get_compiler(using=qs.db)
    sql, params = compiler.as_sql()
    aliases = [alias for _col, _sql, alias in compiler.select]
    if sorted(aliases) != sorted(columns):  # pragma: no cover - guards a Django behaviour change
        raise RuntimeError(f"unexpected select list {aliases} for {sorted(columns)}")
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(columns[alias]) for alias in aliases)
    statement = f"INSERT INTO {table} ({names}) {sql}"
    if merge is not None:
        quote = connection.ops.quote_name
        column = quote(merge.column)
        combine = merge.combine.format(old=f"{table}.{column}", new=f"EXCLUDED.{column}")
        # SQLite reads "ON" after a bare SELECT as a join's: the WHERE clause settles it.
        statement = (
            f"INSERT INTO {table} ({names}) SELECT * FROM ({sql}) new_rows WHERE 1 = 1 "  # noqa: S608
            f"ON CONFLICT ({', '.join(quote(name) for name in merge.key)}) "
            f"DO UPDATE SET {column} = {combine}"
        )
    with connection.cursor() as cursor:
        # The SELECT is compiled by the ORM with its parameters apart; names are quoted.
        cursor.execute(statement, params)
        return cursor.rowcount
