"""Create an API key; the key itself is printed once, alone on the last line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tracking.api.auth import SCOPES
from tracking.management.batching import checked_days
from tracking.models import APIKey


class Command(BaseCommand):
    help = (
        "Create an API key with scopes (links:read, links:write, clicks:read, clicks:write, "
        "analytics:read); clicks:read adds who clicked (IP address, session id, user agent) to "
        "the clicks a key reads. Only its hash is stored: the key is shown once, on the last "
        "line of the output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="What the key is for (max 50 chars).")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes among: {', '.join(SCOPES)}.",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the key expires (default: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name or len(name) > 50:
            raise CommandError("--name must be 1 to 50 characters.")
        scopes = sorted({scope.strip() for scope in options["scopes"].split(",") if scope.strip()})
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown or not scopes:
            raise CommandError(
                f"Unknown scope(s) {', '.join(unknown) or '(none given)'}; "
                f"choose among {', '.join(SCOPES)}."
            )
        expires_days = options["expires_days"]
        expiry = None
        if expires_days is not None:
            expiry = timezone.now() + dt.timedelta(
                days=checked_days(expires_days, field="--expires-days")
            )

        api_key, key = APIKey.objects.create_key(name=name, scopes=scopes, expiry_date=expiry)
        expires = f"expires {api_key.expiry_date:%Y-%m-%d %H:%M} UTC" if expiry else "no expiry"
        self.stdout.write(
            f"Created API key {api_key.name!r} (prefix {api_key.prefix}, scopes "
            f"{', '.join(scopes)}, {expires}). Store it now: it cannot be shown again."
        )
        self.stdout.write(key)
