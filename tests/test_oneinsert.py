"""The redirect's one INSERT (tracking.oneinsert): each column's value prepared as save() would."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection, models

from tests.factories import build_click, make_link
from tracking import oneinsert
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def test_every_column_is_sent_as_the_field_prepares_it(monkeypatch: pytest.MonkeyPatch) -> None:
    link = make_link()
    click = build_click(
        link,
        classification="human",
        referrer_url=None,
        user_agent="Mozilla/5.0 \u00e9",
        session_id="s_abcdefghijklmnop",
        ip_address="203.0.113.9",
        metadata={"utm_source": "x"},
        visitor_hash="v" * 16,
    )
    sent: list[Any] = []

    class Recording:
        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def __enter__(self) -> Recording:
            self.cursor.__enter__()
            return self

        def __exit__(self, *exc: Any) -> None:
            self.cursor.__exit__(*exc)

        def execute(self, sql: str, params: list[Any]) -> None:
            sent.extend(params)
            self.cursor.execute(sql, params)

    real_cursor = connection.cursor
    monkeypatch.setattr(connection, "cursor", lambda: Recording(real_cursor()))
    fields = LinkClick._meta.concrete_fields
    expected = [field.get_db_prep_save(field.pre_save(click, True), connection) for field in fields]
    oneinsert.insert_one(click)
    monkeypatch.undo()
    assert [type(value) for value in sent] == [type(value) for value in expected]
    # By value where psycopg's wrappers (Inet, Jsonb) allow it: they do not compare by value.
    plain = (str, int, bool, type(None), uuid.UUID, dt.datetime)
    for got, wanted in zip(sent, expected, strict=True):
        if isinstance(wanted, plain):
            assert got == wanted
    assert LinkClick.objects.filter(pk=click.pk).exists()


@pytest.mark.parametrize("value", [None, "", "text", "\u00e9\U0001f600"])
def test_text_and_none_are_their_own_prepared_value(value: str | None) -> None:
    for field_class in oneinsert._AS_IS:
        field = field_class(max_length=10) if field_class is models.CharField else field_class()
        assert field.get_db_prep_save(value, connection) is value
