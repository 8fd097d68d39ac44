"""Request (``…Input``) and response (``…Output``) serializers of the API.

Input serializers check types and shapes and name the offending field; the business rules (safe
destinations, associations, click times) are enforced once, in ``tracking.services``. Output
serializers fix the documented shape of every response.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracking import periods
from tracking.api.permissions import PERSONAL_CLICK_FIELDS
from tracking.classify import REASON_LABELS
from tracking.models import ApplicationStatus, Job, RuleType, VerdictCorrection
from tracking.services import (
    IDENTIFIER_MAX,
    REFERRER_MAX,
    SESSION_ID_MAX,
    TRACKING_ID_MAX,
    URL_MAX,
)
from tracking.stages import stages_reached

BATCH_MAX = 1000


# --- Shared fields --------------------------------------------------------------------------


class FlexibleDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time (UTC when it has no offset), or a bare date meaning a local day.

    A bare date is that day's first instant in ``TIME_ZONE``; with ``end_of_day=True`` (for the
    exclusive end of a range) it is the next day's, so ``end=2025-07-27`` includes the 27th.
    """

    default_error_messages = {"out_of_range": "Dates must lie between the years 1 and 9999."}

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                try:
                    if self.end_of_day:
                        day += dt.timedelta(days=1)
                    return _in_range(periods.local_midnight(day))
                except OverflowError:
                    self.fail("out_of_range")
        try:
            result = super().to_internal_value(value)
            if timezone.is_naive(result):
                result = result.replace(tzinfo=dt.UTC)
            return _in_range(result)
        except OverflowError:
            self.fail("out_of_range")


def _in_range(value: dt.datetime) -> dt.datetime:
    """Raise OverflowError for instants that cannot be expressed in UTC (year 1 or 9999 edges)."""
    value.astimezone(dt.UTC)
    if not dt.datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(days=1) < value:
        raise OverflowError(value)
    if not value < dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=1):
        raise OverflowError(value)
    return value


def check_range(attrs: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    """``attrs`` whose ``start``..``end`` lie within :mod:`tracking.periods`' bounds, else a 400."""
    try:
        periods.check_instants(attrs.get(start), attrs.get(end), fields=(start, end))
    except periods.RangeError as exc:
        raise serializers.ValidationError({exc.field: [exc.message]}) from None
    return attrs


def identifier_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=IDENTIFIER_MAX, **kwargs)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {},
        "description": "UTM and other query parameters of the click, and extras its sender added.",
    }
)
class ClickMetadataField(serializers.JSONField):
    """A click's ``metadata`` as stored (a JSON object), typed as an object in the schema."""


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string"},
        "description": "Codes of the classification signals that fired: "
        + ", ".join(f"`{code}`" for code in REASON_LABELS)
        + ".",
    }
)
class ClassificationReasonsField(serializers.JSONField):
    """A click's ``classification_reasons`` as stored, typed as a list of codes in the schema."""


# --- Errors ---------------------------------------------------------------------------------


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    # Declared fields leave the class namespace, so this does not shadow ``Serializer.fields``.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field (empty when the error is not about a field).",
    )


class ErrorOutput(serializers.Serializer):
    error = ErrorDetailOutput()


