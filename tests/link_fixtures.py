"""Rows shared by the admin, link package and template tests: the seed's job and profile links."""

from __future__ import annotations

from typing import Any

from tracking.models import Job, ProfileLink


def marketing_job(**overrides: Any) -> Job:
    fields: dict[str, Any] = {
        "title": "Marketing Manager",
        "company_name": "Example Corp",
        "posting_url": "https://careers.example.com/jobs/42",
    }
    return Job.objects.create(**{**fields, **overrides})


def standard_profile_links() -> list[ProfileLink]:
    """LinkedIn then Calendly, as in seed 001's link package example."""
    return [
        ProfileLink.objects.create(
            link_function="LinkedIn",
            url="https://linkedin.com/in/steve-glen",
            description="Professional LinkedIn profile",
            order=1,
        ),
        ProfileLink.objects.create(
            link_function="Calendly",
            link_type="networking",
            url="https://calendly.com/steve-glen/30min",
            order=2,
        ),
    ]
