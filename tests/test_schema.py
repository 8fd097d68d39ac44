"""The migrated PostgreSQL schema matches seed 000 column by column, index by index."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection

from tracking.models import LinkClick

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# (column, data_type, character_maximum_length, is_nullable) from seed 000.
SEED_COLUMNS = {
    "link_tracking": [
        ("tracking_id", "character varying", 100, "NO"),
        ("job_id", "uuid", None, "YES"),
        ("application_id", "uuid", None, "YES"),
        ("link_function", "character varying", 50, "NO"),
        ("link_type", "character varying", 50, "NO"),
        ("original_url", "character varying", 1000, "NO"),
        ("redirect_url", "character varying", 1000, "NO"),
        ("created_at", "timestamp without time zone", None, "YES"),
        ("created_by", "character varying", 100, "YES"),
        ("is_active", "boolean", None, "YES"),
        ("description", "text", None, "YES"),
    ],
    "link_clicks": [
        ("click_id", "uuid", None, "NO"),
        ("tracking_id", "character varying", 100, "NO"),
        ("clicked_at", "timestamp without time zone", None, "YES"),
        ("ip_address", "inet", None, "YES"),
        ("user_agent", "text", None, "YES"),
        ("referrer_url", "character varying", 1000, "YES"),
        ("session_id", "character varying", 100, "YES"),
        ("click_source", "character varying", 50, "YES"),
        ("metadata", "jsonb", None, "YES"),
    ],
}

# Database-side defaults. Timestamps default to CURRENT_TIMESTAMP taken as UTC wall time, so rows
# inserted by plain SQL from a session in any time zone agree with the ORM's UTC values.
SEED_DEFAULTS = {
    ("link_tracking", "created_at"): "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC'::text)",
    ("link_tracking", "created_by"): "'system'::character varying",
    ("link_tracking", "is_active"): "true",
    ("link_clicks", "click_id"): "gen_random_uuid()",
    ("link_clicks", "clicked_at"): "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC'::text)",
    ("link_clicks", "metadata"): "'{}'::jsonb",
}

SEED_INDEXES = {
    "idx_link_tracking_job_id": ("link_tracking", "(job_id)"),
    "idx_link_tracking_application_id": ("link_tracking", "(application_id)"),
    "idx_link_tracking_function": ("link_tracking", "(link_function)"),
    "idx_link_tracking_active": ("link_tracking", "(is_active)"),
    "idx_link_tracking_created_at": ("link_tracking", "(created_at)"),
    "idx_link_clicks_tracking_id": ("link_clicks", "(tracking_id)"),
    "idx_link_clicks_clicked_at": ("link_clicks", "(clicked_at)"),
    "idx_link_clicks_source": ("link_clicks", "(click_source)"),
    "idx_link_clicks_ip_address": ("link_clicks", "(ip_address)"),
    "idx_link_clicks_session_id": ("link_clicks", "(session_id)"),
    # Recommended indexes.
    "idx_link_tracking_job_active": ("link_tracking", "(job_id, is_active)"),
    "idx_link_tracking_app_active": ("link_tracking", "(application_id, is_active)"),
    "idx_link_clicks_tracking_time": ("link_clicks", "(tracking_id, clicked_at)"),
    "idx_link_clicks_source_time": ("link_clicks", "(click_source, clicked_at)"),
    "idx_link_clicks_session_tracking": ("link_clicks", "(session_id, tracking_id)"),
    "idx_link_tracking_composite": ("link_tracking", "(is_active, link_function, created_at)"),
}

# constraint name -> (table, column, referenced table, delete rule)
SEED_FOREIGN_KEYS = {
    "fk_link_tracking_job": ("link_tracking", "job_id", "jobs", "SET NULL"),
    "fk_link_tracking_application": (
        "link_tracking",
        "application_id",
        "job_applications",
        "SET NULL",
    ),
    "fk_link_clicks_tracking": ("link_clicks", "tracking_id", "link_tracking", "CASCADE"),
}


def _fetch(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_seed_columns_have_the_seed_types_lengths_and_nullability(table: str) -> None:
    rows = _fetch(
        "SELECT column_name, data_type, character_maximum_length, is_nullable "
        "FROM information_schema.columns WHERE table_name = %s",
        [table],
    )
    actual = {row[0]: row for row in rows}
    for column, data_type, length, nullable in SEED_COLUMNS[table]:
        assert column in actual, f"{table}.{column} is missing"
        assert actual[column] == (column, data_type, length, nullable)


def test_columns_beyond_the_seed_are_nullable() -> None:
    rows = _fetch(
        "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
        "WHERE table_name IN ('link_tracking', 'link_clicks')"
    )
    seed = {(t, c[0]) for t, cols in SEED_COLUMNS.items() for c in cols}
    extra = [(t, c, n) for t, c, n in rows if (t, c) not in seed]
    assert all(n == "YES" for _, _, n in extra), extra


def test_database_defaults_match_the_seed() -> None:
    rows = _fetch(
        "SELECT table_name, column_name, column_default FROM information_schema.columns "
        "WHERE table_name IN ('link_tracking', 'link_clicks') AND column_default IS NOT NULL"
    )
    actual = {(t, c): d for t, c, d in rows}
    assert actual == SEED_DEFAULTS


def test_every_seed_index_exists_under_its_seed_name() -> None:
    rows = _fetch(
        "SELECT indexname, tablename, indexdef FROM pg_indexes "
        "WHERE tablename IN ('link_tracking', 'link_clicks')"
    )
    actual = {name: (table, definition) for name, table, definition in rows}
    for name, (table, columns) in SEED_INDEXES.items():
        assert name in actual, f"index {name} is missing"
        assert actual[name][0] == table
        assert actual[name][1].endswith(f"USING btree {columns}"), actual[name][1]


def test_foreign_keys_have_the_seed_names_and_delete_rules() -> None:
    rows = _fetch(
        """
        SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,
               c.confdeltype, c.condeferrable
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.contype = 'f' AND c.conrelid IN ('link_tracking'::regclass, 'link_clicks'::regclass)
        """
    )
    rules = {"n": "SET NULL", "c": "CASCADE", "a": "NO ACTION", "r": "RESTRICT"}
    actual = {name: (table, col, ref, rules[str(rule)]) for name, table, col, ref, rule, _ in rows}
    assert actual == SEED_FOREIGN_KEYS


def _insert_job_and_application() -> tuple[uuid.UUID, uuid.UUID]:
    job_id, app_id = uuid.uuid4(), uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs (id, title, company_name, posting_url, apply_url, location, notes, "
            "created_at, updated_at) VALUES (%s, 'T', 'C', '', '', '', '', now(), now())",
            [job_id],
        )
        cursor.execute(
            "INSERT INTO job_applications (id, job_id, status, contact_name, contact_email, notes, "
            "created_at, updated_at) VALUES (%s, %s, 'pending', '', '', '', now(), now())",
            [app_id, job_id],
        )
    return job_id, app_id


def test_a_row_with_only_the_required_seed_columns_gets_every_default() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/New_York'")
        cursor.execute(
            "INSERT INTO link_tracking (tracking_id, link_function, link_type, original_url, "
            "redirect_url) VALUES ('lt_sql_1', 'LinkedIn', 'profile', 'https://linkedin.com/in/x', "
            "'https://links.example.com/track/lt_sql_1')"
        )
        cursor.execute("INSERT INTO link_clicks (tracking_id) VALUES ('lt_sql_1')")
        cursor.execute(
            "SELECT created_by, is_active, "
            "abs(extract(epoch FROM created_at - (now() AT TIME ZONE 'UTC'))) < 60 "
            "FROM link_tracking WHERE tracking_id = 'lt_sql_1'"
        )
        assert cursor.fetchone() == ("system", True, True)
        cursor.execute(
            "SELECT click_id IS NOT NULL, metadata = '{}'::jsonb, "
            "abs(extract(epoch FROM clicked_at - (now() AT TIME ZONE 'UTC'))) < 60 "
            "FROM link_clicks WHERE tracking_id = 'lt_sql_1'"
        )
        assert cursor.fetchone() == (True, True, True)
        cursor.execute("SET TIME ZONE 'UTC'")


def test_deleting_a_job_or_application_with_plain_sql_keeps_the_link() -> None:
    job_id, app_id = _insert_job_and_application()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO link_tracking (tracking_id, job_id, application_id, link_function, "
            "link_type, original_url, redirect_url) VALUES ('lt_sql_2', %s, %s, 'GitHub', "
            "'profile', 'https://github.com/x', 'https://links.example.com/track/lt_sql_2')",
            [job_id, app_id],
        )
        cursor.execute("DELETE FROM job_applications WHERE id = %s", [app_id])
        cursor.execute(
            "SELECT job_id, application_id FROM link_tracking WHERE tracking_id = 'lt_sql_2'"
        )
        assert cursor.fetchone() == (job_id, None)
        cursor.execute("DELETE FROM jobs WHERE id = %s", [job_id])
        cursor.execute(
            "SELECT job_id, application_id FROM link_tracking WHERE tracking_id = 'lt_sql_2'"
        )
        assert cursor.fetchone() == (None, None)


def test_deleting_a_link_with_plain_sql_removes_its_clicks() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO link_tracking (tracking_id, link_function, link_type, original_url, "
            "redirect_url) VALUES ('lt_sql_3', 'Resume', 'document', 'https://example.com/cv.pdf', "
            "'https://links.example.com/track/lt_sql_3')"
        )
        cursor.execute("INSERT INTO link_clicks (tracking_id) VALUES ('lt_sql_3'), ('lt_sql_3')")
        cursor.execute("DELETE FROM link_tracking WHERE tracking_id = 'lt_sql_3'")
        cursor.execute("SELECT count(*) FROM link_clicks WHERE tracking_id = 'lt_sql_3'")
        assert cursor.fetchone() == (0,)


def test_the_seed_sample_inserts_run_unchanged() -> None:
    """Seed 000's sample INSERT statements, verbatim, against the migrated schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs (id, title, company_name, posting_url, apply_url, location, notes, "
            "created_at, updated_at) VALUES ('550e8400-e29b-41d4-a716-446655440000', "
            "'Marketing Manager', '', '', '', '', '', now(), now())"
        )
        cursor.execute(
            "INSERT INTO job_applications (id, job_id, status, contact_name, contact_email, notes, "
            "created_at, updated_at) VALUES ('550e8400-e29b-41d4-a716-446655440001', "
            "'550e8400-e29b-41d4-a716-446655440000', 'submitted', '', '', '', now(), now())"
        )
        cursor.execute(SEED_SAMPLE_LINKS)
        cursor.execute(SEED_SAMPLE_CLICKS)
        cursor.execute(
            "SELECT lt.tracking_id, COUNT(lc.click_id), MIN(lc.clicked_at)::text, "
            "MIN(host(lc.ip_address)) FROM link_tracking lt "
            "LEFT JOIN link_clicks lc ON lt.tracking_id = lc.tracking_id "
            "GROUP BY lt.tracking_id ORDER BY lt.tracking_id"
        )
        assert cursor.fetchall() == [
            ("lt_calendly_002", 1, "2025-07-27 21:20:15", "192.168.1.101"),
            ("lt_linkedin_001", 1, "2025-07-27 21:15:30", "192.168.1.100"),
        ]
    # The ORM reads the seed's naive timestamps as UTC instants.
    click = LinkClick.objects.get(tracking_id="lt_linkedin_001")
    assert click.clicked_at == dt.datetime(2025, 7, 27, 21, 15, 30, tzinfo=dt.UTC)
    assert click.metadata == {"utm_source": "email", "utm_medium": "application"}