# --- Links ----------------------------------------------------------------------------------


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know with a 400 naming them, rather than dropping them.

    ``ignored_fields`` are fields the server sets (``created_by``…): a client echoing a link it
    read back may send them, and they are ignored.
    """

    ignored_fields: ClassVar[frozenset[str]] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - self.ignored_fields)
            if unknown:
                raise serializers.ValidationError(
                    {
                        str(name): ["Unknown field: this endpoint does not take it."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def _optional_text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=max_length, **kwargs
    )


class LinkSettingsInput(StrictInput):
    """The link controls (docs/links.md); null or "" clears one on update."""

    ignored_fields = frozenset({"created_by", "created_at", "redirect_url", "has_password"})

    expires_at = FlexibleDateTimeField(
        required=False,
        allow_null=True,
        help_text="From this instant on the link sends visitors to fallback_url (or a 410 page).",
    )
    max_person_clicks = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**31 - 1,
        help_text="After this many clicks by people (not scanners) the link acts as expired.",
    )
    password = _optional_text(
        128,
        trim_whitespace=False,
        write_only=True,
        help_text="Visitors must type it (stored hashed).",
    )
    fallback_url = _optional_text(
        URL_MAX, help_text="Where an expired or capped link sends visitors."
    )
    utm_source = _optional_text(100, help_text="Appended to the destination as utm_source.")
    utm_medium = _optional_text(100)
    utm_campaign = _optional_text(100)
    utm_term = _optional_text(100)
    utm_content = _optional_text(100)


class LinkCreateInput(LinkSettingsInput):
    original_url = serializers.CharField(max_length=URL_MAX, help_text="Public http(s) URL.")
    link_function = identifier_field(help_text="LinkedIn, Calendly, Portfolio, … or a custom name.")
    link_type = identifier_field(help_text="profile, job_posting, application, document, …")
    job_id = serializers.UUIDField(required=False, allow_null=True)
    application_id = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=10_000
    )
    # No ``created_by``: the server names the key or user that creates the link (a client's own
    # note belongs in ``description``); like any field the API does not take, one sent is ignored.
    tracking_id = serializers.CharField(
        required=False,
        max_length=TRACKING_ID_MAX,
        help_text="Caller-chosen id (letters, digits, '_' and '-'); generated when omitted.",
    )


class LinkUpdateInput(LinkSettingsInput):
    original_url = serializers.CharField(required=False, max_length=URL_MAX)
    link_function = identifier_field(required=False)
    link_type = identifier_field(required=False)
    job_id = serializers.UUIDField(required=False, allow_null=True)
    application_id = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=10_000
    )
    is_active = serializers.BooleanField(required=False)


class LinkOutput(serializers.Serializer):
    tracking_id = serializers.CharField()
    job_id = serializers.UUIDField(allow_null=True)
    application_id = serializers.UUIDField(allow_null=True)
    link_function = serializers.CharField()
    link_type = serializers.CharField()
    original_url = serializers.CharField()
    redirect_url = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    is_active = serializers.BooleanField()
    description = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, required=False)
    max_person_clicks = serializers.IntegerField(allow_null=True, required=False)
    has_password = serializers.BooleanField(required=False)
    fallback_url = serializers.CharField(allow_null=True, required=False)
    utm_source = serializers.CharField(allow_null=True, required=False)
    utm_medium = serializers.CharField(allow_null=True, required=False)
    utm_campaign = serializers.CharField(allow_null=True, required=False)
    utm_term = serializers.CharField(allow_null=True, required=False)
    utm_content = serializers.CharField(allow_null=True, required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if not isinstance(instance, dict):
            instance = instance.to_dict()
        return super().to_representation(instance)


class LinkCreatedOutput(serializers.Serializer):
    tracking_id = serializers.CharField()
    redirect_url = serializers.CharField()
    link = LinkOutput()


class LinkEssentialsOutput(serializers.Serializer):
    """Seed 001 "Essential Data for Receiving Links" (external redirect domains)."""

    tracking_id = serializers.CharField()
    original_url = serializers.CharField()
    is_active = serializers.BooleanField()
    link_function = serializers.CharField()
    job_id = serializers.UUIDField(allow_null=True)
    application_id = serializers.UUIDField(allow_null=True)


class LinkRuleInput(StrictInput):
    """One routing rule (docs/links.md lists each type's conditions)."""

    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="One of the link's rules to change in place (it keeps its id and its clicks); "
        "without it, or with another id, a new rule is made.",
    )
    rule_type = serializers.ChoiceField(choices=RuleType.choices)
    name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    priority = serializers.IntegerField(required=False, min_value=-10_000, max_value=10_000)
    is_active = serializers.BooleanField(required=False)
    conditions = serializers.JSONField(required=False)
    destination_url = serializers.CharField(max_length=URL_MAX)
    weight = serializers.IntegerField(required=False, min_value=0, max_value=10_000)


