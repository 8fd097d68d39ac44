"""The bounds every date range and day count given from outside must respect, checked here only.

The analytics API, the dashboard filters, the resource API's list filters and the management
commands all read their dates and day counts through these functions, so one rule holds
everywhere: dates from :data:`EARLIEST_DATE` to tomorrow, a range at most :data:`MAX_RANGE_DAYS`
long, a day count at most :data:`MAX_DAYS`.

Why bound at all: the cost of some figures grows with the length of the period, not with the
clicks in it (daily rows, and one condition per month on the rollups' session bits), so a range
from the year 2 to the year 9999 made SQLite refuse the query ("expression tree too large") and
PostgreSQL spend seconds on one click; dates near the calendar's ends overflow in Python. No click
can be older than the product (2000 is well before any job application it tracks) or later than
tomorrow (the clock skew accepted from external domains is minutes; tomorrow leaves room for every
time zone). Ten years covers any job search and any retention period a deployment would choose.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Final

from django.conf import settings
from django.utils import timezone

EARLIEST_DATE: Final = dt.date(2000, 1, 1)
MAX_RANGE_DAYS: Final = 3660  # ten years and then some: leap days never push a decade over
MAX_DAYS: Final = MAX_RANGE_DAYS


class RangeError(ValueError):
    """A date range or day count out of bounds; ``field`` names the parameter to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- Local days -----------------------------------------------------------------------------


def local_tz() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=local_tz())


def today() -> dt.date:
    return timezone.now().astimezone(local_tz()).date()


def latest_date() -> dt.date:
    """The last local day a range may include: tomorrow."""
    return today() + dt.timedelta(days=1)


# --- Checks ---------------------------------------------------------------------------------


def check_days(days: int, *, field: str = "days", minimum: int = 1) -> int:
    """``days`` if it lies in ``minimum..MAX_DAYS``; :class:`RangeError` otherwise."""
    if not minimum <= days <= MAX_DAYS:
        raise RangeError(field, f"{field} must be at least {minimum} and at most {MAX_DAYS}.")
    return days


def check_dates(
    first: dt.date | None,
    last: dt.date | None,
    *,
    fields: tuple[str, str] = ("start", "end"),
) -> None:
    """Whole local days ``first``..``last`` (inclusive; ``None`` leaves a side open)."""
    first_field, last_field = fields
    if first is not None:
        _check_day(first, first_field)
    if last is not None:
        _check_day(last, last_field)
    if first is not None and last is not None:
        if first > last:
            raise RangeError(first_field, f"{first_field} must be on or before {last_field}.")
        _check_span((last - first).days + 1, first_field)


def check_instants(
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    fields: tuple[str, str] = ("start", "end"),
) -> None:
    """The period ``[start, end)`` of aware instants; ``None`` leaves a side open.

    A range with a start but no end runs until now, so its length is bounded too; a range with no
    start is every click before ``end``, whose cost does not grow with the calendar.
    """
    start_field, end_field = fields
    earliest = local_midnight(EARLIEST_DATE)
    latest = local_midnight(latest_date() + dt.timedelta(days=1))
    for value, field in ((start, start_field), (end, end_field)):
        if value is None:
            continue
        if value < earliest:
            raise RangeError(field, f"{field} must be on or after {EARLIEST_DATE.isoformat()}.")
        if value > latest:
            raise RangeError(field, _too_late(field))
    if start is not None:
        until = end if end is not None else timezone.now()
        if end is not None and start >= end:
            raise RangeError(end_field, f"{end_field} must be after {start_field}.")
        # On the wall clock, so that a DST change inside the range does not add or take a day.
        span = _wall_clock(until) - _wall_clock(start)
        _check_span(span.days + (1 if span % dt.timedelta(days=1) else 0), start_field)


def _wall_clock(value: dt.datetime) -> dt.datetime:
    return value.astimezone(local_tz()).replace(tzinfo=None)


def _check_day(day: dt.date, field: str) -> None:
    if day < EARLIEST_DATE:
        raise RangeError(field, f"{field} must be on or after {EARLIEST_DATE.isoformat()}.")
    if day > latest_date():
        raise RangeError(field, _too_late(field))


def _too_late(field: str) -> str:
    return f"{field} must be on or before {latest_date().isoformat()} (tomorrow)."


def _check_span(days: int, field: str) -> None:
    if days > MAX_RANGE_DAYS:
        raise RangeError(
            field, f"A range may span at most {MAX_RANGE_DAYS} days (about ten years)."
        )
