"""Applications: their links' figures, the journey of one (which links, in what order, by which
sessions) and how long sent links waited for their first person."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from django.db.models import Count, Min, OuterRef, Subquery

from analytics.countries import country_name
from analytics.queries.common import (
    UNCLASSIFIED,
    application_dict,
    clicks_in,
    grouped,
    iso,
    job_dict,
    totals,
    zero_counts,
)
from analytics.selection import EVER, HUMAN, PEOPLE_ANYTIME, Period, Scope, Selection, prefixed
from tracking import company
from tracking.models import Classification, JobApplication, TrackedLink

# The journey lists individual clicks; past this many, the CSV export has them all.
JOURNEY_CLICK_LIMIT = 300
JOURNEY_FIELDS = (
    "click_id",
    "tracking_id",
    "clicked_at",
    "session_id",
    "classification",
    "classification_reasons",
    "classification_correction",
    "corrected_by",
    "click_source",
    "country_code",
    "region",
    "network_kind",
    "from_company_network",
)


def application_summaries(
    job_id: Any, selection: Selection = PEOPLE_ANYTIME
) -> list[dict[str, Any]]:
    """The applications of a job with their link count, clicks and first human click.

    Over the selection's period, with its ``include_automated``; the scope is the job's links.
    """
    applications = JobApplication.objects.filter(job_id=job_id).annotate(
        link_count=Count("links", distinct=True)
    )
    counted = grouped("application_id", selection.within(Scope(job_id=job_id)))
    links = TrackedLink.objects.filter(job_id=job_id, application_id__isnull=False)
    per_link = first_human_clicks(
        list(links.values_list("tracking_id", flat=True)), selection.period
    )
    first_human: dict[Any, dt.datetime] = {}
    for tracking_id, application_id in links.values_list("tracking_id", "application_id"):
        when = per_link.get(tracking_id)
        if when is not None and (
            application_id not in first_human or when < first_human[application_id]
        ):
            first_human[application_id] = when
    return [
        {
            **application_dict(application),
            "link_count": application.link_count,  # type: ignore[attr-defined]
            "first_human_click": iso(first_human.get(application.pk)),
            **counted.get(application.pk, zero_counts()),
        }
        for application in applications.order_by("-created_at")
    ]


def application_journey(
    application_id: Any, selection: Selection = PEOPLE_ANYTIME
) -> dict[str, Any] | None:
    """Which of an application's links were opened, in what order, by how many sessions.

    Clicks are grouped by session (clicks without a session id form one group each); people's
    sessions and automated sessions are listed apart, each in order of their first click. A
    session is automated when all its clicks are. Automated sessions are always returned so the
    page can show them apart; ``include_automated`` only changes the totals. The journey holds
    the latest :data:`JOURNEY_CLICK_LIMIT` clicks of the period (``clicks_shown`` of
    ``clicks_in_period``); the counts and first clicks cover the whole period. The scope is the
    application's links.
    """
    application = JobApplication.objects.select_related("job").filter(pk=application_id).first()
    if application is None:
        return None
    links = list(TrackedLink.objects.filter(application_id=application.pk).order_by("created_at"))
    tracking_ids = [link.tracking_id for link in links]
    clicks = _latest_clicks(tracking_ids, selection.period)
    selection = selection.within(Scope(application_id=application.pk))
    per_link = grouped("tracking_id", selection)
    first_human = first_human_clicks(tracking_ids, selection.period)
    groups: dict[str, list[dict[str, Any]]] = {}
    for click in clicks:
        session = click["session_id"]
        key = f"session:{session}" if session else f"click:{click['click_id']}"
        groups.setdefault(key, []).append(click)
    functions = {link.tracking_id: link.link_function for link in links}
    company_name = application.job.company_name
    sessions = [_session_dict(group, functions, company_name) for group in groups.values()]
    statistics_ = totals(selection)
    return {
        "application": application_dict(application),
        "job": job_dict(application.job),
        "statistics": statistics_,
        "first_human_click": iso(min(first_human.values()) if first_human else None),
        "clicks_shown": len(clicks),
        "clicks_in_period": statistics_["human_clicks"]
        + statistics_["automated_clicks"]
        + statistics_["unclassified_clicks"],
        "links": [
            {
                "tracking_id": link.tracking_id,
                "link_function": link.link_function,
                "redirect_url": link.redirect_url,
                "is_active": link.active,
                "first_human_click": iso(first_human.get(link.tracking_id)),
                **per_link.get(link.tracking_id, zero_counts()),
            }
            for link in links
        ],
        "human_sessions": [s for s in sessions if s["kind"] == "human"],
        "automated_sessions": [s for s in sessions if s["kind"] == "automated"],
        # Sessions with no person's click and a click not classified yet: nobody's until judged.
        "unclassified_sessions": [s for s in sessions if s["kind"] == "unclassified"],
    }


# Links read per query by :func:`first_human_clicks`: bounds the list of ids sent at once.
FIRST_CLICK_BATCH = 1000


def first_human_clicks(tracking_ids: list[str], period: Period = EVER) -> dict[str, dt.datetime]:
    """The first click by a person on each link in the period.

    A subquery per link, each stopping at its first match in the index (tracking_id,
    clicked_at), costs less than a grouped MIN over every click of the links; one statement
    asks it for many links at once (a job's hundreds of links were as many round trips).
    """
    first = (
        clicks_in(Selection(period, Scope(), include_automated=False))
        .filter(tracking_id=OuterRef("tracking_id"))
        .order_by("clicked_at")
        .values("clicked_at")[:1]
    )
    result: dict[str, dt.datetime] = {}
    ids = list(dict.fromkeys(tracking_ids))
    for start in range(0, len(ids), FIRST_CLICK_BATCH):
        rows = (
            TrackedLink.objects.order_by()
            .filter(tracking_id__in=ids[start : start + FIRST_CLICK_BATCH])
            .annotate(first=Subquery(first))
            .filter(first__isnull=False)
            .values_list("tracking_id", "first")
        )
        result.update(rows)
    return result


def _latest_clicks(tracking_ids: list[str], period: Period) -> list[dict[str, Any]]:
    """The latest :data:`JOURNEY_CLICK_LIMIT` clicks of these links in the period, oldest first.

    Taken link by link from the index (tracking_id, clicked_at), then merged: the cost stays
    bounded however many clicks the links have. Rows, not model instances: only the journey's
    columns are read.
    """
    latest: list[dict[str, Any]] = []
    for tracking_id in tracking_ids:
        every_click = Selection(period, Scope(tracking_id=tracking_id), include_automated=True)
        latest += (
            clicks_in(every_click)
            .order_by("-clicked_at", "-click_id")
            .values(*JOURNEY_FIELDS)[:JOURNEY_CLICK_LIMIT]
        )
    latest.sort(key=lambda c: (c["clicked_at"], str(c["click_id"])), reverse=True)
    return list(reversed(latest[:JOURNEY_CLICK_LIMIT]))


def _session_dict(
    clicks: list[dict[str, Any]], functions: dict[str, str], company_name: str
) -> dict[str, Any]:
    # A session is a person's once one of its clicks is; one not classified yet is nobody's yet.
    classes = {c["classification"] for c in clicks}
    kind = "human" if Classification.HUMAN in classes else "automated"
    if kind == "automated" and None in classes:
        kind = UNCLASSIFIED
    return {
        "session_id": clicks[0]["session_id"],
        "kind": kind,
        "automated": kind == "automated",
        "from_company_network": any(c["from_company_network"] for c in clicks),
        "first_click": iso(clicks[0]["clicked_at"]),
        "last_click": iso(clicks[-1]["clicked_at"]),
        "clicks": [
            {
                "click_id": str(c["click_id"]),
                "tracking_id": c["tracking_id"],
                "link_function": functions[c["tracking_id"]],
                "clicked_at": iso(c["clicked_at"]),
                "classification": c["classification"],
                "classification_reasons": c["classification_reasons"] or [],
                "classification_correction": c["classification_correction"],
                "corrected_by": c["corrected_by"],
                "click_source": c["click_source"],
                "country_code": c["country_code"],
                "region": c["region"],
                "place": company.place_words(
                    c["region"], country_name(c["country_code"]) if c["country_code"] else None
                ),
                "network": company.network_words(
                    network_kind=c["network_kind"],
                    from_company=c["from_company_network"],
                    company=company_name,
                ),
                "from_company_network": c["from_company_network"] is True,
            }
            for c in clicks
        ],
    }


def time_to_first_human_click(selection: Selection = PEOPLE_ANYTIME) -> dict[str, Any]:
    """For links in scope created in the period: how long until someone first opened them.

    The first click is looked for at any time after creation (not only inside the period): the
    question is how quickly a link sent in that period was opened. With ``include_automated`` the
    first click of any kind counts; the first human click is always reported too.
    """
    links = TrackedLink.objects.order_by("created_at").filter(selection.scope.q())
    if selection.start is not None:
        links = links.filter(created_at__gte=selection.start)
    if selection.end is not None:
        links = links.filter(created_at__lt=selection.end)
    rows_qs = links.annotate(
        first_human_click=Min("clicks__clicked_at", filter=prefixed(HUMAN, "clicks__")),
        first_any_click=Min("clicks__clicked_at"),
    ).values("tracking_id", "link_function", "created_at", "first_human_click", "first_any_click")
    rows = []
    waits: list[float] = []
    for row in rows_qs:
        first = row["first_any_click"] if selection.include_automated else row["first_human_click"]
        created = row["created_at"]
        seconds = (first - created).total_seconds() if first and created else None
        if seconds is not None:
            waits.append(seconds)
        rows.append(
            {
                "tracking_id": row["tracking_id"],
                "link_function": row["link_function"],
                "created_at": iso(created),
                "first_human_click": iso(row["first_human_click"]),
                "first_click": iso(first),
                "seconds_to_first_click": seconds,
            }
        )
    return {
        "links": len(rows),
        "links_opened": len(waits),
        "median_seconds": statistics.median(waits) if waits else None,
        "rows": rows,
    }