class LinkRulesInput(StrictInput):
    rules = LinkRuleInput(many=True, max_length=50)  # type: ignore[call-arg]


class LinkRuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rule_type = serializers.CharField()
    name = serializers.CharField()
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()
    conditions = serializers.JSONField()
    destination_url = serializers.CharField()
    weight = serializers.IntegerField()


class LinkRulesOutput(serializers.Serializer):
    rules = LinkRuleOutput(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


# --- Clicks ---------------------------------------------------------------------------------


class ClickInput(serializers.Serializer):
    """Seed 001 "Essential Data for Sending Click Events", plus optional idempotency id."""

    tracking_id = serializers.CharField(max_length=TRACKING_ID_MAX)
    clicked_at = FlexibleDateTimeField(
        required=False,
        allow_null=True,
        help_text=(
            "When the click happened (ISO 8601, UTC or with an offset); now when omitted. Not in "
            "the future, and not before the link was created (both beyond a clock skew of "
            "CLICK_FUTURE_SKEW_SECONDS, 300 s by default): 400 otherwise."
        ),
    )
    ip_address = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=64
    )
    user_agent = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    referrer_url = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    session_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    click_source = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=50,
        help_text="email, linkedin, indeed, direct, external, … Detected from the referrer if absent.",
    )
    metadata = serializers.DictField(required=False, allow_null=True)
    click_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Client-generated id: sending the same click_id again stores one click.",
    )
    http_method = serializers.ChoiceField(
        choices=["GET", "HEAD", "POST"],
        required=False,
        allow_null=True,
        help_text="The visitor's request method; HEAD marks a probable scanner.",
    )
    accept_language = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=500,
        help_text=(
            "The visitor's Accept-Language header, if forwarded (used to classify, not stored). "
            "Omit it when unknown; send an empty string when the visitor sent none."
        ),
    )


class ClickRecordedOutput(serializers.Serializer):
    click_id = serializers.UUIDField()
    clicked_at = serializers.DateTimeField()


class ClickBatchInput(serializers.Serializer):
    clicks = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=BATCH_MAX,
        help_text=f"1 to {BATCH_MAX} click objects, each shaped like record-click's body.",
    )


class ClickBatchDocInput(serializers.Serializer):
    """The documented request body of record-clicks (items are validated one by one)."""

    clicks = ClickInput(many=True, min_length=1, max_length=BATCH_MAX)  # type: ignore[call-arg]


class ClickBatchItemOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the click in the request.")
    status = serializers.ChoiceField(choices=["stored", "rejected"])
    click_id = serializers.UUIDField(required=False)
    clicked_at = serializers.DateTimeField(required=False)
    error = ErrorDetailOutput(required=False)


class ClickBatchOutput(serializers.Serializer):
    stored = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ClickBatchItemOutput(many=True)


def personal_field(**kwargs: Any) -> serializers.CharField:
    """A click field that identifies a visitor: present only for callers allowed to see it."""
    return serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Only with scope `clicks:read` (sessions: permission to view clicks).",
        **kwargs,
    )


class PersonalDataOutput(serializers.Serializer):
    """Leaves out :data:`PERSONAL_CLICK_FIELDS` unless ``context["personal_data"]`` is true."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not self.context.get("personal_data", False):
            for name in PERSONAL_CLICK_FIELDS:
                data.pop(name, None)
        return data


def correction_field() -> serializers.ChoiceField:
    """A click's ``classification_correction`` (see tracking.verdicts)."""
    return serializers.ChoiceField(
        choices=VerdictCorrection.choices,
        allow_null=True,
        help_text="The job seeker's correction of the automatic verdict, or null. While it "
        "stands, `classification` is the corrected verdict (person: human; machine: the "
        "automatic verdict if it was a machine's, else bot) and every count follows it.",
    )


