"""The outcomes fixture, shared by the outcomes query, API and page tests.

The fixture (times in days after the first sending ``T0``, which is 20 days ago):

- app1 (Acme), sent T0: person clicks LinkedIn +1 (email, utm_campaign=spring), Résumé +3
  (linkedin), LinkedIn +5 (email); a scanner hit on the Résumé at +4 and the job seeker's own
  click from the dashboard at +4.5 never count; interviewed at +7 (responded and interview).
- app2 (Globex), sent +2: a person click on GitHub at +2.5 (email); rejected at +4 (responded).
- app3 (Globex), sent +1, never opened: a follow-up candidate.
- app4 (Globex), sent two days ago, never opened: too early to follow up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tracking import services
from tracking.models import JobApplication, TrackedLink

DAY = dt.timedelta(days=1)


def click(link: TrackedLink, at: dt.datetime, **fields: Any) -> None:
    classification = fields.pop("classification", "human")
    row = services.build_click(
        tracking_id=link.tracking_id,
        clicked_at=at,
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        click_source=fields.pop("click_source", "email"),
        metadata=fields.pop("metadata", None),
    )
    row.classification = classification
    services.insert_clicks([row])


def link(application: JobApplication, function: str) -> TrackedLink:
    created = services.create_tracked_link(
        original_url=f"https://example.org/{function.lower()}",
        link_function=function,
        link_type="profile",
        application_id=str(application.pk),
        job_id=str(application.job_id),
    )
    return TrackedLink.objects.get(pk=created["tracking_id"])


@pytest.fixture
def world() -> dict[str, Any]:
    t0 = (timezone.now() - 20 * DAY).replace(microsecond=0)
    acme = services.create_job(title="Data Engineer", company_name="Acme")
    globex = services.create_job(title="Analyst", company_name="Globex")
    app1 = services.create_application(job_id=acme.pk, status="submitted", submitted_at=t0)
    app2 = services.create_application(
        job_id=globex.pk, status="submitted", submitted_at=t0 + 2 * DAY
    )
    app3 = services.create_application(job_id=globex.pk, status="submitted", submitted_at=t0 + DAY)
    app4 = services.create_application(
        job_id=globex.pk, status="submitted", submitted_at=timezone.now() - 2 * DAY
    )
    linkedin, resume = link(app1, "LinkedIn"), link(app1, "Resume")
    github = link(app2, "GitHub")
    click(linkedin, t0 + DAY, metadata={"utm_campaign": "spring"})
    click(resume, t0 + 3 * DAY, click_source="linkedin")
    click(resume, t0 + 4 * DAY, classification="scanner")
    click(linkedin, t0 + 4.5 * DAY, click_source="dashboard")
    click(linkedin, t0 + 5 * DAY)
    click(github, t0 + 2.5 * DAY)
    services.change_application_status(
        application_id=app1.pk, status="interviewed", changed_at=t0 + 7 * DAY
    )
    services.change_application_status(
        application_id=app2.pk, status="rejected", changed_at=t0 + 4 * DAY
    )
    return {"t0": t0, "apps": (app1, app2, app3, app4), "links": (linkedin, resume, github)}
