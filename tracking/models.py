"""The tracking data model.

``link_tracking`` and ``link_clicks`` mirror the seed schema column by column (names, types,
lengths, nullability, database defaults and index names). Columns added beyond the seed are
nullable and additive, so systems that write the seed's columns with plain SQL keep working.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from tracking.dbfields import RandomUUID, SeedIndex, UTCNow, UTCTimestampField


class LinkFunction(models.TextChoices):
    """Standard ``link_function`` values of the seed; the column also takes safe custom names."""

    LINKEDIN = "LinkedIn", "LinkedIn"
    CALENDLY = "Calendly", "Calendly"
    COMPANY_WEBSITE = "Company_Website", "Company website"
    APPLY_NOW = "Apply_Now", "Apply now"
    JOB_POSTING = "Job_Posting", "Job posting"
    PORTFOLIO = "Portfolio", "Portfolio"
    GITHUB = "GitHub", "GitHub"
    RESUME = "Resume", "Résumé"
    COVER_LETTER = "Cover_Letter", "Cover letter"
    REFERENCES = "References", "References"


class LinkType(models.TextChoices):
    PROFILE = "profile", "Profile"
    JOB_POSTING = "job_posting", "Job posting"
    APPLICATION = "application", "Application"
    NETWORKING = "networking", "Networking"
    DOCUMENT = "document", "Document"
    EXTERNAL = "external", "External"
    INTERNAL = "internal", "Internal"


class ClickSource(models.TextChoices):
    EMAIL = "email", "Email"
    DASHBOARD = "dashboard", "Dashboard"
    LINKEDIN = "linkedin", "LinkedIn"
    INDEED = "indeed", "Indeed"
    DIRECT = "direct", "Direct"
    EXTERNAL = "external", "External"
    API = "api", "API"
    TEST = "test", "Test"


class Classification(models.TextChoices):
    """Who (or what) made a click. Everything but ``human`` is not a person at the company."""

    HUMAN = "human", "Person"
    BOT = "bot", "Crawler"
    SCANNER = "scanner", "Email scanner"
    PREVIEW = "preview", "Link preview"
    # The job seeker's own click (tracking.owner): never counted as a person.
    OWNER = "owner", "You"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUBMITTED = "submitted", "Submitted"
    REVIEWING = "reviewing", "Reviewing"
    INTERVIEWED = "interviewed", "Interviewed"
    REJECTED = "rejected", "Rejected"
    OFFERED = "offered", "Offered"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID())
    title = models.CharField(max_length=300)
    company_name = models.CharField(max_length=255, blank=True, default="")
    posting_url = models.URLField(max_length=1000, blank=True, default="")
    apply_url = models.URLField(max_length=1000, blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "jobs"
        ordering = ["-created_at"]
        indexes = [
            # Dashboard and admin list jobs newest first.
            SeedIndex(fields=["-created_at"], name="idx_jobs_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.company_name}" if self.company_name else self.title


class JobApplication(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID())
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="applications")
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    contact_name = models.CharField(max_length=255, blank=True, default="")
    contact_email = models.EmailField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "job_applications"
        ordering = ["-created_at"]
        indexes = [
            # Status filters on the dashboard and in the admin.
            SeedIndex(fields=["status"], name="idx_job_applications_status"),
        ]

    def __str__(self) -> str:
        return f"Application to {self.job}"


class ApplicationStatusHistory(models.Model):
    """One status change of an application (seed 004's ``application_status_history``).

    ``changed_at`` is when the change happened, which may be earlier than when it was entered
    (the recruiter called on Monday, the job seeker noted it on Wednesday); ``created_at`` is when
    the row was written. A creation is a row with an empty ``from_status``.
    """

    application = models.ForeignKey(
        JobApplication, on_delete=models.CASCADE, related_name="status_history"
    )
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, choices=ApplicationStatus.choices)
    changed_at = models.DateTimeField()
    note = models.TextField(blank=True, default="")
    changed_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "application_status_history"
        ordering = ["changed_at", "id"]
        verbose_name_plural = "application status history"
        indexes = [
            # An application's timeline, and the first time each stage was reached (outcomes).
            models.Index(fields=["application", "changed_at"], name="idx_status_history_app_time"),
            # Outcomes over a period: the changes to a status in a date range.
            models.Index(fields=["to_status", "changed_at"], name="idx_status_history_to_time"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status} at {self.changed_at:%Y-%m-%d %H:%M}"


class TrackedLink(models.Model):
    """A tracked redirect (table ``link_tracking`` of the seed)."""

    tracking_id = models.CharField(max_length=100, primary_key=True)
    # FK constraints on PostgreSQL carry the seed's names and ON DELETE rules (migration 0002);
    # the seed's own index names replace Django's automatic FK indexes.
    job = models.ForeignKey(
        Job,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="links",
    )
    application = models.ForeignKey(
        JobApplication,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="links",
    )
    link_function = models.CharField(max_length=50)
    link_type = models.CharField(max_length=50)
    original_url = models.CharField(max_length=1000)
    redirect_url = models.CharField(max_length=1000)
    created_at = UTCTimestampField(null=True, blank=True, db_default=UTCNow())
    created_by = models.CharField(max_length=100, null=True, blank=True, db_default="system")
    is_active = models.BooleanField(null=True, db_default=True)
    description = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "link_tracking"
        ordering = ["-created_at"]
        indexes = [
            # Seed basic indexes: links of a job / application, by function, active, by age.
            SeedIndex(fields=["job"], name="idx_link_tracking_job_id"),
            SeedIndex(fields=["application"], name="idx_link_tracking_application_id"),
            SeedIndex(fields=["link_function"], name="idx_link_tracking_function"),
            SeedIndex(fields=["is_active"], name="idx_link_tracking_active"),
            SeedIndex(fields=["created_at"], name="idx_link_tracking_created_at"),
            # Seed recommended: job summary and application packages filter on is_active.
            SeedIndex(fields=["job", "is_active"], name="idx_link_tracking_job_active"),
            SeedIndex(fields=["application", "is_active"], name="idx_link_tracking_app_active"),
            # Seed recommended: active links by function over time (performance report).
            SeedIndex(
                fields=["is_active", "link_function", "created_at"],
                name="idx_link_tracking_composite",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_id

    @property
    def active(self) -> bool:
        """``is_active`` is nullable in the seed; a NULL counts as the default, active."""
        return self.is_active is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracking_id": self.tracking_id,
            "job_id": str(self.job_id) if self.job_id else None,
            "application_id": str(self.application_id) if self.application_id else None,
            "link_function": self.link_function,
            "link_type": self.link_type,
            "original_url": self.original_url,
            "redirect_url": self.redirect_url,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "created_by": self.created_by,
            "is_active": self.active,
            "description": self.description,
        }


class LinkClick(models.Model):
    """One click on a tracked link (table ``link_clicks`` of the seed)."""

    click_id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID())
    # The FK constraint (ON DELETE CASCADE) is named as in the seed on PostgreSQL (migration 0002).
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="clicks",
    )
    clicked_at = UTCTimestampField(null=True, blank=True, db_default=UTCNow())
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(null=True, blank=True)
    referrer_url = models.CharField(max_length=1000, null=True, blank=True)
    session_id = models.CharField(max_length=100, null=True, blank=True)
    click_source = models.CharField(max_length=50, null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True, default=dict, db_default={})

    # Additive columns (seed "Version Upgrades"): classification and parsed user agent.
    classification = models.CharField(
        max_length=20, null=True, blank=True, choices=Classification.choices
    )
    classification_reasons = models.JSONField(null=True, blank=True)
    # Whether the request sent Accept-Language (a classifier signal), kept so that
    # reclassify_clicks can judge the click again; NULL for clicks stored before it was kept.
    has_accept_language = models.BooleanField(null=True, blank=True)
    http_method = models.CharField(max_length=10, null=True, blank=True)
    device_type = models.CharField(max_length=20, null=True, blank=True)
    browser = models.CharField(max_length=50, null=True, blank=True)
    os = models.CharField(max_length=50, null=True, blank=True)
    visitor_hash = models.CharField(max_length=64, null=True, blank=True)
    # Additive: where the click came from (tracking.geo). A Do-Not-Track click keeps the country
    # only; anonymisation keeps country and region and drops the rest with the IP.
    country_code = models.CharField(max_length=2, null=True, blank=True)
    region = models.CharField(max_length=100, null=True, blank=True)
    city = models.CharField(max_length=100, null=True, blank=True)
    asn = models.PositiveBigIntegerField(null=True, blank=True)
    as_org = models.CharField(max_length=200, null=True, blank=True)
    network_kind = models.CharField(max_length=20, null=True, blank=True)

    class Meta:
        db_table = "link_clicks"
        ordering = ["-clicked_at"]
        indexes = [
            # Seed basic indexes.
            SeedIndex(fields=["tracking"], name="idx_link_clicks_tracking_id"),
            SeedIndex(fields=["clicked_at"], name="idx_link_clicks_clicked_at"),
            SeedIndex(fields=["click_source"], name="idx_link_clicks_source"),
            SeedIndex(fields=["ip_address"], name="idx_link_clicks_ip_address"),
            SeedIndex(fields=["session_id"], name="idx_link_clicks_session_id"),
            # Seed recommended: a link's timeline and statistics in a time range.
            SeedIndex(fields=["tracking", "clicked_at"], name="idx_link_clicks_tracking_time"),
            # Seed recommended: clicks by source over time.
            SeedIndex(fields=["click_source", "clicked_at"], name="idx_link_clicks_source_time"),
            # Seed recommended: a session's path through an application's links.
            SeedIndex(fields=["session_id", "tracking"], name="idx_link_clicks_session_tracking"),
            # People-only analytics over a time range.
            SeedIndex(fields=["classification", "clicked_at"], name="idx_link_clicks_class_time"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} at {self.clicked_at}"


class ProfileLink(models.Model):
    """One of the job seeker's standard links (LinkedIn, Calendly…), used to build link packages."""

    link_function = models.CharField(max_length=50, unique=True)
    link_type = models.CharField(max_length=50, choices=LinkType.choices, default=LinkType.PROFILE)
    url = models.CharField(max_length=1000)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "profile_links"
        ordering = ["order", "link_function"]

    def __str__(self) -> str:
        return self.link_function


class APIKey(AbstractAPIKey):
    """An API key with scopes. Only the hash is stored; the key is shown once at creation."""

    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        db_table = "api_keys"
        verbose_name = "API key"
        verbose_name_plural = "API keys"
