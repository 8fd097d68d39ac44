"""Create the first admin account, printing its password once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create a superuser when none exists and print its generated password once. "
        "Does nothing when a superuser already exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account already exists.")
            return
        password = secrets.token_urlsafe(15)
        user_model.objects.create_superuser(
            username=options["username"], email="", password=password
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin account created. Username: {options['username']}  Password: {password}\n"
                "This password is shown only once; change it in the admin."
            )
        )
