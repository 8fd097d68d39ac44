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


class VerdictCorrection(models.TextChoices):
    """The job seeker's own word on a click (``LinkClick.classification_correction``)."""

    PERSON = "person", "This was a person"
    MACHINE = "machine", "This was a machine"


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
    # Other names or domains of the company, one a line: a click from a network registered under
    # any of them is marked ``from_company_network`` (tracking.company). The database default lets
    # plain SQL inserts (the seed's samples, other systems) leave it out.
    company_aliases = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text=(
            "Other names or domains of the company (a parent company, an old name, "
            "fabrikam.com), one a line: clicks from a network registered under one of them "
            "are marked as opened from the company's network."
        ),
    )
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
    uses_decoy_link = models.BooleanField(
        default=True,
        db_default=True,  # rows inserted with plain SQL (seed samples, other systems) too
        help_text="The copy-ready e-mail carries one hidden link that only machines open; a hit "
        "on it marks that network's clicks on this application within 30 s as a scanner's.",
    )
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


_UTM_HELP = "Added to the destination as {} (unless the URL already has it)."


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
    # Additive: the application's hidden decoy link (tracking.decoy); no person ever opens it.
    is_decoy = models.BooleanField(null=True, blank=True)

    # Link controls (additive, nullable; NULL means "not set"): see docs/links.md.
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="From this moment on the link sends visitors to the fallback URL (or a 410 page).",
    )
    max_person_clicks = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="After this many clicks by people (scanners do not count) it acts as expired.",
    )
    password_hash = models.CharField(max_length=128, null=True, blank=True)
    fallback_url = models.CharField(
        max_length=1000,
        null=True,
        blank=True,
        help_text="Where an expired or capped link sends visitors; empty for a friendly 410 page.",
    )
    utm_source = models.CharField(
        max_length=100, null=True, blank=True, help_text=_UTM_HELP.format("utm_source")
    )
    utm_medium = models.CharField(
        max_length=100, null=True, blank=True, help_text=_UTM_HELP.format("utm_medium")
    )
    utm_campaign = models.CharField(
        max_length=100, null=True, blank=True, help_text=_UTM_HELP.format("utm_campaign")
    )
    utm_term = models.CharField(
        max_length=100, null=True, blank=True, help_text=_UTM_HELP.format("utm_term")
    )
    utm_content = models.CharField(
        max_length=100, null=True, blank=True, help_text=_UTM_HELP.format("utm_content")
    )

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
            **self.settings_dict(),
        }

    def settings_dict(self) -> dict[str, Any]:
        """The link controls as the API shows them (never the password's hash)."""
        return {
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "max_person_clicks": self.max_person_clicks,
            "has_password": bool(self.password_hash),
            "fallback_url": self.fallback_url,
            **{name: getattr(self, name) for name in UTM_FIELDS},
        }


UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class RuleType(models.TextChoices):
    """What a routing rule looks at (seed 002's ``link_rules.rule_type``)."""

    DEVICE = "device", "Device type"
    OS = "os", "Operating system"
    COUNTRY = "country", "Country"
    TIME = "time", "Time window"
    REFERRER = "referrer", "Referrer source"
    AB_TEST = "ab_test", "A/B variant"


