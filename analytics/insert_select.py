"""``INSERT INTO … SELECT …`` from a query built by the ORM: the rollups' way of writing rows.

Rows computed by the database (grouped counts over many clicks) go straight into their table,
without a round trip through Python: a run costs one pass over the clicks it reads.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models

from analytics import temptables


def insert_select(
    model: type[models.Model],
    qs: models.QuerySet[Any],
    columns: dict[str, str],
) -> int:
    """``INSERT INTO model (…) SELECT …``; ``columns`` maps each select alias to its column.

    Annotations may not take a model field's name (``tracking_id``), hence the mapping. The
    column list follows the compiled select, whatever order Django puts the aliases in.
    """
    sql, params, aliases = _compiled(qs, columns)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(columns[alias]) for alias in aliases)
    statement = f"INSERT INTO {table} ({names}) {sql}"
    with connection.cursor() as cursor:
        # The SELECT is compiled by the ORM with its parameters apart; names are quoted.
        cursor.execute(statement, params)
        return cursor.rowcount


def replace_select(
    model: type[models.Model],
    qs: models.QuerySet[Any],
    columns: dict[str, str],
    *,
    rows: models.QuerySet[Any],
    nullable: frozenset[str] = frozenset(),
    order: tuple[str, ...] = (),
) -> None:
    """Make ``rows`` (the model's rows the select replaces) equal the select's rows, writing only
    the difference: a row there that no new row equals is deleted, a new row that no row there
    equals is inserted; equal rows stay as they are (no index page is written for them).

    ``columns`` as for :func:`insert_select`; every one of them takes part in the comparison,
    those in ``nullable`` (column names) NULL-safely. Rebuilding days that did not change then
    costs reads only. The select runs once, into a temporary table both directions read.

    ``order``: aliases of the select that rows written anew (no rows there to compare with) are
    inserted in, e.g. their day: a later run that reads one day's rows then finds them together
    in a few pages instead of one or two in each of thousands.
    """
    if connection.vendor != "postgresql" or not rows.exists():
        # Nothing to compare with (a full rebuild, a new day); or SQLite, whose plan for the
        # comparison scans the new rows once per row there: its tables stay small, it rewrites.
        rows.delete()
        insert_select(model, qs.order_by(*order) if order else qs, columns)
        return
    _sql, _params, aliases = _compiled(qs, columns)  # the new rows' names, in their order
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None and pk.column is not None
    there = rows.order_by().values(
        o_pk_=models.F("pk"),
        **{f"o_{columns[alias]}": models.F(columns[alias]) for alias in aliases},
    )
    there_sql, there_params = there.query.get_compiler(using=rows.db).as_sql()
    same = " AND ".join(
        _same(f"n.{quote(alias)}", f"o.{quote('o_' + columns[alias])}", columns[alias] in nullable)
        for alias in aliases
    )
    table = quote(model._meta.db_table)
    names = ", ".join(quote(columns[alias]) for alias in aliases)
    selected = ", ".join(f"n.{quote(alias)}" for alias in aliases)
    # The new rows are worked out once, into a table of this connection's own, with statistics:
    # the planner then knows how many there are (its guess for a grouped select was a fifth of
    # them, which made it probe the index once per new row) and both directions read them
    # instead of grouping the clicks again.
    with temptables.rows_of(NEW_ROWS, qs) as new_rows, connection.cursor() as cursor:
        # The SELECTs are compiled by the ORM with their parameters apart; names are quoted.
        cursor.execute(
            f"DELETE FROM {table} WHERE {quote(pk.column)} IN ("  # noqa: S608
            f"SELECT o.o_pk_ FROM ({there_sql}) o "
            f"WHERE NOT EXISTS (SELECT 1 FROM {new_rows} n WHERE {same}))",
            there_params,
        )
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {selected} FROM {new_rows} n "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM ({there_sql}) o WHERE {same})",
            there_params,
        )


# The temporary table of replace_select's new rows (PostgreSQL only).
NEW_ROWS = "linktrack_replace_select_rows"


def _same(new: str, old: str, nullable: bool) -> str:
    # NULL-safe where needed; PostgreSQL still hashes or merges the join on the plain columns.
    return f"{new} IS NOT DISTINCT FROM {old}" if nullable else f"{new} = {old}"


def _compiled(qs: models.QuerySet[Any], columns: dict[str, str]) -> tuple[str, Any, list[str]]:
    """The select's SQL, its parameters and its aliases in the order it selects them."""
    compiler = qs.query.get_compiler(using=qs.db)
    sql, params = compiler.as_sql()
    aliases = [alias for _col, _sql, alias in compiler.select]
    if sorted(aliases) != sorted(columns):  # pragma: no cover - guards a Django behaviour change
        raise RuntimeError(f"unexpected select list {aliases} for {sorted(columns)}")
    return sql, params, aliases
