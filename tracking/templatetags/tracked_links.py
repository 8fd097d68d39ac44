"""Tracked links in templates (seed 001 "Email Template Integration").

``{% load tracked_links %}{% tracked_links application as links %}`` gives the application's active
tracked links by function, so an email template writes ``{{ links.LinkedIn }}``. Rendering only
reads: the links come from the link package (admin action, API or
``services.create_job_application_links``). Values go through Django's autoescaping like any other
variable.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from tracking import services
from tracking.models import JobApplication, LinkFunction

register = template.Library()

# What hides the decoy link in mail clients, which honour inline styles only (Outlook's Word
# engine reads mso-hide).
DECOY_STYLE = (
    "display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;font-size:0;"
    "line-height:0;color:transparent;mso-hide:all"
)

_LABELS = dict(LinkFunction.choices)


@dataclass(frozen=True)
class TrackedURL:
    """One tracked link; it renders as its redirect URL, so ``{{ links.LinkedIn }}`` is the URL."""

    function: str
    url: str
    description: str

    @property
    def label(self) -> str:
        return _LABELS.get(self.function, self.function.replace("_", " "))

    def __str__(self) -> str:
        return self.url


def _application_id(application: Any) -> uuid.UUID | None:
    if isinstance(application, JobApplication):
        return application.pk
    try:
        return uuid.UUID(str(application)) if application else None
    except ValueError:
        return None


def application_links(application: Any) -> dict[str, TrackedURL]:
    """The active tracked links of an application by function, in package order (one query)."""
    application_id = _application_id(application)
    if application_id is None:
        return {}
    return {
        function: TrackedURL(function, link.redirect_url, link.description or "")
        for function, link in services.package_links(application_id=application_id).items()
    }


def _as_links(links: Mapping[Any, Any]) -> dict[str, TrackedURL]:
    """Accept what the tag returns or the service's plain ``{function: redirect_url}``."""
    return {
        str(function): value
        if isinstance(value, TrackedURL)
        else TrackedURL(str(function), str(value), "")
        for function, value in links.items()
    }


@register.simple_tag
def tracked_links(application: Any) -> dict[str, TrackedURL]:
    """``{% tracked_links application as links %}``: the application's links by function."""
    return application_links(application)


@register.simple_tag
def tracked_email(application: Any, links: Any = None) -> dict[str, Any]:
    """``{% tracked_email application links as email %}``: a ready email as ``email.html`` and
    ``email.text`` with ``email.count`` links, built from ``links`` (or the application's links
    when not given)."""
    if not isinstance(application, JobApplication):
        application_id = _application_id(application)
        application = (
            JobApplication.objects.select_related("job").filter(pk=application_id).first()
            if application_id
            else None
        )
    if application is None:
        return {"count": 0, "html": "", "text": ""}
    # Only a {function: url} mapping is taken as the links; anything else a page may call
    # "links" falls back to the application's own links.
    entries = _as_links(links) if isinstance(links, Mapping) and links else None
    own_links = entries is None
    if entries is None:
        entries = application_links(application)
    job = application.job
    # The hidden decoy (tracking.clicks.decoy) goes into the HTML e-mail of the application's own
    # links, never into the plain text, where a person would see and click it.
    decoy = (
        services.application_decoy_link(application_id=application.pk)
        if application.uses_decoy_link and entries and own_links
        else None
    )
    context = {
        "application": application,
        "job": job,
        "decoy_url": decoy.redirect_url if decoy else None,
        "decoy_style": DECOY_STYLE,
        "links": entries,
        "profile_links": [
            entry
            for function, entry in entries.items()
            if function not in services.JOB_URL_FUNCTIONS
        ],
    }
    return {
        "count": len(entries),
        "has_decoy": decoy is not None,
        # Our own template's output, escaped as it was rendered; only the blank edges go.
        "html": mark_safe(render_to_string("tracking/email_body.html", context).strip()),  # noqa: S308
        # The same for the dashboard's preview, whose pages carry no inline style: the decoy is
        # hidden there by the ``hidden`` attribute, and the copy button puts its style back.
        "preview_html": mark_safe(  # noqa: S308
            render_to_string("tracking/email_body.html", {**context, "preview": True}).strip()
        ),
        # Rendered without autoescaping, so it must not stay marked safe: a plain str is escaped
        # wherever a template shows it.
        "text": str.__str__(render_to_string("tracking/email_body.txt", context)).strip() + "\n",
    }
