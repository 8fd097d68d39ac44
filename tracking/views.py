"""The redirect (the hot path) and the health endpoint.

``GET /track/<tracking_id>`` resolves the link from the caches, captures the click
(:mod:`tracking.clicks.capture`), submits it (:func:`tracking.clicks.record.submit`) and answers
302. With a warm link cache that is no SELECT and one INSERT; work that needs more (the burst
rule) runs after the response has been sent, when the WSGI server closes it.

Link controls and routing rules come with the cached link: a link without them pays a few
attribute checks; the decisions themselves live in :mod:`tracking.controls` (expiry, the
person-click cap, the password form) and :mod:`tracking.routing` (which destination).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import DisallowedRedirect
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_safe

from tracking import controls, linkcache, routing, services
from tracking.clicks import capture, ratelimit, record
from tracking.clicks.burst import FollowUp
from tracking.health import details_allowed, health_report, public_report

logger = logging.getLogger(__name__)


class TrackedRedirect(HttpResponseRedirect):
    """A 302 that runs a follow-up once the server has sent it (``close()`` comes after the last
    byte is written), so post-processing never delays the visitor."""

    follow_up: FollowUp | None = None

    def close(self) -> None:
        follow_up, self.follow_up = self.follow_up, None
        if follow_up is not None:
            try:
                follow_up()
            except Exception:
                logger.exception("click follow-up failed")
        super().close()


def _no_store(response: HttpResponse) -> HttpResponse:
    # Every click must reach us (no browser or proxy caching of the redirect), the destination must
    # not learn the tracking URL, and search engines must not index tracking URLs.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return _no_store(render(request, "tracking/link_not_found.html", status=404))


@require_http_methods(["GET", "HEAD", "POST"])
def redirect(request: HttpRequest, tracking_id: str) -> HttpResponse:
    """Record a click on an active link and send the visitor on to its destination.

    HEAD is answered like GET (email scanners use it; the click is classified as a scanner). The
    query string is recorded as metadata and never changes the destination; routing rules may
    (from the user agent, the referrer, the time or an A/B split). POST is only the password
    form's answer.
    """
    if not services.is_valid_tracking_id(tracking_id):
        return _not_found(request)  # cannot exist: no cache or database lookup
    try:
        link = linkcache.resolve_link(tracking_id)
    except DatabaseError:
        logger.exception("link lookup failed for %s", tracking_id)
        return _no_store(HttpResponse("Temporarily unavailable.", status=503))
    if link is None:
        return _not_found(request)
    if link.expires_at is not None and controls.is_expired(link):
        return _no_store(controls.gone(request, link))
    unlocked_now = False
    if link.password_hash and not controls.is_unlocked(request, link):
        form = controls.password_gate(request, link)
        if form is not None:
            return _no_store(form)
        unlocked_now = True
    elif request.method == "POST":
        return _no_store(HttpResponse("Method not allowed.", status=405))

    captured = capture.capture_request(request, link)
    if link.max_person_clicks is not None and controls.over_cap(
        link, http_method=request.method, signals=captured.signals
    ):
        return _no_store(controls.gone(request, link))
    destination = link.destination or link.original_url
    if link.rules or captured.fields["metadata"]:
        destination = _route(link, captured, destination)
    try:
        response = TrackedRedirect(destination)
    except DisallowedRedirect:  # a destination written around the service layer
        logger.error("link %s has an unusable destination", tracking_id)
        return _not_found(request)
    if unlocked_now:
        controls.set_unlock_cookie(response, request, link)
    if ratelimit.click_allowed(request, client_ip=captured.signals.client_ip):
        try:
            response.follow_up = record.submit(captured.fields, signals=captured.signals)
        except services.ServiceError:
            logger.exception("click on %s could not be built", tracking_id)
            return _no_store(response)
    else:
        ratelimit.count_suppressed()
    if captured.new_session_id:
        capture.set_session_cookie(response, request, captured.new_session_id)
    return _no_store(response)


def _route(link: linkcache.ResolvedLink, captured: capture.CapturedRequest, default: str) -> str:
    """The destination the link's rules pick; the click's metadata names the rule (and only we
    set that key: a visitor's query parameter of that name is dropped)."""
    metadata = captured.fields["metadata"]
    metadata.pop(routing.ROUTED_KEY, None)
    if not link.rules:
        return default
    visitor = routing.Visitor(
        user_agent=captured.signals.user_agent,
        click_source=captured.fields["click_source"]
        or services.detect_click_source(captured.fields["referrer_url"]),
        session_id=captured.fields["session_id"],
        client_ip=captured.signals.client_ip,
    )
    rule = routing.choose(link.rules, key=link.tracking_id, visitor=visitor)
    if rule is None:
        return default
    metadata[routing.ROUTED_KEY] = str(rule.rule_id)
    return rule.destination


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Database, cache and click-recording state: 200 when all is well, 503 otherwise.

    Anonymous callers get the status only; the full report needs staff or ``HEALTH_TOKEN``.
    """
    report: dict[str, Any]
    report, healthy = health_report()
    if not details_allowed(request):
        report = public_report(report)
    response = JsonResponse(report, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