SEED_SAMPLE_LINKS = """
INSERT INTO link_tracking (
    tracking_id, job_id, application_id, link_function,
    link_type, original_url, redirect_url, description
) VALUES
(
    'lt_linkedin_001',
    '550e8400-e29b-41d4-a716-446655440000',
    '550e8400-e29b-41d4-a716-446655440001',
    'LinkedIn',
    'profile',
    'https://linkedin.com/in/steve-glen',
    'https://yourdomain.com/track/lt_linkedin_001',
    'Professional LinkedIn profile'
),
(
    'lt_calendly_002',
    '550e8400-e29b-41d4-a716-446655440000',
    '550e8400-e29b-41d4-a716-446655440001',
    'Calendly',
    'networking',
    'https://calendly.com/steve-glen/30min',
    'https://yourdomain.com/track/lt_calendly_002',
    'Schedule interview meeting'
);
"""

SEED_SAMPLE_CLICKS = """
INSERT INTO link_clicks (
    tracking_id, clicked_at, ip_address, user_agent,
    referrer_url, session_id, click_source, metadata
) VALUES
(
    'lt_linkedin_001',
    '2025-07-27 21:15:30',
    '192.168.1.100',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36',
    'https://gmail.com',
    'sess_abc123',
    'email',
    '{"utm_source": "email", "utm_medium": "application"}'::jsonb
),
(
    'lt_calendly_002',
    '2025-07-27 21:20:15',
    '192.168.1.101',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36',
    'https://linkedin.com',
    'sess_xyz789',
    'linkedin',
    '{"utm_campaign": "networking"}'::jsonb
);
"""
