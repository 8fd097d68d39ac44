"""Ranking in the database (counting.top_by) keeps the values, counts and order a ranking of every
value's counts in Python gives: on raw clicks and on rollups, with partial days at both ends."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from analytics import counting
from analytics.selection import Selection
from tests import analytics_fixture
from tests.factories import make_click, utc

pytestmark = pytest.mark.django_db

COUNTS = ("human_clicks", "automated_clicks", "unclassified_clicks")


def ranked_in_python(key: str, selection: Selection, limit: int) -> list[tuple[object, dict]]:
    rows = counting.count_by(key, selection, sessions=False)

    def total(row: dict) -> int:
        if selection.include_automated:
            return sum(row[name] for name in COUNTS)
        return row["human_clicks"]

    ranked = sorted(
        rows.items(),
        key=lambda kv: (
            -total(kv[1]),
            -(kv[1]["automated_clicks"] + kv[1]["unclassified_clicks"]),
            str(kv[0]),
        ),
    )
    return [(k, {name: row[name] for name in COUNTS}) for k, row in ranked[:limit]]


@pytest.mark.parametrize("rolled_up", [False, True])
@pytest.mark.parametrize("include_automated", [False, True])
@pytest.mark.parametrize(
    "span",
    [
        (utc(2026, 3, 9), utc(2026, 3, 13)),  # whole days
        (utc(2026, 3, 10, 9, 2), utc(2026, 3, 12, 6)),  # partial days at both ends
    ],
)
def test_the_database_ranks_as_python_does(
    rolled_up: bool, include_automated: bool, span: tuple
) -> None:
    fixture = analytics_fixture.build()
    # Ties on people's clicks between links that differ in the others, and a lower-case id.
    make_click(fixture.links["L4"], classification="bot", clicked_at=utc(2026, 3, 11, 14))
    make_click(fixture.links["L3"], classification="scanner", clicked_at=utc(2026, 3, 11, 16))
    make_click("fx_l5", classification="human", clicked_at=utc(2026, 3, 11, 15))
    if rolled_up:
        call_command("rollup_clicks", verbosity=0)
    selection = Selection.of(start=span[0], end=span[1], include_automated=include_automated)
    for key in ("tracking_id", "link_function"):
        for limit in (1, 2, 3, 10):
            assert counting.top_by(key, selection, limit) == ranked_in_python(
                key, selection, limit
            ), (key, limit)
