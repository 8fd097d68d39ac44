"""Create or update the two PostgreSQL roles of seed 000 for systems on other domains."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, transaction
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from tracking.models import LinkClick, TrackedLink

LINKS = TrackedLink._meta.db_table
CLICKS = LinkClick._meta.db_table


@dataclass(frozen=True)
class Role:
    name: str
    env_var: str
    grants: tuple[tuple[str, str], ...]  # (privilege, table)
    purpose: str


# Exactly the grants of seed 000 ("Data Access Control"); nothing else on our tables.
ROLES = (
    Role(
        name="link_tracker_readonly",
        env_var="LINK_TRACKER_READONLY_PASSWORD",
        grants=(("SELECT", LINKS),),
        purpose=f"external domains that resolve links: SELECT on {LINKS}",
    ),
    Role(
        name="click_recorder",
        env_var="CLICK_RECORDER_PASSWORD",
        grants=(("SELECT", LINKS), ("INSERT", CLICKS)),
        purpose=f"external redirectors that record clicks: SELECT on {LINKS}, INSERT on {CLICKS}",
    ),
)
# Two runs at once (two deploy hooks) may both try to create a role or edit its catalog row.
ATTEMPTS = 3


class Command(BaseCommand):
    help = (
        "Create (or update) the PostgreSQL roles link_tracker_readonly (SELECT on link_tracking) "
        "and click_recorder (SELECT on link_tracking, INSERT on link_clicks). Passwords come from "
        "LINK_TRACKER_READONLY_PASSWORD / CLICK_RECORDER_PASSWORD, or are generated and printed "
        "once for a new role. Re-running resets the grants and keeps existing passwords."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rotate-passwords",
            action="store_true",
            help="Generate new passwords for roles whose password variable is not set.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the statements (passwords hidden) and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "create_db_roles needs PostgreSQL (DATABASE_URL=postgres://...): "
                f"the {connection.vendor} database has no roles or grants."
            )
        dry_run: bool = options["dry_run"]
        for role in ROLES:
            note = self._apply_with_retry(role, rotate=options["rotate_passwords"], dry_run=dry_run)
            self.stdout.write(f"{role.name}: {role.purpose}; {note}")
        database = connection.settings_dict["NAME"]
        if dry_run:
            self.stdout.write(f"Dry run: nothing changed in database {database}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Roles ready in database {database}."))

    def _apply_with_retry(self, role: Role, *, rotate: bool, dry_run: bool) -> str:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return self._apply(role, rotate=rotate, dry_run=dry_run)
            except DatabaseError as exc:
                if "permission denied" in str(exc) or "must be superuser" in str(exc):
                    raise CommandError(
                        f"Cannot manage role {role.name}: the database user needs CREATEROLE "
                        f"and must own {LINKS} and {CLICKS} ({str(exc).strip()})."
                    ) from None
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _apply(self, role: Role, *, rotate: bool, dry_run: bool) -> str:
        name = sql.Identifier(role.name)
        env_password = os.environ.get(role.env_var, "")
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role.name])
            exists = cursor.fetchone() is not None
            cursor.execute("SELECT current_schema()")
            schema = sql.Identifier(cursor.fetchone()[0])

            if env_password:
                password: str | None = env_password
                note = f"password from {role.env_var}"
            elif rotate or not exists:
                password = secrets.token_urlsafe(24)
                note = f"password (shown once, store it now): {password}"
                if dry_run:
                    note = "a password would be generated"
            else:
                password, note = None, "existing password kept (--rotate-passwords to replace)"

            # Re-stating the attributes on every run undoes any hand-made widening of the role.
            attributes = sql.SQL(
                "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS INHERIT"
            ).format(name)
            tables = sql.SQL(", ").join(sql.Identifier(t) for t in (LINKS, CLICKS))
            statements: list[sql.Composable] = []
            if not exists:
                statements.append(sql.SQL("CREATE ROLE {} LOGIN").format(name))
            if password is not None:
                # Hashed here (SCRAM, as the server is configured) so the clear password never
                # reaches the server, its statement log or pg_stat_activity.
                verifier = encrypt_password(password, role.name, cursor.cursor.connection)
                statements.append(
                    sql.SQL("{} PASSWORD {}").format(attributes, sql.Literal(verifier))
                )
            else:
                statements.append(attributes)
            statements += [
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(connection.settings_dict["NAME"]), name
                ),
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name),
                # Reset first: re-running leaves exactly the seed's grants.
                sql.SQL("REVOKE ALL ON {} FROM {}").format(tables, name),
            ]
            statements += [
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(privilege), sql.Identifier(table), name
                )
                for privilege, table in role.grants
            ]
            for statement in statements:
                text = statement.as_string(cursor.cursor)
                if dry_run:
                    if password is not None:
                        text = text.replace(sql.Literal(verifier).as_string(cursor.cursor), "'…'")
                    self.stdout.write(f"  would run: {text}")
                else:
                    cursor.execute(text)
        return note
