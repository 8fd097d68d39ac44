"""The dashboard's figures over a selection: totals, days, link functions, sources, devices,
classes, hours of the week, and the most clicked jobs and links."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min

from analytics import counting
from analytics.countries import country_name, numeric_code
from analytics.queries.common import (
    UNCLASSIFIED,
    UNKNOWN,
    broken_down,
    classification_counts,
    clicks_in,
    counts,
    every_day,
    function_rows,
    grouped,
    iso,
    not_people,
    ranked,
    totals,
    zero_counts,
)
from analytics.selection import AUTOMATED, EVERYTHING, HUMAN, PEOPLE_ANYTIME, Selection
from analytics.selection import UNCLASSIFIED as UNCLASSIFIED_CLICKS
from tracking.models import Classification, Job, TrackedLink

TOP_LIMIT = 10
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def click_totals(selection: Selection = PEOPLE_ANYTIME) -> dict[str, int]:
    """Clicks (people, automated) and unique sessions of a link, job, application or all."""
    return totals(selection)


def daily_clicks(selection: Selection) -> list[dict[str, Any]]:
    """One row per local day of the period (days without clicks included, as zeros)."""
    per_day = grouped("day", selection)
    return every_day(per_day, start=selection.start, end=selection.end)


def clicks_by_function(selection: Selection) -> list[dict[str, Any]]:
    """Links and clicks per link function (every function that has a link in scope)."""
    return function_rows(selection)


def clicks_by_source(selection: Selection) -> list[dict[str, Any]]:
    return ranked(broken_down("click_source", selection), "click_source")


def clicks_by_country(selection: Selection) -> list[dict[str, Any]]:
    """Clicks per country (ISO 3166-1 alpha-2, ``unknown`` without geodata), with the country's
    name and the numeric code the dashboard's map joins on."""
    rows = ranked(broken_down("country_code", selection), "country_code")
    for row in rows:
        code = row["country_code"] if row["country_code"] != UNKNOWN else None
        row["country_name"] = country_name(code)
        row["iso_numeric"] = numeric_code(code)
    return rows


PLACE_LEVELS = {"region": ("country_code", "region"), "city": ("country_code", "region", "city")}


def clicks_by_place(selection: Selection, level: str) -> list[dict[str, Any]]:
    """Clicks per region (``level="region"``) or city of one job, application or link, with the
    country (a region's name alone is ambiguous: Georgia); ``unknown`` parts without geodata.

    Read from the scope's raw clicks (the index on (tracking_id, clicked_at) bounds the cost to
    that job's, application's or link's clicks), not from the rollups: the city goes with the
    IP address when a click is anonymised, and a rollup would keep it.
    """
    return clicks_by_places(selection, [level])[level]


def clicks_by_places(selection: Selection, levels: list[str]) -> dict[str, list[dict[str, Any]]]:
    """:func:`clicks_by_place` at several levels from one read of the scope's clicks, grouped
    by the most detailed level (a region's counts are the sums of its cities')."""
    if selection.scope == EVERYTHING:
        raise ValueError("regions and cities are counted for one job, application or link")
    deepest = max((PLACE_LEVELS[level] for level in levels), key=len)
    every_click = dataclasses.replace(selection, include_automated=True)
    rows = [
        (tuple(row[field] for field in deepest), row)
        for row in clicks_in(every_click)
        .values(*deepest)
        .annotate(
            human_clicks=Count("click_id", filter=HUMAN),
            automated_clicks=Count("click_id", filter=AUTOMATED),
            unclassified_clicks=Count("click_id", filter=UNCLASSIFIED_CLICKS),
        )
    ]
    return {level: _places_of(PLACE_LEVELS[level], rows, selection) for level in levels}


def _places_of(
    fields: tuple[str, ...],
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]],
    selection: Selection,
) -> list[dict[str, Any]]:
    summed: dict[tuple[Any, ...], dict[str, int]] = {}
    for values, row in rows:
        entry = summed.setdefault(
            values[: len(fields)],
            {"human_clicks": 0, "automated_clicks": 0, "unclassified_clicks": 0},
        )
        for name in entry:
            entry[name] += row[name]
    counted = {values: counts(row, selection.include_automated) for values, row in summed.items()}
    result: list[dict[str, Any]] = []
    for values, numbers in counted.items():
        if not (numbers["total_clicks"] or not_people(numbers)):
            continue
        place = {field: value or UNKNOWN for field, value in zip(fields, values, strict=True)}
        code = values[0]
        result.append({**place, "country_name": country_name(code), **numbers})
    result.sort(key=lambda r: (-r["total_clicks"], -not_people(r), *(r[f] for f in fields)))
    return result


