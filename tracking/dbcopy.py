"""``COPY`` for the click writer's batches on PostgreSQL: the fastest way in, still idempotent.

A multi-row ``INSERT`` quotes every value of every row (``mogrify``), which cost the writer more
CPU per click than anything but classification. ``COPY … FROM STDIN`` takes the rows as text,
formatted here with one converter per column chosen once per model. ``COPY`` cannot skip rows that
are already stored, so the rows go into a temporary table first (one per connection) and from
there into the real one with ``INSERT … SELECT … ON CONFLICT DO NOTHING``: a click the stream
delivers twice is still stored once.

The temporary table is ``ON COMMIT DELETE ROWS``: PostgreSQL empties it by truncating its file at
the commit, which costs nothing per row. Emptied with a ``DELETE`` after each batch instead (as
before), it kept its dead rows' pages (autovacuum never visits temporary tables): a writer's
table grew by ~0.35 MB a batch of 2,000 clicks for as long as its connection lived, and every
batch's ``INSERT … SELECT`` read it all. A second batch copied in the same transaction (a caller's
own transaction around several) first deletes the rows of the one before.

The rows are model instances the service layer has already validated (UUIDs, aware UTC
datetimes, text, numbers, JSON-ready values). A database error (a text the database refuses) is
raised as Django's, so the writer sets the batch's entries aside one by one as before.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import operator
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, models, transaction
from django.db.models.expressions import DatabaseDefault

from tracking import dbinsert

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
# Below this many rows one multi-row INSERT (one round trip) costs less than COPY's three.
COPY_MIN_ROWS = 20


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    # Most values hold none of the four characters COPY's text format escapes.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def _json(value: Any) -> str:
    # A click's reasons are one of a few lists of codes, its metadata most often empty: their
    # text is known (json.dumps costs more than the rest of a row's values together).
    if type(value) is list and all(type(item) is str for item in value):
        return _json_strings(tuple(value))
    if type(value) is dict and not value:
        return "{}"
    return _text(json.dumps(value))


# Bounded: ~200 B an entry. The reasons' combinations are far fewer.
@functools.lru_cache(maxsize=1024)
def _json_strings(items: tuple[str, ...]) -> str:
    return _text(json.dumps(list(items)))


def _boolean(value: Any) -> str:
    return "t" if value else "f"


def _timestamp(value: dt.datetime) -> str:
    # In UTC: a ``timestamp`` column (the seed's, :class:`tracking.dbfields.UTCTimestampField`)
    # ignores the offset COPY reads, and Django's connections run in UTC.
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat()


def _uuid(value: Any) -> str:
    # 32 hex digits, which PostgreSQL reads as the same UUID as the hyphenated form (that form
    # is built in Python, one of the costliest values of a row).
    return value.hex if type(value) is uuid.UUID else _text(value)


def _converter(field: models.Field) -> Callable[[Any], str]:
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.BooleanField):
        return _boolean
    if isinstance(field, models.DateTimeField):
        return _timestamp
    if isinstance(field, models.UUIDField):
        return _uuid
    return _text


@functools.cache
def _plan(
    model: type[models.Model],
) -> tuple[str, str, str, str, tuple[tuple[str, Any], ...]]:
    """The temporary table's name, the statements around it, and (attribute, converter) per
    column."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    table = str(model._meta.db_table)
    scratch = f"linktrack_copy_{table}"
    columns = ", ".join(quote(str(field.column)) for field in fields)
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(scratch)} (LIKE {quote(table)}) "
        "ON COMMIT DELETE ROWS"
    )
    empty = f"DELETE FROM {quote(scratch)}"  # noqa: S608 - a quoted name
    copy = f"COPY {quote(scratch)} ({columns}) FROM STDIN"
    move = (
        f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} "  # noqa: S608 - quoted names
        f"FROM {quote(scratch)} ON CONFLICT DO NOTHING"
    )
    plan = tuple((field.attname, _converter(field)) for field in fields)
    return create, copy, move, empty, plan