class ClickOutput(PersonalDataOutput):
    click_id = serializers.UUIDField()
    tracking_id = serializers.CharField()
    clicked_at = serializers.DateTimeField(allow_null=True)
    ip_address = personal_field()
    user_agent = personal_field()
    referrer_url = serializers.CharField(allow_null=True, max_length=REFERRER_MAX)
    session_id = personal_field(max_length=SESSION_ID_MAX)
    click_source = serializers.CharField(allow_null=True)
    metadata = ClickMetadataField(allow_null=True)
    classification = serializers.CharField(allow_null=True)
    classification_reasons = ClassificationReasonsField(allow_null=True)
    classification_correction = correction_field()
    corrected_by = serializers.CharField(allow_null=True, help_text="Who corrected the verdict.")
    corrected_at = serializers.DateTimeField(allow_null=True)
    http_method = serializers.CharField(allow_null=True)
    device_type = serializers.CharField(allow_null=True)
    browser = serializers.CharField(allow_null=True)
    os = serializers.CharField(allow_null=True)
    country_code = serializers.CharField(allow_null=True, help_text="ISO 3166-1 alpha-2.")
    region = serializers.CharField(allow_null=True)
    city = personal_field()
    network_kind = serializers.CharField(
        allow_null=True, help_text="residential, mobile, corporate_gateway, hosting, …"
    )
    from_company_network = serializers.BooleanField(
        allow_null=True,
        help_text="The network is registered to the job's company (null: unknown).",
    )


# --- Jobs and applications ------------------------------------------------------------------


class JobInput(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    company_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    company_aliases = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        max_length=50,
        help_text=(
            "Other names or domains of the company (a parent company, an old name, "
            "fabrikam.com): clicks from a network registered under one of them are marked "
            "from_company_network."
        ),
    )
    posting_url = serializers.CharField(required=False, allow_blank=True, max_length=URL_MAX)
    apply_url = serializers.CharField(required=False, allow_blank=True, max_length=URL_MAX)
    location = serializers.CharField(required=False, allow_blank=True, max_length=255)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class JobFields(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    company_name = serializers.CharField()
    posting_url = serializers.CharField()
    apply_url = serializers.CharField()
    location = serializers.CharField()


class JobOutput(JobFields):
    company_aliases = serializers.SerializerMethodField()
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_company_aliases(self, job: Job) -> list[str]:
        return [name for name in job.company_aliases.splitlines() if name]


class ApplicationInput(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
    submitted_at = FlexibleDateTimeField(required=False, allow_null=True)
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    contact_email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    uses_decoy_link = serializers.BooleanField(
        required=False,
        help_text="Whether the copy-ready e-mail carries the hidden decoy link (default true).",
    )


class ApplicationUpdateInput(ApplicationInput):
    job_id = None  # type: ignore[assignment]  # an application stays with its job


class StagesOutput(serializers.Serializer):
    """When the application first reached each outcome stage (null: not yet)."""

    submitted = serializers.DateTimeField(allow_null=True)
    responded = serializers.DateTimeField(allow_null=True)
    interview = serializers.DateTimeField(allow_null=True)
    offer = serializers.DateTimeField(allow_null=True)


class ApplicationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    contact_name = serializers.CharField()
    contact_email = serializers.CharField()
    notes = serializers.CharField()
    uses_decoy_link = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    stages = serializers.SerializerMethodField()

    @extend_schema_field(StagesOutput)
    def get_stages(self, application: Any) -> dict[str, Any]:
        # ``status_history`` is prefetched by the list view: one query for the whole page.
        changes = [(row.to_status, row.changed_at) for row in application.status_history.all()]
        return dict(StagesOutput(stages_reached(changes)).data)


class StatusChangeInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    changed_at = FlexibleDateTimeField(
        required=False,
        help_text="When the change happened (default now); may be back-dated, not before the "
        "last recorded change.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class StatusChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    from_status = serializers.CharField(help_text="Empty for the application's first status.")
    to_status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    changed_at = serializers.DateTimeField()
    note = serializers.CharField()
    changed_by = serializers.CharField()
    created_at = serializers.DateTimeField()
