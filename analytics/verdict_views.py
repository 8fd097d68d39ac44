"""The one-click correction of a click's verdict ("this was a person" / "this was a machine").

The activity, application and link pages carry a small form per click (``{% verdict_form %}``)
that posts here; so does the admin's click page (:mod:`tracking.admin.clicks`). The work is
:func:`tracking.services.correct_click_verdict`; this view checks the rights, the method and the
input, then sends the browser back to the page it came from (or answers JSON to a script).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from analytics.views import CORRECT_CLICKS, VIEW_LINKS
from tracking import services
from tracking.models import VerdictCorrection

REQUIRED = (VIEW_LINKS, CORRECT_CLICKS)
_DONE = {
    VerdictCorrection.PERSON: "Counted as a person from now on.",
    VerdictCorrection.MACHINE: "Counted as a machine from now on.",
    "automatic": "Back to the automatic verdict.",
}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _problem(request: HttpRequest, status: int, message: str, field: str | None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": message, "field": field}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@user_passes_test(lambda user: user.is_active and user.is_staff)
def correct_verdict(request: HttpRequest, click_id: uuid.UUID) -> HttpResponse:
    """POST ``verdict=person|machine|automatic`` (and ``next``, the page to go back to)."""
    if not request.user.has_perms(REQUIRED):
        missing = [perm for perm in REQUIRED if not request.user.has_perm(perm)]
        return _problem(
            request, 403, f"Your account lacks the permission {', '.join(missing)}.", None
        )
    if request.method != "POST":
        return _problem(request, 405, "Corrections are sent with POST.", None)
    verdict = request.POST.get("verdict", "")
    try:
        click = services.correct_click_verdict(
            click_id=click_id,
            verdict=verdict,
            corrected_by=f"user:{request.user.get_username()}",
        )
    except services.NotFound as exc:
        return _problem(request, 404, exc.message, exc.field)
    except services.ServiceError as exc:
        return _problem(request, 400, exc.message, exc.field)
    if _wants_json(request):
        return JsonResponse(
            {
                "click_id": str(click.click_id),
                "classification": click.classification,
                "classification_correction": click.classification_correction,
                "corrected_by": click.corrected_by,
                "corrected_at": click.corrected_at.isoformat() if click.corrected_at else None,
            }
        )
    messages.success(request, _DONE.get(verdict, "Saved."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("analytics:activity")
    return redirect(target)
