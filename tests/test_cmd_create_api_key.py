"""manage.py create_api_key: a usable key, printed once on the last line, with scopes and expiry."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tracking.models import APIKey

pytestmark = pytest.mark.django_db


def create(*args: str) -> tuple[str, str]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    text = out.getvalue()
    return text, text.strip().splitlines()[-1]


def test_it_prints_a_working_key_alone_on_the_last_line() -> None:
    _text, key = create("--name", "job bot", "--scopes", "links:write,clicks:write,analytics:read")
    assert key.count(".") == 1 and " " not in key
    api_key = APIKey.objects.get(prefix=key.split(".")[0])
    assert api_key.name == "job bot"
    assert api_key.scopes == ["analytics:read", "clicks:write", "links:write"]
    assert api_key.expiry_date is None
    assert key not in api_key.hashed_key
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/link-tracking/report").status_code == 200
    # links:read was not granted.
    assert client.get("/api/v1/links").status_code == 403


def test_it_can_make_a_key_that_expires() -> None:
    _, key = create("--name", "temp", "--scopes", "links:read", "--expires-days", "7")
    expiry = APIKey.objects.get(prefix=key.split(".")[0]).expiry_date
    assert expiry is not None
    assert dt.timedelta(days=6, hours=23) < expiry - timezone.now() <= dt.timedelta(days=7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--scopes", "links:read,admin"], "Unknown scope(s) admin"),
        (["--name", "x", "--scopes", " , "], "Unknown scope"),
        (["--name", "", "--scopes", "links:read"], "--name"),
        (["--name", "n" * 51, "--scopes", "links:read"], "--name"),
        (["--name", "x", "--scopes", "links:read", "--expires-days", "0"], "--expires-days"),
    ],
)
def test_it_refuses_bad_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("create_api_key", *args, stdout=StringIO())
    assert APIKey.objects.count() == 0
