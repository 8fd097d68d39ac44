"""Profile links: the job seeker's standard links that link packages are made from."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from tracking import services
from tracking.admin.common import (
    DatalistInput,
    _report_service_error,
)
from tracking.admin.widgets import link_type_field
from tracking.models import (
    LinkFunction,
    LinkType,
    ProfileLink,
)

# --- Profile links --------------------------------------------------------------------------


class ProfileLinkForm(forms.ModelForm):
    link_function = forms.CharField(
        max_length=services.IDENTIFIER_MAX,
        widget=DatalistInput(
            value for value in LinkFunction.values if value not in services.JOB_URL_FUNCTIONS
        ),
        help_text=(
            "The function of the tracked link each package gets (LinkedIn, Calendly, Portfolio, "
            "GitHub…), or your own (letters, digits, _ or -)."
        ),
    )
    link_type = link_type_field(initial=LinkType.PROFILE)
    url = forms.CharField(
        label="Destination URL",
        max_length=services.URL_MAX,
        widget=forms.TextInput(attrs={"class": "vURLField", "size": 80}),
        help_text="Your own page the tracked links lead to: a public http(s) URL.",
    )

    class Meta:
        model = ProfileLink
        fields = ["link_function", "link_type", "url", "description", "is_active", "order"]
        help_texts = {
            "description": "Becomes the tracked link's description.",
            "is_active": "Only active profile links go into new link packages.",
            "order": "Position in link packages and e-mail templates (lowest first).",
        }
        labels = {"is_active": "Active"}

    def _get_validation_exclusions(self) -> set[str]:
        # The model lists the standard link types; the form also takes one's own, which the
        # service checks (letters, digits, _ or -) as it does for tracked links.
        exclude: set[str] = set(super()._get_validation_exclusions())  # type: ignore[misc]
        exclude.add("link_type")
        return exclude

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(name in data for name in ("link_function", "link_type", "url")):
            try:
                data.update(
                    services.validate_profile_link(
                        link_function=data["link_function"],
                        link_type=data["link_type"],
                        url=data["url"],
                    )
                )
            except services.ServiceError as exc:
                _report_service_error(self, exc, {})
        return data


@admin.register(ProfileLink)
class ProfileLinkAdmin(admin.ModelAdmin):
    form = ProfileLinkForm
    list_display = ("link_function", "link_type", "url", "is_active", "order")
    list_editable = ("is_active", "order")
    list_filter = ("is_active", "link_type")
    search_fields = ("link_function", "url", "description")
