"""Tracked links: list, form (through ``tracking.services``), actions and CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.contrib.admin.utils import quote
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tracking import services
from tracking.admin.common import (
    DatalistInput,
    _report_service_error,
    copy_button,
    dashboard_link,
    dashboard_url,
)
from tracking.admin.controls import (
    LINK_CONTROL_FIELDS,
    LinkControlsAdminMixin,
    LinkControlsFormMixin,
    clean_link_controls,
    control_changes,
)
from tracking.admin.widgets import ActiveFilter, link_type_field
from tracking.exports import csv_response
from tracking.models import (
    Classification,
    LinkClick,
    LinkFunction,
    TrackedLink,
)

# --- Links ----------------------------------------------------------------------------------

_LINK_FORM_FIELDS = {"job_id": "job", "application_id": "application"}
_LINK_RELATION_HELP = {
    "job": "The job this link is sent for: type part of its title or company.",
    "application": (
        "The application it was sent with (its job is filled in from it). Leave empty for a link "
        "used across applications."
    ),
    "description": "A note for you, shown in the admin and on the dashboard.",
}


def with_click_figures(queryset: QuerySet[TrackedLink]) -> QuerySet[TrackedLink]:
    """Annotate total clicks, human clicks and the last click time in the same query.

    Correlated subqueries (each an index scan on ``idx_link_clicks_tracking_time``) are evaluated
    only for the rows the page shows; a JOIN + GROUP BY would aggregate every click first.
    """
    clicks = LinkClick.objects.filter(tracking=OuterRef("pk")).order_by().values("tracking")
    return queryset.annotate(
        total_clicks=Coalesce(Subquery(clicks.annotate(n=Count("*")).values("n")), Value(0)),
        human_clicks=Coalesce(
            Subquery(
                clicks.filter(classification=Classification.HUMAN)
                .annotate(n=Count("*"))
                .values("n")
            ),
            Value(0),
        ),
        last_click=Subquery(clicks.annotate(last=Max("clicked_at")).values("last")),
    )


def with_list_figures(queryset: QuerySet[TrackedLink]) -> QuerySet[TrackedLink]:
    """Add automated clicks and the last person's click: the link list's other columns."""
    clicks = LinkClick.objects.filter(tracking=OuterRef("pk")).order_by().values("tracking")
    automated = clicks.filter(classification__isnull=False).exclude(
        classification=Classification.HUMAN
    )
    people = clicks.filter(classification=Classification.HUMAN)
    return queryset.annotate(
        automated_clicks=Coalesce(Subquery(automated.annotate(n=Count("*")).values("n")), Value(0)),
        last_person_click=Subquery(people.annotate(last=Max("clicked_at")).values("last")),
    )


class TrackedLinkForm(LinkControlsFormMixin, forms.ModelForm):
    tracking_id = forms.CharField(
        required=False,
        max_length=services.TRACKING_ID_MAX,
        help_text="Leave empty to generate one (lt_ and 16 random characters).",
    )
    link_function = forms.CharField(
        max_length=services.IDENTIFIER_MAX,
        widget=DatalistInput(LinkFunction.values),
        help_text=(
            "What the link is in your message (LinkedIn, Calendly, Job_Posting…): a standard "
            "function or your own (letters, digits, _ or -). Analytics compare links by it."
        ),
    )
    link_type = link_type_field()
    original_url = forms.CharField(
        label="Destination URL",
        max_length=services.URL_MAX,
        widget=forms.TextInput(attrs={"class": "vURLField", "size": 80}),
        help_text="Where the redirect leads: a public http(s) URL.",
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label="Active",
        help_text="An inactive link answers 404 and records no click.",
    )

    class Meta:
        model = TrackedLink
        fields = [
            "tracking_id",
            "original_url",
            "link_function",
            "link_type",
            "job",
            "application",
            "description",
            "is_active",
            *LINK_CONTROL_FIELDS,
            "password",
            "remove_password",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rows written by plain SQL may hold NULL, which the seed's default makes active.
        if self.instance.pk and self.instance.is_active is None:
            self.initial["is_active"] = True
        for name, help_text in _LINK_RELATION_HELP.items():
            if name in self.fields:
                self.fields[name].help_text = help_text

    def clean_tracking_id(self) -> str:
        value: str = self.cleaned_data.get("tracking_id", "").strip()
        if value and not services.is_valid_tracking_id(value):
            raise forms.ValidationError("Use letters, digits, '_' or '-' (at most 100 characters).")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        required = ("original_url", "link_function", "link_type")
        if all(name in data for name in required):
            job, application = data.get("job"), data.get("application")
            try:
                cleaned = services.validate_link_input(
                    original_url=data["original_url"],
                    link_function=data["link_function"],
                    link_type=data["link_type"],
                    job_id=job.pk if job else None,
                    application_id=application.pk if application else None,
                )
            except services.ServiceError as exc:
                _report_service_error(self, exc, _LINK_FORM_FIELDS)
            else:
                data["original_url"] = cleaned["original_url"]
        clean_link_controls(self, data)
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # An empty tracking id is generated by the service; the model must not require it here.
        exclude: set[str] = set(super()._get_validation_exclusions())  # type: ignore[misc]
        if not getattr(self, "cleaned_data", {}).get("tracking_id"):
            exclude.add("tracking_id")
        return exclude


class LinkSourceInline(admin.TabularInline):
    """Links of a job or an application, read-only: links change through the link page."""

    model = TrackedLink
    fields = ("tracking_id", "link_function", "link_type", "original_url", "is_active")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    verbose_name_plural = "Tracked links"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TrackedLink)
class TrackedLinkAdmin(LinkControlsAdminMixin, admin.ModelAdmin):
    form = TrackedLinkForm
    # The columns a user scans, sized for a 1280-px screen; the rest is on the link's page.
    list_display = (
        "link",
        "function",
        "job_label",
        "people",
        "automated",
        "last_person_click",
    )
    list_display_links = ("link",)
    list_filter = (
        "link_function",
        "link_type",
        ActiveFilter,
        ("created_at", DateFieldListFilter),
        "job",
    )
    search_fields = ("tracking_id", "original_url", "description")
    list_select_related = ("job", "application")
    autocomplete_fields = ("job", "application")
    list_per_page = 50
    show_full_result_count = False
    # Facet counts would evaluate the per-link click subqueries for every link.
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-created_at",)
    actions = ("activate_links", "deactivate_links", "export_csv")

    class Media:
        js = ("js/copy_buttons.js",)
        css = {"all": ("css/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrackedLink]:
        return with_list_figures(with_click_figures(super().get_queryset(request)))

    def get_fields(self, request: HttpRequest, obj: TrackedLink | None = None) -> Any:
        if obj is None:
            return TrackedLinkForm.Meta.fields
        fields = [name for name in TrackedLinkForm.Meta.fields if name != "tracking_id"]
        return [
            "tracking_id",
            "redirect",
            *fields,
            "created_at",
            "created_by",
            "click_figures",
            "dashboard",
            "qr_code",
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: TrackedLink | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "tracking_id",
            "redirect",
            "created_at",
            "created_by",
            "click_figures",
            "dashboard",
            "qr_code",
        )

    @admin.display(description="Link", ordering="tracking_id")
    def link(self, obj: TrackedLink) -> str:
        if obj.active:
            return obj.tracking_id
        return format_html('{} <span class="inactive-link">inactive</span>', obj.tracking_id)

    @admin.display(description="Function", ordering="link_function")
    def function(self, obj: TrackedLink) -> str:
        return obj.link_function

    @admin.display(description="Job", ordering="job__title")
    def job_label(self, obj: TrackedLink) -> str:
        return str(obj.job) if obj.job else "-"

    @admin.display(description="People", ordering="human_clicks")
    def people(self, obj: Any) -> str:
        # The figure opens the link's analytics (the link column opens its form).
        count = int(obj.human_clicks)
        url = dashboard_url("analytics:link-detail", obj.tracking_id)
        if url is None:
            return str(count)
        return format_html('<a href="{}" title="Open on the dashboard">{}</a>', url, count)

    @admin.display(description="Automated", ordering="automated_clicks")
    def automated(self, obj: Any) -> int:
        return int(obj.automated_clicks)

    @admin.display(description="Last person click", ordering="last_person_click")
    def last_person_click(self, obj: Any) -> str:
        when = obj.last_person_click
        if when is None:
            return "-"
        return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Redirect URL")
    def redirect(self, obj: TrackedLink) -> SafeString:
        return copy_button(obj.redirect_url)

    @admin.display(description="Clicks")
    def click_figures(self, obj: Any) -> str:
        figures = (
            f"{obj.total_clicks} in all: {obj.human_clicks} by people, "
            f"{obj.automated_clicks} automated"
        )
        # Clicks stored by plain SQL are neither until the classification pass judges them.
        waiting = int(obj.total_clicks) - int(obj.human_clicks) - int(obj.automated_clicks)
        return figures + (f", {waiting} not classified yet" if waiting > 0 else "")

    @admin.display(description="Dashboard")
    def dashboard(self, obj: TrackedLink) -> str:
        return dashboard_link("analytics:link-detail", obj.tracking_id)

    def save_model(
        self, request: HttpRequest, obj: TrackedLink, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            changes: dict[str, Any] = {}
            for name in form.changed_data:
                if name in LinkControlsFormMixin.base_fields or name in LINK_CONTROL_FIELDS:
                    continue  # see control_changes
                if name in ("job", "application"):
                    changes[f"{name}_id"] = data[name].pk if data[name] else None
                else:
                    changes[name] = data[name]
            changes.update(control_changes(form))
            if changes:
                services.update_tracked_link(tracking_id=obj.tracking_id, **changes)
        else:
            created = services.create_tracked_link(
                original_url=data["original_url"],
                link_function=data["link_function"],
                link_type=data["link_type"],
                job_id=data["job"].pk if data.get("job") else None,
                application_id=data["application"].pk if data.get("application") else None,
                description=data.get("description"),
                created_by=request.user.get_username() or "admin",
                tracking_id=data.get("tracking_id") or None,
                **{k: v for k, v in control_changes(form).items() if v not in (None, "")},
            )
            obj.tracking_id = created["tracking_id"]
            if not data.get("is_active"):
                services.set_link_active(tracking_id=obj.tracking_id, is_active=False)
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: TrackedLink) -> None:
        services.delete_tracked_link(tracking_id=obj.tracking_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrackedLink]) -> None:
        for tracking_id in queryset.values_list("tracking_id", flat=True):
            services.delete_tracked_link(tracking_id=tracking_id)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # Django lists every related row; a busy link has many thousands of clicks, so the
        # confirmation page names the links and counts their clicks instead.
        links = list(objs)
        clicks = LinkClick.objects.filter(tracking__in=[link.pk for link in links]).count()
        summary: list[Any] = [
            format_html(
                'Tracked link: <a href="{}">{}</a>',
                reverse("admin:tracking_trackedlink_change", args=[quote(link.pk)]),
                link.pk,
            )
            for link in links
        ]
        counts = {"tracked links": len(links)}
        perms_needed: set[str] = set()
        if clicks:
            summary.append(f"{clicks} clicks on these links")
            counts["link clicks"] = clicks
            if not request.user.is_superuser:
                # Deleting a link deletes its clicks, which only superusers may erase.
                perms_needed.add("link clicks")
        return summary, counts, perms_needed, []

    @admin.action(description="Activate the selected links")
    def activate_links(self, request: HttpRequest, queryset: QuerySet[TrackedLink]) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate the selected links")
    def deactivate_links(self, request: HttpRequest, queryset: QuerySet[TrackedLink]) -> None:
        self._set_active(request, queryset, False)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[TrackedLink], active: bool
    ) -> None:
        to_change = list(queryset.exclude(is_active=active).values_list("tracking_id", flat=True))
        for tracking_id in to_change:
            services.set_link_active(tracking_id=tracking_id, is_active=active)
        state = "activated" if active else "deactivated"
        self.message_user(request, f"{len(to_change)} links {state}.", messages.SUCCESS)

    @admin.action(description="Export the selected links as CSV")
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[TrackedLink]
    ) -> StreamingHttpResponse:
        header = [
            "tracking_id",
            "link_function",
            "link_type",
            "original_url",
            "redirect_url",
            "job_id",
            "application_id",
            "is_active",
            "created_at",
            "created_by",
            "description",
            "total_clicks",
            "human_clicks",
            "last_click",
        ]

        def rows() -> Iterator[list[Any]]:
            for link in queryset.order_by("created_at", "tracking_id").iterator(chunk_size=1000):
                values = [getattr(link, name) for name in header]
                values[header.index("is_active")] = link.active
                yield values

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return csv_response(header, rows(), filename=f"links-{stamp}.csv")
