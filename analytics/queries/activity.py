"""The activity feed: the latest clicks, newest first, people only unless asked otherwise.

Pages are cut with an offset and one row more than shown (to know whether there is a next page),
never with a COUNT over the whole click table.
"""

from __future__ import annotations

from typing import Any

from analytics.countries import country_name
from analytics.queries.common import iso
from tracking import company
from tracking.clicks.events import OWNER_SOURCES, country_of, person_clicks
from tracking.models import Classification, LinkClick

LABELS = dict(Classification.choices)


def activity_row(click: LinkClick, *, with_city: bool = True) -> dict[str, Any]:
    """One click for the feed. ``with_city=False`` leaves the city out of ``place`` (it is
    personal data, shown to users who may view clicks)."""
    link = click.tracking
    job = link.job
    person = (
        click.classification == Classification.HUMAN and click.click_source not in OWNER_SOURCES
    )
    device = " · ".join(part for part in (click.device_type, click.browser, click.os) if part)
    return {
        "click_id": str(click.click_id),
        "clicked_at": iso(click.clicked_at),
        "tracking_id": link.tracking_id,
        "link_function": link.link_function,
        "job": {"id": str(job.id), "title": job.title, "company": job.company_name}
        if job
        else None,
        "application_id": str(link.application_id) if link.application_id else None,
        "source": click.click_source,
        "device": device or None,
        "country": country_of(click),
        "place": company.place_words(
            click.city if with_city else None,
            click.region,
            country_name(click.country_code) if click.country_code else None,
        )
        or None,
        "network": company.network_words(
            network_kind=click.network_kind,
            from_company=click.from_company_network,
            company=job.company_name if job else "",
        )
        or None,
        "from_company_network": click.from_company_network is True,
        "person": person,
        "classification": LABELS.get(click.classification or "", "Not classified yet")
        if click.click_source not in OWNER_SOURCES
        else "You (owner)",
        "reasons": list(click.classification_reasons or []),
        # The verdict as stored, and the job seeker's correction of it (tracking.verdicts).
        "verdict": click.classification,
        "classification_correction": click.classification_correction,
        "corrected_by": click.corrected_by,
    }


def latest_clicks(
    *, include_automated: bool = False, offset: int = 0, limit: int = 50, with_city: bool = True
) -> tuple[list[dict[str, Any]], bool]:
    """``(rows, has_more)``: the clicks after ``offset``, newest first."""
    clicks = LinkClick.objects.all()
    if not include_automated:
        clicks = person_clicks(clicks)
    rows = list(
        clicks.select_related("tracking__job")
        .only(
            "click_id",
            "country_code",
            "region",
            "city",
            "network_kind",
            "from_company_network",
            "clicked_at",
            "click_source",
            "classification",
            "classification_reasons",
            "classification_correction",
            "corrected_by",
            "device_type",
            "browser",
            "os",
            "metadata",
            "tracking__tracking_id",
            "tracking__link_function",
            "tracking__application_id",
            "tracking__job__id",
            "tracking__job__title",
            "tracking__job__company_name",
        )
        .order_by("-clicked_at", "-click_id")[offset : offset + limit + 1]
    )
    return [activity_row(click, with_city=with_city) for click in rows[:limit]], len(rows) > limit
