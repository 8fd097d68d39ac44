"""Multi-row INSERTs for the click writer's batches, without the ORM's per-value preparation.

``bulk_create`` sends every value of every row through its field's ``get_db_prep_save`` and the
compiler's checks: for a batch of 500 clicks, 13,000 calls, which cost the writer more CPU than
classifying the clicks. The rows here are built from model instances the service layer has
already validated (UUIDs, aware UTC datetimes, text, numbers, JSON-ready values), so on
PostgreSQL they go in as they are: psycopg2 quotes each row (``mogrify``) and the statement still
runs through Django's cursor, so query logging and query counts see it. Other databases, and
rows that leave a column to its database default, take ``bulk_create``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault


@functools.cache
def _plan(
    model: type[models.Model],
) -> tuple[str, str, tuple[tuple[str, bool], ...], tuple[Any, ...]]:
    """The INSERT's head, one row's template, (attribute, is JSON) per column, and the fields
    whose value is set on insert (``auto_now_add``)."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608 - quoted model names
    template = "(" + ", ".join("%s" for _ in fields) + ")"
    plan = tuple((field.attname, isinstance(field, models.JSONField)) for field in fields)
    stamped = tuple(
        field
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )
    return head, template, plan, stamped


def _has_database_defaults(objs: list[Any], fields: tuple[tuple[str, bool], ...]) -> bool:
    return any(
        isinstance(getattr(obj, name), DatabaseDefault) for obj in objs for name, _json in fields
    )


def insert_ignoring_conflicts(model: type[models.Model], objs: list[Any]) -> None:
    """``model.objects.bulk_create(objs, ignore_conflicts=True)``, in one statement on PostgreSQL
    (``ON CONFLICT DO NOTHING``). The instances' primary keys must be set (UUIDs)."""
    if not objs:
        return
    head, template, plan, stamped = _plan(model)
    if connection.vendor != "postgresql" or _has_database_defaults(objs, plan):
        model._default_manager.bulk_create(objs, ignore_conflicts=True)
        return
    for obj in objs:
        for field in stamped:
            field.pre_save(obj, add=True)
    with connection.cursor() as cursor:
        mogrify = cursor.cursor.mogrify
        rows = [
            mogrify(
                template,
                [
                    (None if value is None else json.dumps(value)) if is_json else value
                    for name, is_json in plan
                    for value in (getattr(obj, name),)
                ],
            ).decode()
            for obj in objs
        ]
        cursor.execute(f"{head}{', '.join(rows)} ON CONFLICT DO NOTHING")
