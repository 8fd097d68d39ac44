"""A click entry written by orjson where that gives the json module's very bytes
(tracking.clicks.entryjson), by json everywhere else."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import pytest

from tests.factories import CHROME
from tracking.clicks import entryjson, stream
from tracking.models import Classification, ClickSource


class Colour(enum.Enum):
    RED = "red"


class Odd(str, enum.Enum):  # noqa: UP042 - a StrEnum would make its value text
    ONE = 1  # its text is "1", its value 1


CLICK_ID = uuid.UUID("0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b")
FIELDS: dict[str, Any] = {
    "tracking_id": "lt_abc123",
    "ip_address": "2001:db8::1",
    "user_agent": CHROME,
    "referrer_url": "https://example.com/a?b=c",
    "session_id": "s_abcdefghijklmnopqrstuvwx",
    "click_source": "email",
    "metadata": {"utm_source": "news\u00e9\U0001f600", "q": 'a"b\\c\n\t\x00\x1f\x7f\u2028'},
    "http_method": "GET",
}
SIGNALS: dict[str, Any] = {
    "owner_cookie": False,
    "user_agent": CHROME,
    "client_ip": "2001:db8::1",
    "has_accept_language": True,
    "link_created_at": "2026-11-25T00:38:50.476365+00:00",
    "application_id": None,
    "rate_key": "0123456789abcdef01234567",
}

BODIES: list[Any] = [
    {"v": 1, "id": CLICK_ID, "at": 1_764_000_000_000_000, "sig": SIGNALS},
    {"nested": [[1, 2, (3, 4)], {"a": [{"b": None}]}], "max": 2**64 - 1, "min": -(2**63)},
    {"src": ClickSource.EMAIL, "cl": Classification.HUMAN, "cr": ["repeat"]},
    {"subclass": type("Text", (str,), {})("x")},
    # Written by json: what orjson would write differently or refuses.
    {"colour": Colour.RED},
    {"number": [type("Number", (int,), {})(7)]},
    {"odd": Odd.ONE},
    {"ratio": float("nan"), "big": float("inf"), "x": 0.1},
    {"huge": 2**64, "negative": -(2**63) - 1},
    {1: "a key that is not text"},
    {"at": dt.datetime(2026, 11, 25, tzinfo=dt.UTC), "day": dt.date(2026, 11, 25)},
    {"surrogate": "\ud800"},
]


@pytest.mark.parametrize("body", BODIES)
def test_an_entry_is_written_as_the_json_module_writes_it(body: dict[str, Any]) -> None:
    assert entryjson.dumps(body) == entryjson._ENCODER.encode(body)


def test_a_redirect_click_is_written_by_orjson_and_reads_back_the_same() -> None:
    payload = stream.encode_raw(
        FIELDS, click_id=CLICK_ID, clicked_at_us=1_764_000_000_000_000, signals=SIGNALS
    )
    expected = entryjson._ENCODER.encode(
        {
            "v": 1,
            "id": str(CLICK_ID),
            "at": 1_764_000_000_000_000,
            "t": "lt_abc123",
            "ip": "2001:db8::1",
            "ua": CHROME,
            "ref": "https://example.com/a?b=c",
            "sid": "s_abcdefghijklmnopqrstuvwx",
            "src": "email",
            "hm": "GET",
            "m": FIELDS["metadata"],
            "sig": SIGNALS,
        }
    )
    assert payload == expected
    body = {"id": CLICK_ID, "src": ClickSource.DIRECT, "sig": SIGNALS, "m": FIELDS["metadata"]}
    assert entryjson._plain(body)  # the orjson side of dumps, not its fallback