def company_network_clicks(selection: Selection) -> dict[str, Any]:
    """Person clicks from the network of the job's company (:mod:`tracking.company`): how many,
    the first and the latest. The strongest evidence a job seeker gets, so always people only."""
    found = (
        clicks_in(dataclasses.replace(selection, include_automated=False))
        .filter(from_company_network=True)
        .aggregate(n=Count("click_id"), first=Min("clicked_at"), last=Max("clicked_at"))
    )
    return {"person_clicks": found["n"], "first": iso(found["first"]), "last": iso(found["last"])}


def clicks_by_classification(selection: Selection) -> list[dict[str, Any]]:
    """Clicks per class. Automated classes are listed even when ``include_automated`` is off."""
    counted = classification_counts(selection)
    order = [UNCLASSIFIED, *Classification.values]
    return [
        {
            "classification": name,
            "automated": name not in (UNCLASSIFIED, Classification.HUMAN),
            "clicks": counted[name],
        }
        for name in order
        if counted.get(name)
    ]


def clicks_by_device(selection: Selection) -> dict[str, list[dict[str, Any]]]:
    """Clicks per device type, browser and operating system (parsed from the user agent)."""
    return {
        field: ranked(broken_down(field, selection), field)
        for field in ("device_type", "browser", "os")
    }


def clicks_by_hour_of_week(selection: Selection) -> dict[str, Any]:
    """A 7 x 24 grid of clicks by local weekday (Monday first) and hour."""
    cells = counting.hour_of_week(selection)
    grid = {
        "human_clicks": _empty_grid(),
        "automated_clicks": _empty_grid(),
        "unclassified_clicks": _empty_grid(),
    }
    for (weekday, hour), row in cells.items():
        for name in grid:
            grid[name][weekday - 1][hour] = row[name]
    include_automated = selection.include_automated
    return {
        "weekdays": WEEKDAYS,
        "hours": list(range(24)),
        "time_zone": settings.TIME_ZONE,
        **grid,
        "total_clicks": [
            [
                h + (a + u if include_automated else 0)
                for h, a, u in zip(hr, ar, ur, strict=True)  # per hour of one weekday
            ]
            for hr, ar, ur in zip(
                grid["human_clicks"],
                grid["automated_clicks"],
                grid["unclassified_clicks"],
                strict=True,
            )
        ],
    }


def _empty_grid() -> list[list[int]]:
    return [[0] * 24 for _ in WEEKDAYS]


def top_jobs(selection: Selection, *, limit: int = TOP_LIMIT) -> list[dict[str, Any]]:
    """Jobs whose links (those in scope) were clicked most in the period, with their sessions
    (counted for those jobs alone, once they are ranked)."""
    counted = grouped("job_id", selection, sessions=False)
    counted.pop(None, None)
    top = sorted(counted.items(), key=lambda kv: (-kv[1]["total_clicks"], -not_people(kv[1])))[
        :limit
    ]
    sessions = counting.sessions_of("job_id", selection, [job_id for job_id, _ in top])
    for job_id, numbers in top:
        numbers.update(sessions[job_id])
    jobs = Job.objects.in_bulk([job_id for job_id, _ in top])
    return [
        {
            "job_id": str(job_id),
            "title": jobs[job_id].title,
            "company_name": jobs[job_id].company_name,
            **numbers,
        }
        for job_id, numbers in top
        if job_id in jobs
    ]


def top_links(selection: Selection, *, limit: int = TOP_LIMIT) -> list[dict[str, Any]]:
    """Links clicked most in the period (clicks only: no session counts, to stay cheap), ranked
    in the database (:func:`analytics.counting.top_by`)."""
    top = [
        (tid, counts(row, selection.include_automated))
        for tid, row in counting.top_by("tracking_id", selection, limit)
    ]
    links = TrackedLink.objects.select_related("job").in_bulk([tid for tid, _ in top])
    return [
        {
            "tracking_id": tid,
            "link_function": links[tid].link_function,
            "job_id": str(links[tid].job_id) if links[tid].job_id else None,
            "job_title": _job_title(links[tid]),
            **numbers,
        }
        for tid, numbers in top
        if tid in links
    ]


def _job_title(link: TrackedLink) -> str | None:
    return link.job.title if link.job is not None else None


def links_overview(selection: Selection) -> list[dict[str, Any]]:
    """Every link in scope (clicked or not) with its counts, most clicked first."""
    links = TrackedLink.objects.filter(selection.scope.q()).order_by("created_at", "tracking_id")
    counted = grouped("tracking_id", selection)
    rows: list[dict[str, Any]] = [
        {
            "tracking_id": link.tracking_id,
            "link_function": link.link_function,
            "application_id": str(link.application_id) if link.application_id else None,
            "redirect_url": link.redirect_url,
            "is_active": link.active,
            "created_at": iso(link.created_at),
            **counted.get(link.tracking_id, zero_counts()),
        }
        for link in links
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -not_people(r)))
    return rows
