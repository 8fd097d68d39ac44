"""The link page's controls in the admin: link settings on the form, routing rules inline, and the
QR code download. Writes go through :mod:`tracking.services` like the rest of the link page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tracking import services
from tracking.models import UTM_FIELDS, LinkRule, TrackedLink

# Model fields of the link controls shown on the link form (the password is a form field).
LINK_CONTROL_FIELDS = ["expires_at", "max_person_clicks", "fallback_url", *UTM_FIELDS]


class LinkControlsFormMixin(forms.Form):
    """Expiry and password fields of the link form; :func:`clean_link_controls` checks all the
    controls."""

    # One native date-and-time input (no JavaScript), in TIME_ZONE, rather than the admin's split
    # date and time widgets.
    expires_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=(
            "From this moment (in the site's time zone) on, the link sends visitors to the "
            "fallback URL, or to a page saying it has expired."
        ),
    )

    password = forms.CharField(
        required=False,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text="Visitors must type it before the redirect. Leave empty to keep the current one.",
    )
    remove_password = forms.BooleanField(required=False, help_text="Open the link to everyone.")


def clean_link_controls(form: forms.BaseForm, data: dict[str, Any]) -> None:
    """Check the controls with the service's rules and show each error on its field."""
    values = {name: data.get(name) for name in LINK_CONTROL_FIELDS if name in data}
    if data.get("password"):
        values["password"] = data["password"]
    try:
        services.clean_link_settings(values)
    except services.ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def control_changes(form: forms.BaseForm) -> dict[str, Any]:
    """The link controls a submitted form changes, as ``update_tracked_link`` takes them."""
    data = form.cleaned_data
    changes = {name: data[name] for name in LINK_CONTROL_FIELDS if name in form.changed_data}
    if data.get("remove_password"):
        changes["password"] = None
    elif data.get("password"):
        changes["password"] = data["password"]
    return changes


class LinkRuleForm(forms.ModelForm):
    class Meta:
        model = LinkRule
        fields = [
            "priority",
            "rule_type",
            "name",
            "conditions",
            "destination_url",
            "weight",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "rule_type" in data and "destination_url" in data:
            try:
                data.update(services.clean_rule(data))
            except services.ServiceError as exc:
                field = (exc.field or "").split(".", 1)[0]
                self.add_error(field if field in self.fields else None, exc.message)
        return data


class LinkRuleFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """The rules inline. A change form posted without it (a script, a page from before rules
    existed) leaves the rules as they are instead of failing or removing them."""

    @property
    def submitted(self) -> bool:
        return not self.is_bound or f"{self.prefix}-TOTAL_FORMS" in self.data

    def is_valid(self) -> bool:
        return super().is_valid() if self.submitted else True


class LinkRuleInline(admin.TabularInline):
    """The link's routing rules; saved together through ``replace_link_rules``."""

    model = LinkRule
    form = LinkRuleForm
    formset = LinkRuleFormSet
    extra = 0
    verbose_name_plural = (
        "Routing rules (first match by priority wins; A/B variants split by weight)"
    )


def save_rules(request: HttpRequest, link: TrackedLink, formset: Any) -> list[str]:
    """Store the inline's rules through the service; returns its warnings."""
    # formset.save() would set these for the admin's change message; the rules are replaced as a
    # set, so the message names the link's own changes only.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    if not formset.submitted:
        return []
    rules = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rule = {name: data[name] for name in LinkRuleForm.Meta.fields if name in data}
        # An existing rule keeps its id, and with it the clicks it routed in the link's analytics.
        rules.append({**rule, "id": form.instance.pk} if form.instance.pk else rule)
    rules.sort(key=lambda rule: rule.get("priority", 0))
    saved = services.replace_link_rules(tracking_id=link.tracking_id, rules=rules)
    return services.rule_warnings(saved)


def qr_download(link: TrackedLink) -> SafeString:
    return format_html(
        '<a class="button" href="{}?scale=10" download="{}-qr.png">Download PNG</a> '
        '<a class="button" href="{}" download="{}-qr.svg">SVG</a> '
        '<span class="help">Scans count as source "qr".</span>',
        reverse("tracking:qr", args=[link.tracking_id, "png"]),
        link.tracking_id,
        reverse("tracking:qr", args=[link.tracking_id, "svg"]),
        link.tracking_id,
    )


class LinkControlsAdminMixin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What the link admin gains: the rules inline (on existing links) and the QR download."""

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        # Rules belong to an existing link: the add page stays the short form it was.
        return (LinkRuleInline,) if obj is not None else ()

    @admin.display(description="QR code")
    def qr_code(self, obj: TrackedLink) -> SafeString:
        return qr_download(obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not LinkRule:
            super().save_formset(request, form, formset, change)
            return
        for warning in save_rules(request, form.instance, formset):
            self.message_user(request, warning, messages.WARNING)
