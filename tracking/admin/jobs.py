"""Jobs and job applications, with their links inline and the link-package action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from tracking import services
from tracking.admin.common import (
    dashboard_link,
)
from tracking.admin.links import LinkSourceInline
from tracking.models import (
    ApplicationStatusHistory,
    Job,
    JobApplication,
    ProfileLink,
)

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

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        fields = [
            "title",
            "company_name",
            "company_aliases",
            "posting_url",
            "apply_url",
            "location",
            "notes",
        ]
        widgets = {"company_aliases": forms.Textarea(attrs={"rows": 3})}

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

    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and {"company_name", "company_aliases"} & set(form.changed_data):
            services.company_names_changed(obj)

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
        "uses_decoy_link",
        "dashboard",
        "created_at",
        "updated_at",
    )
    inlines = (ApplicationLinkInline, StatusHistoryInline)
    actions = ("create_link_package",)
    show_full_result_count = False

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # A new application has no history yet: its add form shows no empty table.
        return self.inlines if obj is not None else (ApplicationLinkInline,)

    @admin.display(description="Dashboard")
    def dashboard(self, obj: JobApplication) -> str:
        return dashboard_link("analytics:application-detail", obj.pk) if obj.pk else ""

    def save_model(
        self, request: HttpRequest, obj: JobApplication, form: forms.ModelForm, change: bool
    ) -> None:
        save_application_form(form, obj, created=not change, changed_by=_changed_by(request))

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
