"""The redirect's INSERT of one new click, without the ORM's ``save()`` machinery.

``Model.save(force_insert=True)`` builds a query, a compiler and the SQL again for every click and
sends signals nobody listens to for clicks: it cost the direct redirect more CPU than the rest of
its work. Here the statement is built once per database and each click only has its values
prepared (``get_db_prep_save``, as the ORM does) and executed through Django's cursor, so query
logging, query counts and database errors behave as with ``save()``. A click that leaves a column
to its database default takes ``save()``.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, models, router
from django.db.models.expressions import DatabaseDefault


@functools.cache
def _plan(model: type[models.Model], alias: str) -> tuple[str, tuple[Any, ...]]:
    connection = connections[alias]
    fields = tuple(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join("%s" for _ in fields)
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", fields  # noqa: S608


def insert_one(obj: models.Model) -> None:
    """INSERT ``obj`` (a new row whose primary key is set) with one statement, no transaction."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    sql, fields = _plan(model, alias)
    values = [field.pre_save(obj, True) for field in fields]
    if any(isinstance(value, DatabaseDefault) for value in values):
        obj.save(force_insert=True, using=alias)
        return
    connection = connections[alias]
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    obj._state.adding = False
    obj._state.db = alias
