"""A small, fully known click history shared by the analytics tests.

Job "Backend Engineer" at Example Corp has two applications. Application A1 has links L1
(LinkedIn) and L2 (Calendly); A2 has L3 (LinkedIn) and L4 (GitHub, deactivated). L5 (Portfolio)
belongs to no job. Eleven clicks, UTC (2026-03-10 is a Tuesday):

    c1  L1 2026-03-10 09:00:00 human    s1   email
    c2  L1 2026-03-10 09:05:00 human    s1   email
    c3  L1 2026-03-10 08:59:58 scanner  -    email     (HEAD)
    c4  L1 2026-03-11 23:30:00 NULL     s2   linkedin  (not classified yet)
    c5  L2 2026-03-10 09:01:00 human    s1   email
    c6  L2 2026-03-12 10:00:00 preview  s3   linkedin
    c7  L3 2026-03-11 12:00:00 bot      s4   -
    c8  L3 2026-03-11 12:30:00 human    s5   direct
    c9  L4 2026-03-11 13:00:00 human    s5   email
    c10 L5 2026-03-09 10:00:00 human    s6   direct
    c11 L5 2026-03-12 02:00:00 human    s7   direct
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tests.factories import build_click, make_application, make_clicks, make_job, make_link, utc
from tracking import services
from tracking.models import Job, JobApplication, LinkClick, TrackedLink


@dataclass
class Fixture:
    job: Job
    a1: JobApplication
    a2: JobApplication
    links: dict[str, str] = field(default_factory=dict)
    clicks: dict[str, LinkClick] = field(default_factory=dict)


CLICKS: list[tuple[str, str, dt.datetime, str | None, str | None, str | None]] = [
    ("c1", "L1", utc(2026, 3, 10, 9, 0, 0), "human", "s1", "email"),
    ("c2", "L1", utc(2026, 3, 10, 9, 5, 0), "human", "s1", "email"),
    ("c3", "L1", utc(2026, 3, 10, 8, 59, 58), "scanner", None, "email"),
    ("c4", "L1", utc(2026, 3, 11, 23, 30, 0), None, "s2", "linkedin"),
    ("c5", "L2", utc(2026, 3, 10, 9, 1, 0), "human", "s1", "email"),
    ("c6", "L2", utc(2026, 3, 12, 10, 0, 0), "preview", "s3", "linkedin"),
    ("c7", "L3", utc(2026, 3, 11, 12, 0, 0), "bot", "s4", None),
    ("c8", "L3", utc(2026, 3, 11, 12, 30, 0), "human", "s5", "direct"),
    ("c9", "L4", utc(2026, 3, 11, 13, 0, 0), "human", "s5", "email"),
    ("c10", "L5", utc(2026, 3, 9, 10, 0, 0), "human", "s6", "direct"),
    ("c11", "L5", utc(2026, 3, 12, 2, 0, 0), "human", "s7", "direct"),
]


def _link(
    tracking_id: str,
    function: str,
    *,
    job: Job | None = None,
    application: JobApplication | None = None,
) -> str:
    return make_link(
        job=job,
        application=application,
        tracking_id=tracking_id,
        original_url=f"https://{function.lower()}.example.com/steve",
        link_function=function,
        link_type="profile",
    ).tracking_id


def build() -> Fixture:
    job = make_job(title="Backend Engineer", company_name="Example Corp")
    a1 = make_application(job, status="submitted", contact_name="Dana")
    a2 = make_application(job, status="reviewing")
    fx = Fixture(job=job, a1=a1, a2=a2)
    fx.links = {
        "L1": _link("fx_l1", "LinkedIn", job=job, application=a1),
        "L2": _link("fx_l2", "Calendly", job=job, application=a1),
        "L3": _link("fx_l3", "LinkedIn", job=job, application=a2),
        "L4": _link("fx_l4", "GitHub", job=job, application=a2),
        "L5": _link("fx_l5", "Portfolio"),
    }
    services.set_link_active(tracking_id=fx.links["L4"], is_active=False)
    # Links were sent an hour before the first clicks.
    TrackedLink.objects.update(created_at=utc(2026, 3, 10, 8, 0, 0))
    for name, link, when, classification, session, source in CLICKS:
        human = classification == "human"
        click = build_click(
            fx.links[link],
            clicked_at=when,
            session_id=session,
            click_source=source,
            ip_address="198.51.100.7",
            http_method="HEAD" if classification == "scanner" else "GET",
            classification=classification,
            classification_reasons=(
                [] if classification in (None, "human") else [f"{classification} signal"]
            ),
            device_type="desktop" if human else None,
            browser="Chrome" if human else None,
            os="Windows" if human else None,
        )
        if source is None:
            click.click_source = None
        make_clicks([click])
        fx.clicks[name] = click
    return fx
