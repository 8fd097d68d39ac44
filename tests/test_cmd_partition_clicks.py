"""``partition_clicks``: link_clicks partitioned by month on PostgreSQL, opt-in.

Each test converts inside its own test transaction (PostgreSQL's DDL is transactional), so the
schema every other test sees stays the seed's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import HOUR, make_link, make_visitor_click
from tests.support import queue_click, run_command
from tracking import partitions, services
from tracking.clicks.writer import ClickWriter
from tracking.models import Event, LinkClick

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = pytest.mark.django_db

SEED_INDEXES = {
    "idx_link_clicks_tracking_id",
    "idx_link_clicks_clicked_at",
    "idx_link_clicks_source",
    "idx_link_clicks_ip_address",
    "idx_link_clicks_session_id",
    "idx_link_clicks_tracking_time",
    "idx_link_clicks_source_time",
    "idx_link_clicks_session_tracking",
}


def fetch(sql: str, params: list[Any] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def table_exists(name: str) -> bool:
    return bool(fetch("SELECT to_regclass(%s) IS NOT NULL", [name])[0][0])


def partition_of(click_id: object) -> str:
    rows = fetch("SELECT tableoid::regclass::text FROM link_clicks WHERE click_id = %s", [click_id])
    return str(rows[0][0])


def rows() -> list[tuple[object, ...]]:
    return list(
        LinkClick.objects.values_list(
            "click_id", "clicked_at", "tracking_id", "ip_address", "session_id", "metadata"
        ).order_by("click_id")
    )


@pytest.mark.skipif(ON_POSTGRES, reason="checks the SQLite refusal; runs without DATABASE_URL")
def test_it_refuses_on_sqlite_and_says_why() -> None:
    with pytest.raises(CommandError, match=r"needs PostgreSQL.*Nothing changed"):
        run_command("partition_clicks", "--convert")
    assert partitions.is_partitioned() is False


@pytest.mark.postgres
class TestOnPostgres:
    def test_the_default_schema_is_one_table(self) -> None:
        assert partitions.is_partitioned() is False
        assert "one table" in run_command("partition_clicks")

    def test_conversion_keeps_every_click_and_the_seeds_names(self) -> None:
        link = make_link()
        for days_ago in (0, 40, 400):
            make_visitor_click(link, days_ago=days_ago, session_id=f"s{days_ago}")
        before = rows()

        output = run_command("partition_clicks", "--convert")

        assert "3 clicks" in output
        assert partitions.is_partitioned()
        assert rows() == before
        names = {p.name for p in partitions.partitions()}
        assert partitions.DEFAULT_PARTITION in names
        now = timezone.now()
        assert partitions.partition_name(partitions.month_start(now)) in names
        indexes = {
            name
            for (name,) in fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'link_clicks'")
        }
        assert SEED_INDEXES <= indexes
        ((pk,),) = fetch(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'link_clicks'::regclass AND conname = 'link_clicks_pkey'"
        )
        assert pk == "PRIMARY KEY (click_id, clicked_at)"

    def test_deleting_a_link_still_deletes_its_clicks_in_the_database(self) -> None:
        link = make_link()
        make_visitor_click(link, days_ago=1)
        partitions.convert()

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM link_tracking WHERE tracking_id = %s", [link.pk])

        assert LinkClick.objects.count() == 0

    def test_the_redirect_still_stores_its_click_in_this_months_partition(
        self, client: Client
    ) -> None:
        link = make_link(sent_ago=HOUR)
        partitions.convert()

        response = client.get(reverse("tracking:redirect", args=[link.tracking_id]))

        assert response.status_code == 302
        click = LinkClick.objects.get()
        month = partitions.month_start(timezone.now())
        assert partition_of(click.pk) == partitions.partition_name(month)

    @pytest.mark.redis
    def test_the_writer_still_stores_each_queued_click_once(self, stream: str) -> None:
        link = make_link(sent_ago=HOUR)
        partitions.convert()
        queued = {queue_click(link.tracking_id) for _ in range(5)}

        ClickWriter(consumer="test-writer").run(drain=True)
        # A writer that crashed before acknowledging stores the same clicks again.
        clicks = list(LinkClick.objects.all())
        for click in clicks:
            click._state.adding = True
        services.insert_clicks(clicks)

        assert sorted(str(pk) for pk in LinkClick.objects.values_list("pk", flat=True)) == sorted(
            queued
        )
        # The outbox still finds the clicks it announces.
        assert set(Event.objects.values_list("click_id", flat=True)) >= {c.pk for c in clicks}

    def test_an_api_retry_of_one_click_id_in_the_same_month_is_stored_once(self) -> None:
        link = make_link(sent_ago=HOUR)
        partitions.convert()
        click_id = "3f0c8f5e-7d2a-4b8e-9c51-0d6f3e2a1b47"

        services.record_click(tracking_id=link.tracking_id, click_id=click_id)
        services.record_click(tracking_id=link.tracking_id, click_id=click_id)

        assert LinkClick.objects.filter(pk=click_id).count() == 1

    def test_the_anonymized_view_still_reads_the_clicks(self) -> None:
        link = make_link()
        make_visitor_click(link, days_ago=1, ip_address="203.0.113.7")
        make_visitor_click(link, days_ago=100, ip_address="198.51.100.9")
        partitions.convert()

        shown = fetch("SELECT host(ip_address) FROM link_analytics_view ORDER BY clicked_at")

        assert shown == [(None,), ("203.0.113.7",)]

    def test_purge_drops_the_months_wholly_past_retention(self) -> None:
        link = make_link()
        old = make_visitor_click(link, days_ago=800)
        kept = make_visitor_click(link, days_ago=1)
        partitions.convert()
        old_partition = partition_of(old.pk)

        output = run_command("purge_clicks")

        assert "Deleted 1 clicks" in output
        assert not table_exists(old_partition)
        assert list(LinkClick.objects.values_list("pk", flat=True)) == [kept.pk]

    def test_purge_deletes_row_by_row_inside_the_month_the_cutoff_falls_in(self) -> None:
        link = make_link()
        now = timezone.now()
        cutoff = now - dt.timedelta(days=730)
        month = partitions.month_start(cutoff.astimezone(dt.UTC))
        before = make_visitor_click(link, clicked_at=cutoff - dt.timedelta(seconds=1))
        after = make_visitor_click(link, clicked_at=cutoff + dt.timedelta(hours=1))
        partitions.convert()

        deleted = services.purge_clicks(older_than=cutoff)

        assert deleted == 1
        assert table_exists(partitions.partition_name(month))
        assert list(LinkClick.objects.values_list("pk", flat=True)) == [after.pk]
        assert not LinkClick.objects.filter(pk=before.pk).exists()

    def test_a_new_month_takes_its_clicks_from_the_default_partition(self) -> None:
        link = make_link()
        partitions.convert(months_ahead=0)  # no click yet: this month only
        click = make_visitor_click(link, days_ago=100)
        assert partition_of(click.pk) == partitions.DEFAULT_PARTITION
        assert click.clicked_at is not None
        month = partitions.month_start(click.clicked_at.astimezone(dt.UTC))

        created = partitions.ensure_months([month])

        assert created == [partitions.partition_name(month)]
        assert partition_of(click.pk) == partitions.partition_name(month)
        assert not fetch("SELECT 1 FROM link_clicks_default")

    def test_ensure_future_and_maintenance_keep_the_next_months_ready(self) -> None:
        partitions.convert(months_ahead=0)
        assert "link_clicks_" in run_command("partition_clicks", "--ensure-future", "2")
        assert "Every partition exists" in run_command("partition_clicks", "--ensure-future", "2")

        output = run_command("run_maintenance")

        assert "partitions" in output
        third = partitions.add_months(partitions.month_start(timezone.now()), 3)
        assert table_exists(partitions.partition_name(third))

    def test_other_roles_keep_their_grants_on_the_table_and_the_view(self) -> None:
        role = f"linktrack_test_{uuid.uuid4().hex[:12]}"  # rolled back with the test
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role}")
            cursor.execute(f"GRANT INSERT ON link_clicks TO {role}")
            cursor.execute(f"GRANT SELECT ON link_analytics_view TO {role}")

        partitions.convert()

        granted = fetch(
            "SELECT has_table_privilege(%s, 'link_clicks', 'INSERT'), "
            "has_table_privilege(%s, 'link_clicks', 'DELETE'), "
            "has_table_privilege(%s, 'link_analytics_view', 'SELECT')",
            [role, role, role],
        )
        assert granted == [(True, False, True)]

    def test_it_refuses_while_a_foreign_key_references_the_clicks(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE click_notes (click_id uuid "
                "CONSTRAINT fk_note_click REFERENCES link_clicks (click_id))"
            )

        with pytest.raises(CommandError, match=r"click_notes\.fk_note_click"):
            run_command("partition_clicks", "--convert")
        assert partitions.is_partitioned() is False

    def test_it_refuses_clicks_without_a_time(self) -> None:
        link = make_link()
        click = make_visitor_click(link)
        LinkClick.objects.filter(pk=click.pk).update(clicked_at=None)

        with pytest.raises(CommandError, match="1 clicks have no clicked_at"):
            run_command("partition_clicks", "--convert")
        assert partitions.is_partitioned() is False

    def test_a_second_conversion_changes_nothing(self) -> None:
        partitions.convert()
        before = partitions.partitions()

        with pytest.raises(CommandError, match="already partitioned"):
            run_command("partition_clicks", "--convert")

        assert partitions.partitions() == before
