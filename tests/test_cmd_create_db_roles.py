"""The roles of seed 000 can do exactly what the seed grants: each test connects as the role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.core.management import CommandError
from django.db import connection
from psycopg2 import errors

from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking.models import LinkClick, TrackedLink

READONLY = "link_tracker_readonly"
RECORDER = "click_recorder"
# Fixed passwords: roles are cluster-wide, so runs of the suite against other databases of the same
# server set the same ones and never lock each other out.
PASSWORDS = {READONLY: "readonly-test-password", RECORDER: "recorder-test-password"}

SEED_CLICK_INSERT = """
INSERT INTO link_clicks (
    tracking_id, clicked_at, ip_address, user_agent,
    referrer_url, session_id, click_source, metadata
) VALUES (%s, '2025-07-27 21:15:30', '192.168.1.100', 'Mozilla/5.0', 'https://gmail.com',
          'sess_abc123', 'email', '{"utm_source": "email"}'::jsonb)
"""


@pytest.fixture
def role_passwords(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("LINK_TRACKER_READONLY_PASSWORD", PASSWORDS[READONLY])
    monkeypatch.setenv("CLICK_RECORDER_PASSWORD", PASSWORDS[RECORDER])
    return PASSWORDS


@pytest.fixture
def connect_as(role_passwords: dict[str, str]) -> Iterator[Any]:
    """Open connections as a role to the test database; all are closed before teardown."""
    opened: list[Any] = []
    settings = connection.settings_dict

    def connect(role: str) -> Any:
        conn = psycopg2.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            dbname=settings["NAME"],
            user=role,
            password=role_passwords[role],
            connect_timeout=5,
        )
        conn.autocommit = True
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def can(conn: Any, statement: str, params: list[Any] | None = None) -> bool:
    """Whether ``statement`` runs for this role; only a privilege error counts as "no"."""
    with conn.cursor() as cursor:
        try:
            cursor.execute(statement, params)
        except errors.InsufficientPrivilege:
            return False
    return True


@pytest.fixture
def link() -> TrackedLink:
    link = make_link()
    make_visitor_click(link)
    return link


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_readonly_role_reads_links_and_nothing_else(link: TrackedLink, connect_as: Any) -> None:
    output = run_command("create_db_roles")
    assert f"{READONLY}: " in output and "password from LINK_TRACKER_READONLY_PASSWORD" in output

    conn = connect_as(READONLY)
    with conn.cursor() as cursor:
        cursor.execute("SELECT original_url FROM link_tracking WHERE tracking_id = %s", [link.pk])
        assert cursor.fetchone() == (link.original_url,)
    assert not can(conn, "SELECT * FROM link_clicks")
    assert not can(conn, SEED_CLICK_INSERT, [link.pk])
    assert not can(
        conn,
        "INSERT INTO link_tracking (tracking_id, link_function, link_type, original_url, "
        "redirect_url) VALUES ('lt_x', 'LinkedIn', 'profile', 'https://a.example', 'https://b')",
    )
    assert not can(conn, "UPDATE link_tracking SET is_active = FALSE")
    assert not can(conn, "DELETE FROM link_tracking")
    assert not can(conn, "DELETE FROM link_clicks")
    assert TrackedLink.objects.get(pk=link.pk).active


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_click_recorder_reads_links_and_only_inserts_clicks(
    link: TrackedLink, connect_as: Any
) -> None:
    run_command("create_db_roles")

    conn = connect_as(RECORDER)
    with conn.cursor() as cursor:
        cursor.execute("SELECT is_active FROM link_tracking WHERE tracking_id = %s", [link.pk])
        assert cursor.fetchone() == (True,)
    # Seed 000's own click INSERT, relying on the database defaults for click_id.
    assert can(conn, SEED_CLICK_INSERT, [link.pk])
    stored = LinkClick.objects.get(session_id="sess_abc123", ip_address="192.168.1.100")
    assert stored.click_id is not None and stored.metadata == {"utm_source": "email"}

    assert not can(conn, "SELECT * FROM link_clicks")
    # RETURNING reads the row back, which needs SELECT: recorders send their own click_id.
    assert not can(conn, SEED_CLICK_INSERT + " RETURNING click_id, clicked_at", [link.pk])
    assert not can(conn, "UPDATE link_clicks SET ip_address = NULL")
    assert not can(conn, "DELETE FROM link_clicks")
    assert not can(conn, "UPDATE link_tracking SET original_url = 'https://evil.example'")
    assert not can(conn, "DELETE FROM link_tracking")
    assert LinkClick.objects.filter(tracking=link).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_re_running_resets_grants_widened_by_hand(link: TrackedLink, connect_as: Any) -> None:
    run_command("create_db_roles")
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT DELETE, SELECT ON link_clicks TO {RECORDER}")

    output = run_command("create_db_roles")

    assert "Roles ready" in output
    conn = connect_as(RECORDER)
    assert not can(conn, "DELETE FROM link_clicks")
    assert not can(conn, "SELECT * FROM link_clicks")
    assert can(conn, SEED_CLICK_INSERT, [link.pk])


def stored_password(role: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role])
        return cursor.fetchone()[0]


def password_matches(stored: str, *, role: str, password: str) -> bool:
    """Check a password against PostgreSQL's stored verifier (the server here trusts 127.0.0.1,
    so logging in would prove nothing)."""
    if stored.startswith("md5"):
        return stored == "md5" + hashlib.md5((password + role).encode()).hexdigest()  # noqa: S324
    _, params, keys = stored.split("$")
    iterations, salt = params.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_roles_get_the_passwords_from_the_environment(role_passwords: dict[str, str]) -> None:
    run_command("create_db_roles")
    for role, password in role_passwords.items():
        stored = stored_password(role)
        assert password not in stored
        assert password_matches(stored, role=role, password=password)
        assert not password_matches(stored, role=role, password=password + "x")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_password_variables_a_re_run_keeps_passwords_and_rotation_prints_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_command("create_db_roles")  # make sure both roles exist
    monkeypatch.delenv("LINK_TRACKER_READONLY_PASSWORD", raising=False)
    monkeypatch.delenv("CLICK_RECORDER_PASSWORD", raising=False)
    before = stored_password(RECORDER)

    kept = run_command("create_db_roles")
    assert "existing password kept" in kept
    assert stored_password(RECORDER) == before

    rotated = run_command("create_db_roles", "--rotate-passwords")
    printed = dict(
        re.findall(r"^(\w+): .*password \(shown once, store it now\): (\S+)$", rotated, re.M)
    )
    assert set(printed) == {READONLY, RECORDER}
    assert stored_password(RECORDER) != before
    for role, password in printed.items():
        assert password_matches(stored_password(role), role=role, password=password)


@pytest.mark.django_db
def test_it_explains_that_sqlite_has_no_roles(on_postgres: bool) -> None:
    if on_postgres:
        pytest.skip("the SQLite refusal is checked on SQLite")
    with pytest.raises(CommandError, match="create_db_roles needs PostgreSQL"):
        run_command("create_db_roles")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dry_run_prints_the_statements_without_passwords_and_changes_nothing(
    role_passwords: dict[str, str], connect_as: Any, link: TrackedLink
) -> None:
    run_command("create_db_roles")
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT ON link_clicks TO {READONLY}")

    output = run_command("create_db_roles", "--dry-run")

    assert f'would run: REVOKE ALL ON "link_tracking", "link_clicks" FROM "{READONLY}"' in output
    assert f'would run: GRANT SELECT ON "link_tracking" TO "{READONLY}"' in output
    assert role_passwords[READONLY] not in output and role_passwords[RECORDER] not in output
    assert "Dry run: nothing changed" in output
    assert can(connect_as(READONLY), "SELECT * FROM link_clicks")
