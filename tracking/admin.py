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
from django.forms.models import BaseInlineFormSet
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
    ApplicationStatusHistory,
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


class TrackedLinkForm(forms.ModelForm):
    tracking_id = forms.CharField(
        required=False,
        max_length=services.TRACKING_ID_MAX,
        help_text="Leave empty to generate one (lt_ and 16 random characters).",
    )
    link_function = forms.CharField(
        max_length=services.IDENTIFIER_MAX,
        widget=DatalistInput(LinkFunction.values),
        help_text="A standard function or your own (letters, digits, _ or -).",
    )
    link_type = forms.CharField(
        max_length=services.IDENTIFIER_MAX,
        widget=DatalistInput(LinkType.values),
    )
    original_url = forms.CharField(
        label="Destination URL",
        max_length=services.URL_MAX,
        widget=forms.TextInput(attrs={"class": "vURLField", "size": 80}),
        help_text="A public http(s) URL.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

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
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rows written by plain SQL may hold NULL, which the seed's default makes active.
        if self.instance.pk and self.instance.is_active is None:
            self.initial["is_active"] = True

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
class TrackedLinkAdmin(admin.ModelAdmin):
    form = TrackedLinkForm
    list_display = (
        "tracking_id",
        "link_function",
        "link_type",
        "job",
        "application_label",
        "active",
        "total_clicks",
        "human_clicks",
        "last_click",
        "dashboard",
    )
    list_filter = (
        "link_function",
        "link_type",
        "is_active",
        ("created_at", DateFieldListFilter),
        "job",
    )
    search_fields = ("tracking_id", "original_url", "description")
    list_select_related = ("job", "application")
    raw_id_fields = ("job", "application")
    list_per_page = 50
    show_full_result_count = False
    # Facet counts would evaluate the per-link click subqueries for every link.
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-created_at",)
    actions = ("activate_links", "deactivate_links", "export_csv")

    class Media:
        js = ("js/copy_buttons.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrackedLink]:
        return with_click_figures(super().get_queryset(request))

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
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: TrackedLink | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("tracking_id", "redirect", "created_at", "created_by", "click_figures", "dashboard")

    @admin.display(description="Application", ordering="application__created_at")
    def application_label(self, obj: TrackedLink) -> str:
        # The job has its own column; the application is told apart by contact and status.
        application = obj.application
        if application is None:
            return "-"
        who = application.contact_name or application.contact_email or "Application"
        return f"{who} ({application.get_status_display()})"

    @admin.display(description="Active", boolean=True, ordering="is_active")
    def active(self, obj: TrackedLink) -> bool:
        return obj.active

    @admin.display(description="Clicks", ordering="total_clicks")
    def total_clicks(self, obj: Any) -> int:
        return int(obj.total_clicks)

    @admin.display(description="Human clicks", ordering="human_clicks")
    def human_clicks(self, obj: Any) -> int:
        return int(obj.human_clicks)

    @admin.display(description="Last click", ordering="last_click")
    def last_click(self, obj: Any) -> Any:
        return obj.last_click

    @admin.display(description="Redirect URL")
    def redirect(self, obj: TrackedLink) -> SafeString:
        return copy_button(obj.redirect_url)

    @admin.display(description="Clicks")
    def click_figures(self, obj: Any) -> str:
        return f"{obj.total_clicks} in all, {obj.human_clicks} by people"

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
                if name in ("job", "application"):
                    changes[f"{name}_id"] = data[name].pk if data[name] else None
                else:
                    changes[name] = data[name]
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


def _changed_by(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


def save_application_form(
    form: forms.ModelForm, application: JobApplication, *, created: bool, changed_by: str
) -> JobApplication:
    """Save an admin form's application with its status change going through the service,
    which records it in the status history (the admin's views run in one transaction)."""
    new_status = application.status
    status_changed = not created and "status" in form.changed_data
    if status_changed:
        application.status = form.initial["status"]
    application.save()
    if created:
        services.record_initial_status(application=application, changed_by=changed_by)
    elif status_changed:
        services.change_application_status(
            application_id=application.pk, status=new_status, changed_by=changed_by
        )
        application.status = new_status
    return application


class ApplicationInlineFormSet(BaseInlineFormSet):
    changed_by = ""

    def save_new(self, form: forms.ModelForm, commit: bool = True) -> Any:
        application = form.save(commit=False)
        setattr(application, self.fk.name, self.instance)
        if commit:
            save_application_form(form, application, created=True, changed_by=self.changed_by)
            form.save_m2m()
        return application

    def save_existing(self, form: forms.ModelForm, obj: Any, commit: bool = True) -> Any:
        application = form.save(commit=False)
        if commit:
            save_application_form(form, application, created=False, changed_by=self.changed_by)
            form.save_m2m()
        return application


class ApplicationInline(admin.TabularInline):
    model = JobApplication
    formset = ApplicationInlineFormSet
    fields = ("status", "contact_name", "contact_email", "submitted_at")
    extra = 0
    show_change_link = True

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        assert issubclass(formset, ApplicationInlineFormSet)
        formset.changed_by = _changed_by(request)
        return formset


class StatusHistoryInline(admin.TabularInline):
    """The application's status changes, read-only: a change is made through the status field."""

    model = ApplicationStatusHistory
    fields = ("changed_at", "from_status", "to_status", "note", "changed_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-changed_at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobLinkInline(LinkSourceInline):
    fk_name = "job"


class ApplicationLinkInline(LinkSourceInline):
    fk_name = "application"


class JobForm(forms.ModelForm):
    posting_url = forms.URLField(required=False, max_length=services.URL_MAX, assume_scheme="https")
    apply_url = forms.URLField(required=False, max_length=services.URL_MAX, assume_scheme="https")

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


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobForm
    list_display = ("title", "company_name", "location", "created_at", "dashboard")
    search_fields = ("title", "company_name")
    list_filter = (("created_at", DateFieldListFilter),)
    readonly_fields = ("dashboard", "created_at", "updated_at")
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
class JobApplicationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "contact_name", "submitted_at", "created_at", "dashboard")
    list_filter = ("status", ("created_at", DateFieldListFilter))
    search_fields = ("job__title", "job__company_name", "contact_name", "contact_email")
    list_select_related = ("job",)
    autocomplete_fields = ("job",)
    readonly_fields = ("dashboard", "created_at", "updated_at")
    inlines = (ApplicationLinkInline, StatusHistoryInline)
    actions = ("create_link_package",)
    show_full_result_count = False

    @admin.display(description="Dashboard")
    def dashboard(self, obj: JobApplication) -> str:
        return dashboard_link("analytics:application-detail", obj.pk) if obj.pk else ""

    def save_model(
        self, request: HttpRequest, obj: JobApplication, form: forms.ModelForm, change: bool
    ) -> None:
        save_application_form(form, obj, created=not change, changed_by=_changed_by(request))

    @admin.action(description="Create the standard link package")
    def create_link_package(self, request: HttpRequest, queryset: QuerySet[JobApplication]) -> None:
        done = 0
        for application_id in queryset.values_list("pk", flat=True):
            try:
                services.create_job_application_links(application_id=application_id)
            except services.ServiceError as exc:
                self.message_user(
                    request, f"Application {application_id}: {exc.message}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(
                request, f"Link package ready for {done} application(s).", messages.SUCCESS
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
    )
    url = forms.CharField(
        label="URL",
        max_length=services.URL_MAX,
        widget=forms.TextInput(attrs={"class": "vURLField", "size": 80}),
    )

    class Meta:
        model = ProfileLink
        fields = ["link_function", "link_type", "url", "description", "is_active", "order"]

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
