"""The redirect's INSERT of one new click, without the ORM's ``save()`` machinery.

``Model.save(force_insert=True)`` builds a query, a compiler and the SQL again for every click and
sends signals nobody listens to for clicks: it cost the direct redirect more CPU than the rest of
its work. Here the statement is built once per database and each click only has its values
prepared (``get_db_prep_save``, as the ORM does) and executed through Django's cursor, so query
logging, query counts and database errors behave as with ``save()``. A click that leaves a column
to its database default takes ``save()``.

Reading and preparing a value costs four or five method calls per column, 27 columns per click. A
field whose ``pre_save`` is ``Field.pre_save`` (``getattr`` of its attribute) is read with
``getattr`` directly; for a plain ``CharField`` or ``TextField`` (exactly those classes) holding
text or ``None`` the prepared value is the value itself (their ``to_python`` returns it
unchanged), so those columns skip the calls.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, models, router
from django.db.models.expressions import DatabaseDefault

# Field classes (exactly these) whose prepared value for text or None is the value itself.
_AS_IS = (models.CharField, models.TextField)


@functools.cache
def _plan(
    model: type[models.Model], alias: str
) -> tuple[str, tuple[Any, ...], tuple[str | None, ...], tuple[bool, ...]]:
    connection = connections[alias]
    fields = tuple(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join("%s" for _ in fields)
    table = quote(model._meta.db_table)
    # The attribute to read for a field whose pre_save only reads it (None: call its pre_save).
    attnames = tuple(
        field.attname if type(field).pre_save is models.Field.pre_save else None for field in fields
    )
    as_is = tuple(type(field) in _AS_IS for field in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    return sql, fields, attnames, as_is


def insert_one(obj: models.Model) -> None:
    """INSERT ``obj`` (a new row whose primary key is set) with one statement, no transaction."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    sql, fields, attnames, as_is = _plan(model, alias)
    values = [
        getattr(obj, attname) if attname is not None else field.pre_save(obj, True)
        for field, attname in zip(fields, attnames, strict=True)
    ]
    if any(isinstance(value, DatabaseDefault) for value in values):
        obj.save(force_insert=True, using=alias)
        return
    connection = connections[alias]
    params = [
        value
        if plain and (value is None or type(value) is str)
        else field.get_db_prep_save(value, connection)
        for field, value, plain in zip(fields, values, as_is, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    obj._state.adding = False
    obj._state.db = alias
