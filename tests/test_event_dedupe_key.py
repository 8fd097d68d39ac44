"""``events.dedupe_key`` is unique by a constraint (one index on PostgreSQL, no LIKE index): a
second event with a key on record still conflicts, and the writers' ``ON CONFLICT DO NOTHING``
still skips it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tracking import dbinsert
from tracking.models import Event

pytestmark = pytest.mark.django_db


def _event(key: str) -> Event:
    now = timezone.now()
    return Event(
        type="click.person", dedupe_key=key, occurred_at=now, due_at=now + dt.timedelta(seconds=5)
    )


def test_a_second_event_with_a_key_on_record_conflicts() -> None:
    _event("click.person:one").save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _event("click.person:one").save()
    assert Event.objects.count() == 1


def test_the_bulk_insert_skips_a_key_on_record_and_a_key_twice_in_the_batch() -> None:
    dbinsert.insert_ignoring_conflicts(Event, [_event("click.person:one")])
    batch = [_event("click.person:one"), _event("click.person:two"), _event("click.person:two")]
    dbinsert.insert_ignoring_conflicts(Event, batch)
    assert sorted(Event.objects.values_list("dedupe_key", flat=True)) == [
        "click.person:one",
        "click.person:two",
    ]


def test_postgresql_keeps_one_index_on_the_key(on_postgres: bool) -> None:
    if not on_postgres:
        pytest.skip("the LIKE index is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' "
            "AND indexdef LIKE '%%dedupe_key%%'"
        )
        indexes = dict(cursor.fetchall())
    assert list(indexes) == ["events_dedupe_key_key"]
    assert "UNIQUE" in indexes["events_dedupe_key_key"]
