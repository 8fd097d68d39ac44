"""The dashboard's alerts page: which e-mail alerts are sent, and the daily digest."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from notifications.alerts import recipients
from notifications.models import EVENT_TYPES, AlertSettings
from tracking.models import EventType

CHANGE_ALERTS = "notifications.change_alertsettings"
LABELS = dict(EventType.choices)


class AlertSettingsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=[(kind, LABELS[kind]) for kind in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send an e-mail when",
    )
    daily_digest = forms.BooleanField(required=False, label="A daily digest per application")


@user_passes_test(lambda user: user.is_active and user.is_staff)
@require_http_methods(["GET", "POST"])
def alert_settings(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(CHANGE_ALERTS):
        raise PermissionDenied(f"Your account lacks the permission {CHANGE_ALERTS}.")
    current = AlertSettings.current()
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            chosen = set(form.cleaned_data["kinds"])
            current.kinds = {kind: kind in chosen for kind in EVENT_TYPES}
            current.daily_digest = form.cleaned_data["daily_digest"]
            current.save()
            messages.success(request, "Alert settings saved.")
            return redirect("notifications:alert-settings")
    else:
        form = AlertSettingsForm(
            initial={
                "kinds": [kind for kind in EVENT_TYPES if current.wants(kind)],
                "daily_digest": current.daily_digest,
            }
        )
    return render(
        request, "notifications/settings.html", {"form": form, "recipients": recipients()}
    )