class LinkRule(models.Model):
    """A routing rule of a link (seed 002's ``link_rules``): the first active rule by priority
    whose conditions match sends the visitor to its destination. ``ab_test`` rules of a link form
    one split: a visitor's session is assigned to one of them by weight."""

    link = models.ForeignKey(
        TrackedLink, on_delete=models.CASCADE, related_name="rules", db_column="tracking_id"
    )
    rule_type = models.CharField(max_length=20, choices=RuleType.choices)
    name = models.CharField(max_length=50, blank=True, default="")
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    destination_url = models.CharField(max_length=1000)
    weight = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "link_rules"
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.get_rule_type_display()} rule {self.pk}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "rule_type": self.rule_type,
            "name": self.name,
            "priority": self.priority,
            "is_active": self.is_active,
            "conditions": self.conditions,
            "destination_url": self.destination_url,
            "weight": self.weight,
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
    # The network's organisation is the job's company (tracking.company); NULL when the network or
    # the company is unknown. Kept after anonymisation, which drops ``as_org``.
    from_company_network = models.BooleanField(null=True, blank=True)
    # Additive: the job seeker's correction of the automatic verdict (tracking.verdicts). While
    # it stands, ``classification`` holds the corrected verdict (so that every count follows it)
    # and the automatic one is what ``classification_reasons`` imply; re-judging keeps it.
    classification_correction = models.CharField(
        max_length=10, null=True, blank=True, choices=VerdictCorrection.choices
    )
    corrected_by = models.CharField(max_length=150, null=True, blank=True)
    corrected_at = models.DateTimeField(null=True, blank=True)

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
            # The clicks not classified yet, which every count reads raw beside the rollups: the
            # few a classification pass has still to judge, answered from the index alone.
            SeedIndex(
                fields=["clicked_at"],
                name="idx_link_clicks_unclassified",
                condition=models.Q(classification__isnull=True),
                include=[
                    "tracking",
                    "session_id",
                    "click_id",
                    "click_source",
                    "device_type",
                    "browser",
                    "os",
                    "country_code",
                ],
            ),
            # Person clicks from a job's company network (tracking.company), which a job's,
            # application's or link's page counts over its period: few, so found here rather than
            # among every click of the scope (a job's 67,000 of 30 days at 10M clicks: 220 ms).
            SeedIndex(
                fields=["clicked_at"],
                name="idx_link_clicks_company_network",
                condition=models.Q(from_company_network=True),
                include=["tracking", "classification"],
            ),
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


class EventType(models.TextChoices):
    CLICK_PERSON = "click.person", "A person clicked a link"
    LINK_FIRST_PERSON_CLICK = "link.first_person_click", "A link's first person click"
    APPLICATION_FIRST_PERSON_CLICK = (
        "application.first_person_click",
        "An application's first person click",
    )
    APPLICATION_REOPENED = "application.reopened", "A person came back to an application"
    CLICKS_SPIKE = "clicks.spike", "More person clicks in an hour than usual"


class Event(models.Model):
    """A fact worth telling the job seeker (the outbox, table ``events``).

    Written by the click pipeline in the transaction that stores the click (see
    :mod:`tracking.clicks.events`); read by the notifications app, which delivers it once
    ``due_at`` has passed. ``dedupe_key`` is unique, so a batch written twice (a writer that
    crashed before acknowledging) produces each fact once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    type = models.CharField(max_length=40, choices=EventType.choices)
    # Unique by a constraint (``Meta.constraints``), not ``unique=True``: on PostgreSQL that adds
    # a second, ``varchar_pattern_ops`` index for LIKE, which nothing runs on this column and
    # every event paid for on insert.
    dedupe_key = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    # Not before the burst rule's window has closed: until then the click may still turn out to
    # be an e-mail scanner.
    due_at = models.DateTimeField()
    click_id = models.UUIDField(null=True, blank=True)
    tracking_id = models.CharField(max_length=100, null=True, blank=True)
    job_id = models.UUIDField(null=True, blank=True)
    application_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "events"
        ordering = ["due_at"]
        indexes = [
            # The delivery pass: events that have become due, oldest first.
            models.Index(fields=["due_at"], name="idx_events_due_at"),
            # The catch-up pass: which recent person clicks already have their events.
            models.Index(fields=["click_id"], name="idx_events_click_id"),
        ]
        constraints = [
            # What ``unique=True`` named it: the writers' ``ON CONFLICT DO NOTHING`` meets it.
            models.UniqueConstraint(fields=["dedupe_key"], name="events_dedupe_key_key"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
