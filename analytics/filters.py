"""The dashboard's filters, read from the query string so that every view can be bookmarked.

``days=7|30|90`` (default 30) or ``days=custom&from=YYYY-MM-DD&to=YYYY-MM-DD`` choose the period in
local days (``TIME_ZONE``), a custom one within :mod:`tracking.periods`' bounds (2000-01-01 to
tomorrow, at most ten years); ``automated=1`` includes automated clicks in the totals. Chart and
export endpoints also take the scope of the page they belong to: ``job``, ``application`` or
``link``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict

from analytics.selection import Period, Scope, Selection, local_midnight, today
from tracking import periods
from tracking.services import is_valid_tracking_id

PRESET_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
TRUE_VALUES = {"1", "true", "on", "yes"}
FALSE_VALUES = {"", "0", "false", "off", "no"}


class FilterError(ValueError):
    """A filter value the dashboard cannot use; ``field`` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field, "code": "invalid_filter"}


@dataclass(frozen=True)
class Filters:
    days: int | None  # a preset, or None for a custom range
    first: dt.date
    last: dt.date
    include_automated: bool
    job_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    tracking_id: str | None = None

    @property
    def start(self) -> dt.datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> dt.datetime:
        return local_midnight(self.last + dt.timedelta(days=1))

    @property
    def selection(self) -> Selection:
        """The clicks the view counts: its period, its scope (``job``, ``application``, ``link``)."""
        return Selection(
            Period(self.start, self.end),
            Scope(
                tracking_id=self.tracking_id,
                job_id=self.job_id,
                application_id=self.application_id,
            ),
            self.include_automated,
        )

    def about(self, scope: Scope) -> Selection:
        """The view's period and counting rule over the links of ``scope``."""
        return self.selection.within(scope)

    @property
    def scope(self) -> dict[str, Any]:
        """The scope by name, as :meth:`query` (and so the cache key) takes it."""
        return {
            "job_id": self.job_id,
            "application_id": self.application_id,
            "tracking_id": self.tracking_id,
        }

    def query(self, **scope: Any) -> str:
        """The query string of this view (period, automated) plus the given scope."""
        params: dict[str, str] = {}
        if self.days is None:
            params.update(days="custom", **{"from": self.first.isoformat()})
            params["to"] = self.last.isoformat()
        else:
            params["days"] = str(self.days)
        if self.include_automated:
            params["automated"] = "1"
        params.update({key: str(value) for key, value in scope.items() if value is not None})
        return urlencode(params)

    def cache_key(self, name: str) -> str:
        return "analytics:" + name + ":" + self.query(**self.scope)


def parse(params: QueryDict) -> Filters:
    """Read the filters; raises :class:`FilterError` naming the first bad parameter."""
    raw_days = params.get("days", "").strip()
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    if raw_days == "custom" or (not raw_days and (raw_from or raw_to)):
        first = _date(raw_from, "from")
        last = _date(raw_to, "to")
        try:
            periods.check_dates(first, last, fields=("from", "to"))
        except periods.RangeError as exc:
            raise FilterError(exc.field, exc.message) from None
        days: int | None = None
    else:
        days = DEFAULT_DAYS
        if raw_days:
            if raw_days not in {str(d) for d in PRESET_DAYS}:
                raise FilterError("days", "days must be 7, 30, 90 or custom.")
            days = int(raw_days)
        last = today()
        first = last - dt.timedelta(days=days - 1)
    return Filters(
        days=days,
        first=first,
        last=last,
        include_automated=_flag(params.get("automated", ""), "automated"),
        job_id=_uuid(params.get("job"), "job"),
        application_id=_uuid(params.get("application"), "application"),
        tracking_id=_tracking_id(params.get("link")),
    )


def _date(raw: str, field: str) -> dt.date:
    if not raw:
        raise FilterError(field, f"{field} is required for a custom range (YYYY-MM-DD).")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FilterError(field, f"{field} must be a date as YYYY-MM-DD.") from None


def _flag(raw: str, field: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise FilterError(field, f"{field} must be 1 or 0.")


def _uuid(raw: str | None, field: str) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise FilterError(field, f"{field} must be a UUID.") from None


def _tracking_id(raw: str | None) -> str | None:
    if not raw:
        return None
    if not is_valid_tracking_id(raw):
        raise FilterError("link", "link must be a tracking id.")
    return raw
