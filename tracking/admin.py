"""The Django admin: jobs, applications, links, clicks, profile links and API keys.

Links are created and changed through ``tracking.services`` (the same URL rules and cache
invalidation as the API); clicks are read-only. List pages are built to stay fast with tens of
thousands of links and millions of clicks: per-row click figures come from correlated subqueries
evaluated only for the rows of the page, and on PostgreSQL a large click list takes the planner's
row estimate instead of counting every matching click.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter, SimpleListFilter
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from tracking import services
from tracking.admin_links import (
    LINK_CONTROL_FIELDS,
    LinkControlsAdminMixin,
    LinkControlsFormMixin,
    clean_link_controls,
    control_changes,
)
from tracking.admin_widgets import ActiveFilter, link_type_field
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
    Classification,
    ClickSource,
    Job,
    JobApplication,
    LinkClick,
    LinkFunction,
    LinkType,
    ProfileLink,
    TrackedLink,
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

# Above this many rows the click list's pager shows PostgreSQL's estimate instead of counting.
ESTIMATE_COUNT_ABOVE = 10_000


admin.site.site_header = "linktrack"
admin.site.site_title = "linktrack admin"
admin.site.index_title = "Links, clicks and applications"
# "View site" leads to the dashboard; the site has no page at "/".
admin.site.site_url = "/dashboard/"


# --- Shared pieces --------------------------------------------------------------------------


def dashboard_link(url_name: str, arg: object) -> str:
    """A link to the dashboard page of a job, application or link; nothing if there is none."""
    try:
        url = reverse(url_name, args=[arg])
    except NoReverseMatch:
        return ""
    return format_html('<a href="{}">Dashboard</a>', url)


def copy_button(text: str) -> SafeString:
    """The value with a button copying it (``static/js/copy_buttons.js``; no inline script)."""
    return format_html(
        '<code>{}</code> <button type="button" class="button" data-copy-text="{}">Copy</button>',
        text,
        text,
    )


class EstimatedCountPaginator(Paginator):
    """A paginator that takes PostgreSQL's row estimate when a list is large.

    ``COUNT(*)`` over millions of clicks reads every matching row on each page view. The planner's
    estimate (``EXPLAIN``, from the table statistics) costs a millisecond and is close enough for
    a pager; below ``ESTIMATE_COUNT_ABOVE`` rows, and on other databases, the count is exact.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet):
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                # Django's own compiled SQL, with its parameters passed separately.
                sql, params = queryset.order_by().values("pk").query.sql_with_params()
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                    plan = cursor.fetchone()[0]
                if isinstance(plan, str):
                    plan = json.loads(plan)
                estimate = int(plan[0]["Plan"]["Plan Rows"])
                if estimate > ESTIMATE_COUNT_ABOVE:
                    return estimate
        return super().count


