"""The burst rule's read of the stored clicks around a batch: on PostgreSQL one statement with
the time spans as arrays, returning exactly the rows the ORM's query returns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import CHROME, build_click, make_application, make_clicks, make_link
from tracking.clicks import burst
from tracking.models import LinkClick

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_rows_around_a_batch_are_those_the_orm_reads() -> None:
    t0 = timezone.now().replace(microsecond=250_000) - dt.timedelta(minutes=10)
    applications = [make_application() for _ in range(2)]
    links = [
        make_link(application=application, original_url=f"https://example.com/{n}")
        for application in applications
        for n in range(2)
    ]
    other = make_link(original_url="https://example.com/alone")  # no application
    stored = []
    for n in range(40):
        link = [*links, other][n % 5]
        reasons = None if n % 7 == 0 else (["burst"] if n % 3 == 0 else [])
        stored.append(
            build_click(
                link,
                classification="human" if n % 4 else "bot",
                classification_reasons=reasons,
                ip_address=None if n % 11 == 0 else f"203.0.113.{n}",
                user_agent=CHROME,
                clicked_at=t0 + dt.timedelta(seconds=n * 1.5),
            )
        )
    make_clicks(stored)
    LinkClick.objects.filter(click_id=stored[9].click_id).update(classification_correction="bot")
    checked = [
        (str(applications[n % 2].id), "203.0.113.0/24", click)
        for n, click in enumerate(
            build_click(links[n % 4], clicked_at=t0 + dt.timedelta(seconds=s))
            for n, s in enumerate([0, 1, 3, 20, 21.5, 45, 59, 90])
        )
    ]
    assert LinkClick.objects.count() == 40

    spans = burst._rows_around(checked)
    via_orm = {}
    for application_id, (moments, rows) in spans.items():
        via_orm[application_id] = sorted(zip(moments, rows, strict=True), key=str)
    # Any checked click's window, any checked click's application.
    expected: dict[str, list[tuple[dt.datetime, tuple[object, ...]]]] = {}
    windows = [
        (click.clicked_at - burst.BURST_WINDOW, click.clicked_at + burst.BURST_WINDOW)
        for _application_id, _network, click in checked
        if click.clicked_at is not None
    ]
    for application_id, clicked_at, *row in LinkClick.objects.filter(
        tracking__application_id__in={application_id for application_id, _n, _c in checked}
    ).values_list("tracking__application_id", "clicked_at", *burst._ROW_FIELDS):
        if any(low <= clicked_at <= high for low, high in windows):
            expected.setdefault(str(application_id), []).append((clicked_at, tuple(row)))
    assert via_orm == {key: sorted(value, key=str) for key, value in expected.items()}
    assert sum(len(rows) for _moments, rows in spans.values()) >= 10  # not trivially equal
