"""The COPY staging table empties itself at each commit (``ON COMMIT DELETE ROWS``): nothing of a
committed batch stays in it, no ``DELETE`` runs per batch, and a rolled-back batch leaves nothing
for the next one to store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import build_click, make_link
from tracking import dbcopy
from tracking.models import LinkClick, TrackedLink

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


def _batch(link: TrackedLink, start: int) -> list[LinkClick]:
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    return [
        build_click(link, classification="human", clicked_at=at + dt.timedelta(seconds=start + n))
        for n in range(dbcopy.COPY_MIN_ROWS)
    ]


def _staged() -> int:
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "linktrack_copy_link_clicks"')
        return int(cursor.fetchone()[0])


def test_committed_batches_leave_the_staging_table_empty_without_a_delete() -> None:
    link = make_link()
    with transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, _batch(link, 0))
    assert _staged() == 0
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, _batch(link, 100))
    assert not [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert _staged() == 0
    assert LinkClick.objects.count() == 2 * dbcopy.COPY_MIN_ROWS


def test_a_copy_outside_a_transaction_stores_its_rows() -> None:
    link = make_link()
    dbcopy.copy_ignoring_conflicts(LinkClick, _batch(link, 0))
    assert LinkClick.objects.count() == dbcopy.COPY_MIN_ROWS
    assert _staged() == 0


def test_a_rolled_back_batch_is_not_stored_by_the_next() -> None:
    link = make_link()
    rolled_back = _batch(link, 0)
    with transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, rolled_back)
        transaction.set_rollback(True)
    with transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, _batch(link, 100))
    assert LinkClick.objects.count() == dbcopy.COPY_MIN_ROWS
    assert not LinkClick.objects.filter(pk__in=[c.pk for c in rolled_back]).exists()


def test_two_batches_in_one_transaction_store_each_once() -> None:
    link = make_link()
    first = _batch(link, 0)
    with transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, first)
        LinkClick.objects.filter(pk=first[0].pk).delete()
        dbcopy.insert_ignoring_conflicts(LinkClick, _batch(link, 100))
    assert LinkClick.objects.count() == 2 * dbcopy.COPY_MIN_ROWS - 1
    assert _staged() == 0


def test_what_a_transaction_holds_is_known_to_the_thread_s_connection_only() -> None:
    """Kept on the connection of the thread, not on the proxy every thread shares."""
    link = make_link()
    with transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, _batch(link, 0))
        assert dbcopy._HOLDING in connections[DEFAULT_DB_ALIAS].__dict__
        assert dbcopy._HOLDING not in vars(connection)
