"""API keys: created with their scopes, shown once, revoked at once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from tracking.admin.common import (
    copy_button,
)
from tracking.api.auth import (
    KEYWORD,
    SCOPE_ANALYTICS_READ,
    SCOPE_CLICKS_READ,
    SCOPE_CLICKS_WRITE,
    SCOPE_LINKS_READ,
    SCOPE_LINKS_WRITE,
    SCOPES,
)
from tracking.models import (
    APIKey,
)

# What each API scope allows, for the checkboxes of the API key form.
_SCOPE_HELP = {
    SCOPE_LINKS_READ: "read links, jobs, applications and clicks (without who clicked)",
    SCOPE_LINKS_WRITE: "create and change links, link packages",
    SCOPE_CLICKS_READ: (
        "read clicks with who clicked: IP address, session id and user agent (personal data)"
    ),
    SCOPE_CLICKS_WRITE: "record clicks from an external redirect domain",
    SCOPE_ANALYTICS_READ: "read analytics",
}
API_SCOPES = [(scope, f"{scope}: {_SCOPE_HELP.get(scope, scope)}") for scope in SCOPES]

# --- API keys -------------------------------------------------------------------------------

# The library registers its own key model; this project's keys (with scopes) replace it.
if admin.site.is_registered(LibraryAPIKey):
    admin.site.unregister(LibraryAPIKey)


class APIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=API_SCOPES,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do.",
    )

    class Meta:
        model = APIKey
        fields = ["name", "scopes", "expiry_date", "revoked"]


@admin.register(APIKey)
class ProjectAPIKeyAdmin(APIKeyModelAdmin):
    form = APIKeyForm
    list_display = (  # type: ignore[assignment]  # the library types its own tuple
        "name",
        "prefix",
        "scope_list",
        "created",
        "created_by",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used_at",
    )
    list_filter = ("revoked", "created")  # type: ignore[assignment]
    list_select_related = ("created_by",)
    actions = ("revoke_keys",)

    class Media:
        js = ("js/copy_buttons.js",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = (*super().get_readonly_fields(request, obj), "created_by", "last_used_at")
        if obj is not None and obj.revoked:
            fields += ("scopes",)
        return fields

    @admin.display(description="Scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(obj.scopes or [])

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any = None, change: bool = False
    ) -> None:
        if change:
            obj.save()
            return
        obj.created_by = request.user
        # The plain key exists only in this response: it is shown on the next page and never
        # stored (not even in a message cookie); the database keeps its hash.
        request._new_api_key = APIKey.objects.assign_key(obj)  # type: ignore[attr-defined]
        obj.save()

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        key = getattr(request, "_new_api_key", None)
        if key is None or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.opts,
            "api_key": obj,
            "key_html": copy_button(key),
            "header_example": f"Authorization: {KEYWORD} <key>",
            "changelist_url": reverse("admin:tracking_apikey_changelist"),
            "media": self.media,
        }
        # Admin views are never_cache (no-store), so the page with the key is not kept either.
        return TemplateResponse(request, "admin/tracking/apikey/created.html", context)

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        count = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"{count} API keys revoked.", messages.SUCCESS)
