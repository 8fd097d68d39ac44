"""The click writer's bulk path (``tracking.dbcopy``): what goes in comes back out, once."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import pytest
from django.db import DataError, transaction

from tests.factories import build_click, make_link
from tracking import dbcopy
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

AWKWARD = "Agent\twith tab\nnew line\r\\N back\\slash «ü» 🙂"


def _batch(count: int) -> list[LinkClick]:
    link = make_link()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    clicks = []
    for n in range(count):
        click = build_click(
            link,
            classification="human",
            clicked_at=dt.datetime(2026, 3, 29, 3, 30, n % 60, tzinfo=berlin),
            ip_address=f"198.51.100.{n % 250 + 1}",
            metadata={"utm_source": "mail\ttab", "n": n, "nested": {"quote": '"\\'}},
            session_id=None,
            classification_reasons=["burst", "tab\there"] if n % 3 else [],
            asn=64500 + n,
            from_company_network=n % 2 == 0,
        )
        # Set as it is: the service layer would drop the control characters.
        click.user_agent = AWKWARD if n % 2 else None
        clicks.append(click)
    return clicks


def _stored(click: LinkClick) -> dict[str, object]:
    row = LinkClick.objects.get(pk=click.pk)
    return {field.attname: getattr(row, field.attname) for field in LinkClick._meta.concrete_fields}


def test_a_batch_reads_back_exactly_as_it_was_built() -> None:
    clicks = _batch(dbcopy.COPY_MIN_ROWS + 5)
    dbcopy.insert_ignoring_conflicts(LinkClick, clicks)
    assert LinkClick.objects.count() == len(clicks)
    for click in clicks[:6]:
        expected = {
            field.attname: getattr(click, field.attname)
            for field in LinkClick._meta.concrete_fields
        }
        stored = _stored(click)
        # The same instant, in UTC (a Berlin summer-time night included).
        assert stored.pop("clicked_at") == expected.pop("clicked_at")
        assert stored == expected


def test_a_batch_stored_twice_is_stored_once() -> None:
    clicks = _batch(dbcopy.COPY_MIN_ROWS)
    dbcopy.insert_ignoring_conflicts(LinkClick, clicks)
    later = _batch(3)
    dbcopy.insert_ignoring_conflicts(LinkClick, clicks + later)
    assert LinkClick.objects.count() == len(clicks) + len(later)


def test_a_deleted_click_is_not_brought_back_by_the_next_batch() -> None:
    first = _batch(dbcopy.COPY_MIN_ROWS)
    dbcopy.insert_ignoring_conflicts(LinkClick, first)
    LinkClick.objects.filter(pk=first[0].pk).delete()
    dbcopy.insert_ignoring_conflicts(LinkClick, _batch(dbcopy.COPY_MIN_ROWS))
    assert not LinkClick.objects.filter(pk=first[0].pk).exists()


def test_a_value_the_database_refuses_is_a_database_error_and_stores_nothing(
    on_postgres: bool,
) -> None:
    if not on_postgres:
        pytest.skip("COPY is PostgreSQL's: other databases take bulk_create")
    clicks = _batch(dbcopy.COPY_MIN_ROWS)
    clicks[5].user_agent = "nul\x00byte"
    with pytest.raises(DataError), transaction.atomic():
        dbcopy.insert_ignoring_conflicts(LinkClick, clicks)
    assert LinkClick.objects.count() == 0


def test_the_copy_text_escapes_what_copy_would_read_as_structure() -> None:
    clicks = _batch(2)
    text = dbcopy.rows_text(LinkClick, clicks)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    columns = lines[1].split("\t")
    assert len(columns) == len(LinkClick._meta.concrete_fields)
    assert "Agent\\twith tab\\nnew line\\r\\\\N back\\\\slash" in lines[1]
    assert "\\N" in lines[0].split("\t")  # the first click's user agent is NULL


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["head_request"],
        ["no_accept_language", "datacenter_network", "burst"],
        ["tab\there", "line\nbreak", "back\\slash", 'quote"', "\\N", "ünïcödé", "\u2028", ""],
        {},
        {"utm_source": "mail", "nested": {"a": [1, 2.5, None, True]}},
        {"tab": "\t", "back": "\\"},
        ["mixed", 1],
        [["nested"]],
        "text",
        None,
    ],
)
def test_a_json_value_reads_as_it_did_from_the_cache_too(value: Any) -> None:
    """The COPY text of a JSON column, answered from the kept lists of codes or not, is the
    escaped ``json.dumps`` of the value, the first time and the next."""
    expected = json.dumps(value).translate(dbcopy._ESCAPES)
    assert dbcopy._json(value) == expected
    assert dbcopy._json(value) == expected


def test_the_kept_json_lists_are_bounded() -> None:
    size = dbcopy._json_strings.cache_info().maxsize or 0
    for n in range(size + 10):
        dbcopy._json([f"reason_{n}"])
    info = dbcopy._json_strings.cache_info()
    assert info.currsize == info.maxsize == size