class DatalistInput(forms.TextInput):
    """A text input suggesting the standard values while still accepting custom ones."""

    def __init__(self, options: Iterable[str], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options = list(options)

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id', name)}_options"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((o,) for o in self.options))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


def _report_service_error(
    form: forms.BaseForm, exc: services.ServiceError, fields: dict[str, str]
) -> None:
    """Show a service error on the form field it names (or on the form as a whole)."""
    field = fields.get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula (descriptions are user input)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    """A write-only buffer: csv.writer hands back each row for streaming."""

    def write(self, value: str) -> str:
        return value


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
        try:
            url = reverse("analytics:link-detail", args=[obj.tracking_id])
        except NoReverseMatch:
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
        return (
            f"{obj.total_clicks} in all: {obj.human_clicks} by people, "
            f"{obj.automated_clicks} automated"
        )

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

        def rows() -> Iterator[str]:
            writer = csv.writer(_Echo())
            yield writer.writerow(header)
            for link in queryset.order_by("created_at", "tracking_id").iterator(chunk_size=1000):
                values = [getattr(link, name) for name in header]
                values[header.index("is_active")] = link.active
                yield writer.writerow([_csv_cell(value) for value in values])

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="links-{stamp}.csv"'
        return response


# --- Jobs and applications ------------------------------------------------------------------


class ApplicationInline(admin.TabularInline):
    model = JobApplication
    fields = ("status", "contact_name", "contact_email", "submitted_at")
    extra = 0
    show_change_link = True


class JobLinkInline(LinkSourceInline):
    fk_name = "job"


class ApplicationLinkInline(LinkSourceInline):
    fk_name = "application"


# One name per URL field, wherever it shows (forms, messages).
JOB_URL_LABELS = {"posting_url": "Posting URL", "apply_url": "Apply URL"}


class JobForm(forms.ModelForm):
    posting_url = forms.URLField(
        label=JOB_URL_LABELS["posting_url"],
        required=False,
        max_length=services.URL_MAX,
        assume_scheme="https",
        help_text="The job ad; link packages add a tracked Job_Posting link for it.",
    )
    apply_url = forms.URLField(
        label=JOB_URL_LABELS["apply_url"],
        required=False,
        max_length=services.URL_MAX,
        assume_scheme="https",
        help_text="Where to apply; link packages add a tracked Apply_Now link for it.",
    )

    class Meta:
        model = Job
        fields = ["title", "company_name", "posting_url", "apply_url", "location", "notes"]

    def clean(self) -> dict[str, Any]:
        # The posting and apply URLs become tracked links: they follow the same rules.
        data = super().clean() or {}
        for field in ("posting_url", "apply_url"):
            if data.get(field):
                try:
                    data[field] = services.validate_destination_url(data[field], field=field)
                except services.ServiceError as exc:
                    self.add_error(field, exc.message)
        return data


class HidesEmptyOnAddMixin:
    """Read-only facts (dashboard link, timestamps) exist only once the object does: the add form
    leaves them out rather than showing empty rows."""

    readonly_on_change: tuple[str, ...] = ("dashboard", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_on_change if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        if obj is None:
            return [name for name in fields if name not in self.readonly_on_change]
        return fields


@admin.register(Job)
class JobAdmin(HidesEmptyOnAddMixin, admin.ModelAdmin):
    form = JobForm
    list_display = ("title", "company_name", "location", "created_at", "dashboard")
    search_fields = ("title", "company_name")
    list_filter = (("created_at", DateFieldListFilter),)
    inlines = (ApplicationInline, JobLinkInline)
    show_full_result_count = False

    @admin.display(description="Dashboard")
    def dashboard(self, obj: Job) -> str:
        return dashboard_link("analytics:job-detail", obj.pk) if obj.pk else ""

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        # The service also drops the job's links from the redirect cache (they are detached).
        services.delete_job(job_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job_id in queryset.values_list("pk", flat=True):
            services.delete_job(job_id=job_id)


@admin.register(JobApplication)
class JobApplicationAdmin(HidesEmptyOnAddMixin, admin.ModelAdmin):
    list_display = ("__str__", "status", "contact_name", "submitted_at", "created_at", "dashboard")
    list_filter = ("status", ("created_at", DateFieldListFilter))
    search_fields = ("job__title", "job__company_name", "contact_name", "contact_email")
    list_select_related = ("job",)
    autocomplete_fields = ("job",)
    # The id is generated (a UUID): it is no field to fill in.
    fields = (
        "job",
        "status",
        "submitted_at",
        "contact_name",
        "contact_email",
        "notes",
        "dashboard",
        "created_at",
        "updated_at",
    )
    inlines = (ApplicationLinkInline,)
    actions = ("create_link_package",)
    show_full_result_count = False

    @admin.display(description="Dashboard")
    def dashboard(self, obj: JobApplication) -> str:
        return dashboard_link("analytics:application-detail", obj.pk) if obj.pk else ""

    @admin.action(description="Create the standard link package")
    def create_link_package(self, request: HttpRequest, queryset: QuerySet[JobApplication]) -> None:
        profile_links = list(
            ProfileLink.objects.order_by("order", "link_function").values_list(
                "link_function", "is_active"
            )
        )
        for application in queryset.select_related("job"):
            before = set(services.package_links(application_id=application.pk))
            try:
                package = services.create_job_application_links(application_id=application.pk)
            except services.ServiceError as exc:
                self.message_user(request, f"{application}: {exc.message}", messages.ERROR)
                continue
            created = [name for name in package if name not in before]
            kept = [name for name in package if name in before]
            skipped = [
                f"{name} (profile link inactive)" for name, active in profile_links if not active
            ] + [
                f"{function} (the job has no {JOB_URL_LABELS[attribute]})"
                for function, (attribute, _type, _label) in services.JOB_URL_FUNCTIONS.items()
                if not getattr(application.job, attribute)
            ]
            parts = [f"{application}: created {', '.join(created) or 'no new link'}"]
            if kept:
                parts.append(f"already there: {', '.join(kept)}")
            if skipped:
                parts.append(f"skipped: {', '.join(skipped)}")
            self.message_user(
                request, "; ".join(parts) + ".", messages.SUCCESS if package else messages.WARNING
            )
        if not any(active for _name, active in profile_links):
            self.message_user(
                request,
                format_html(
                    "No active profile links (LinkedIn, Calendly, portfolio, GitHub…), so packages "
                    'hold only the job\'s own links. <a href="{}">Add a profile link</a>.',
                    reverse("admin:tracking_profilelink_add"),
                ),
                messages.WARNING,
            )


# --- Clicks ---------------------------------------------------------------------------------


class ClickSourceFilter(SimpleListFilter):
    """The seed's sources as fixed choices: listing distinct values would scan every click."""

    title = "click source"
    parameter_name = "click_source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ClickSource.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(click_source=value) if value else queryset


@admin.register(LinkClick)
class LinkClickAdmin(admin.ModelAdmin):
    list_display = (
        "clicked_at",
        "link",
        "link_function",
        "classification",
        "click_source",
        "ip_address",
        "session_id",
        "device_type",
        "browser",
    )
    list_filter = ("classification", ClickSourceFilter, ("clicked_at", DateFieldListFilter))
    search_fields = ("tracking__tracking_id", "session_id")
    search_help_text = "An exact tracking id or session id."
    list_select_related = ("tracking",)
    ordering = ("-clicked_at",)
    list_per_page = 100
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Link", ordering="tracking_id")
    def link(self, obj: LinkClick) -> str:
        url = reverse("admin:tracking_trackedlink_change", args=[quote(obj.tracking_id)])
        return format_html('<a href="{}">{}</a>', url, obj.tracking_id)

    @admin.display(description="Function", ordering="tracking__link_function")
    def link_function(self, obj: LinkClick) -> str:
        return obj.tracking.link_function

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LinkClick], search_term: str
    ) -> tuple[QuerySet[LinkClick], bool]:
        # Exact matches use the tracking id and session indexes; a substring search
        # (Django's default) would scan every click.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(tracking_id=term) | Q(session_id=term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Clicks are evidence; only a superuser erases them (privacy requests).
        return bool(request.user.is_superuser)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # Clicks have no dependent rows: count them rather than list thousands on the page.
        count = objs.count() if isinstance(objs, QuerySet) else len(objs)
        perms = set() if self.has_delete_permission(request) else {"link clicks"}
        return [f"{count} clicks"], {"link clicks": count}, perms, []


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