@functools.cache
def _with_database_default(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(
        field.attname
        for field in model._meta.concrete_fields
        if field.db_default is not models.NOT_PROVIDED
    )


def insert_ignoring_conflicts(model: type[models.Model], objs: list[Any]) -> None:
    """``model.objects.bulk_create(objs, ignore_conflicts=True)``, the fastest way the database
    allows: ``COPY`` on PostgreSQL for a batch (:func:`copy_ignoring_conflicts`), one multi-row
    INSERT otherwise (:func:`tracking.dbinsert.insert_ignoring_conflicts`), and the ORM for rows
    that leave a column to its database default."""
    if (
        connection.vendor != "postgresql"
        or len(objs) < COPY_MIN_ROWS
        or any(
            isinstance(obj.__dict__.get(name), DatabaseDefault)
            for name in _with_database_default(model)
            for obj in objs
        )
    ):
        dbinsert.insert_ignoring_conflicts(model, objs)
        return
    with transaction.atomic():
        copy_ignoring_conflicts(model, objs)


@functools.cache
def _row_plan(
    model: type[models.Model],
) -> tuple[Callable[[dict[str, Any]], tuple[Any, ...]], tuple[Callable[[Any], str], ...]]:
    """One C call that takes a row's values out of an instance's ``__dict__``, and the
    converters in column order."""
    plan = _plan(model)[4]
    return operator.itemgetter(*(name for name, _convert in plan)), tuple(c for _n, c in plan)


def rows_text(model: type[models.Model], objs: list[Any]) -> str:
    """The instances as ``COPY`` text (tab-separated, ``\\N`` for NULL, one line per row).

    A row is first joined as it comes: the text of text columns as it is, every other value
    converted. When that line holds no newline, no carriage return, a tab only between columns
    and a backslash only in each NULL, no text needed escaping and the line is the row's.
    Otherwise (rarely) the row is converted value by value, each text escaped."""
    values_of, converters = _row_plan(model)
    plan = _plan(model)[4]
    tabs = len(converters) - 1
    text = _text
    lines = []
    for obj in objs:
        values = obj.__dict__
        row = values_of(values)
        line = "\t".join(
            [
                _NULL
                if value is None
                else value
                if type(value) is str and convert is text
                else convert(value)
                for value, convert in zip(row, converters, strict=True)
            ]
        )
        if (
            line.count("\\") != row.count(None)
            or line.count("\t") != tabs
            or "\n" in line
            or "\r" in line
        ):
            line = "\t".join(
                _NULL if (value := values[name]) is None else convert(value)
                for name, convert in plan
            )
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


# The temporary tables (by name) that may hold rows copied earlier in the current transaction of
# a connection: set when a copy moves its rows, cleared when that transaction commits (which
# empties them). After a rollback a name stays, and the next copy deletes from an empty table.
_HOLDING = "_linktrack_copy_holding"


def copy_ignoring_conflicts(model: type[models.Model], objs: list[Any]) -> None:
    """Store ``objs`` (instances whose primary keys are set), skipping those already stored.
    PostgreSQL only. In a transaction of its own unless one is open: a failure then leaves
    nothing behind, and the rows stay in the temporary table until they are moved."""
    assert connection.vendor == "postgresql"
    if not objs:
        return
    create, copy, move, empty, _columns = _plan(model)
    data = io.StringIO(rows_text(model, objs))
    # On the thread's own connection (through the proxy: ``connection.__dict__`` would be the
    # proxy's, which every thread shares).
    holding: set[str] | None = getattr(connection, _HOLDING, None)
    if holding is None:
        holding = set()
        setattr(connection, _HOLDING, holding)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(create)
        if empty in holding:  # rows of a batch copied before in this transaction
            cursor.execute(empty)
        with connection.wrap_database_errors:
            cursor.cursor.copy_expert(copy, data)
        cursor.execute(move)
        holding.add(empty)
        transaction.on_commit(functools.partial(holding.discard, empty))
