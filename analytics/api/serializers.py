"""Serializers of the analytics API: its query parameters and the shapes of its answers.

The shared fields (dates read in ``TIME_ZONE``, the link and job fields) are the resource API's,
from :mod:`tracking.api.serializers`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics import outcomes
from tracking import periods
from tracking.api.serializers import (
    ClassificationReasonsField,
    ClickMetadataField,
    FlexibleDateTimeField,
    JobFields,
    LinkOutput,
    PersonalDataOutput,
    check_range,
    correction_field,
    personal_field,
)

# --- Query parameters -----------------------------------------------------------------------


class AnalyticsRangeInput(serializers.Serializer):
    start = FlexibleDateTimeField(
        required=False, help_text="Count clicks at or after this date or date-time."
    )
    end = FlexibleDateTimeField(
        required=False,
        end_of_day=True,
        help_text="Count clicks before this date-time; a bare date includes that whole day.",
    )
    include_automated = serializers.BooleanField(
        required=False,
        default=True,
        help_text=(
            "Count crawler, scanner and preview clicks (and clicks not classified yet) in the "
            "totals too (the seed's totals do); `human_clicks`, `automated_clicks` and "
            "`unclassified_clicks` are always given."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Some figures cost in proportion to the period's length: bounded before any query.
        return check_range(attrs, "start", "end")


class ReportInput(serializers.Serializer):
    days = serializers.IntegerField(
        required=False,
        default=30,
        min_value=1,
        max_value=periods.MAX_DAYS,
        help_text="Days to cover.",
    )
    include_automated = serializers.BooleanField(
        required=False, default=True, help_text="Count automated clicks in the totals too."
    )


# --- Responses (the shapes of analytics.queries) ------------------------------------------


class ClickCountsOutput(serializers.Serializer):
    total_clicks = serializers.IntegerField(
        help_text="Clicks counted (people only when include_automated=false)."
    )
    unique_sessions = serializers.IntegerField()
    unique_sessions_estimated = serializers.BooleanField(
        required=False,
        help_text=(
            "Present (true) when unique_sessions is an estimate, about 1.6 % off: over every "
            "link, when the period's sessions are many (ANALYTICS_EXACT_SESSIONS_UP_TO)."
        ),
    )
    human_clicks = serializers.IntegerField()
    automated_clicks = serializers.IntegerField(help_text="Crawler, scanner and preview clicks.")
    unclassified_clicks = serializers.IntegerField(
        help_text=(
            "Clicks not classified yet (stored by plain SQL; judged within a minute): never "
            "counted as people."
        )
    )


class RegionClicksOutput(serializers.Serializer):
    country_code = serializers.CharField(help_text="ISO 3166-1 alpha-2, or 'unknown'.")
    country_name = serializers.CharField()
    region = serializers.CharField(help_text="The most specific subdivision, or 'unknown'.")
    total_clicks = serializers.IntegerField(
        help_text="Clicks counted (people only when include_automated=false)."
    )
    human_clicks = serializers.IntegerField()
    automated_clicks = serializers.IntegerField()


class CityClicksOutput(RegionClicksOutput):
    city = serializers.CharField(help_text="The city, or 'unknown'.")


class CompanyNetworkOutput(serializers.Serializer):
    person_clicks = serializers.IntegerField(
        help_text="Person clicks from a network registered to the job's company."
    )
    first = serializers.DateTimeField(allow_null=True)
    last = serializers.DateTimeField(allow_null=True)


class RouteRowOutput(serializers.Serializer):
    rule_id = serializers.IntegerField(
        allow_null=True, help_text="null for the clicks no rule matched."
    )
    rule_type = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    rule = serializers.CharField(
        help_text='How the route is named: the rule\'s name, "A/B variant <id>", '
        '"Removed rule <id>" or "No rule matched".'
    )
    priority = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    removed = serializers.BooleanField(help_text="The rule was deleted; its clicks remain.")
    conditions = serializers.JSONField(allow_null=True)
    destination_url = serializers.CharField(allow_null=True)
    weight = serializers.IntegerField(allow_null=True, help_text="A/B variants only.")
    clicks = serializers.IntegerField(help_text="Every click it routed, automated ones included.")
    person_clicks = serializers.IntegerField()
    applications = serializers.IntegerField(
        help_text="1 when a person opened the link through this route after its application "
        "was sent, else 0."
    )
    interviews = serializers.IntegerField(
        help_text="Of those, applications that reached interview."
    )
    interview_rate = serializers.FloatField(allow_null=True)
    small_sample = serializers.BooleanField(
        help_text=f"Fewer than {outcomes.SMALL_SAMPLE} applications: the rate says little."
    )


class ClickStatisticsOutput(ClickCountsOutput):
    first_click = serializers.DateTimeField(allow_null=True)
    last_click = serializers.DateTimeField(allow_null=True)
    by_source = serializers.DictField(
        child=serializers.IntegerField(), help_text="Clicks per click_source."
    )
    by_country = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Clicks per country (ISO 3166-1 alpha-2; 'unknown' without geodata).",
    )
    by_region = RegionClicksOutput(
        many=True, help_text="Clicks per region (with its country), most clicked first."
    )
    by_city = CityClicksOutput(
        many=True,
        required=False,
        help_text="Clicks per city. Only with scope `clicks:read` (the city is personal data).",
    )
    from_company_network = CompanyNetworkOutput()
    by_classification = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Clicks per classification (human, bot, scanner, preview, unclassified).",
    )
    by_rule = RouteRowOutput(
        many=True,
        help_text="Clicks by the routing rule or A/B variant that sent them, automated ones "
        "included whatever include_automated says (empty for a link without rules).",
    )


class TimelineClickOutput(PersonalDataOutput):
    click_id = serializers.UUIDField()
    tracking_id = serializers.CharField()
    clicked_at = serializers.DateTimeField(allow_null=True)
    click_source = serializers.CharField(allow_null=True)
    country_code = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    city = personal_field()
    network_kind = serializers.CharField(allow_null=True)
    from_company_network = serializers.BooleanField(allow_null=True)
    ip_address = personal_field()
    referrer_url = serializers.CharField(allow_null=True)
    session_id = personal_field()
    metadata = ClickMetadataField()
    classification = serializers.CharField(allow_null=True)
    classification_reasons = ClassificationReasonsField()
    classification_correction = correction_field()
    corrected_by = serializers.CharField(allow_null=True, help_text="Who corrected the verdict.")
    device_type = serializers.CharField(allow_null=True)
    browser = serializers.CharField(allow_null=True)
    os = serializers.CharField(allow_null=True)


class LinkAnalyticsOutput(serializers.Serializer):
    link_info = LinkOutput()
    click_statistics = ClickStatisticsOutput()
    click_timeline = TimelineClickOutput(many=True, help_text="The latest 50 clicks.")


class FunctionRowOutput(ClickCountsOutput):
    link_function = serializers.CharField()
    link_count = serializers.IntegerField()


class SummaryJobOutput(JobFields):
    created_at = serializers.DateTimeField(allow_null=True)
    application_count = serializers.IntegerField()
    link_count = serializers.IntegerField()
    active_link_count = serializers.IntegerField()


class JobSummaryOutput(serializers.Serializer):
    job = SummaryJobOutput()
    link_functions = FunctionRowOutput(many=True, help_text="Active links per link function.")
    by_country = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Clicks on the job's active links per country (ISO 3166-1 alpha-2; 'unknown' "
        "without geodata).",
    )


class ReportPeriodOutput(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()


class OverallStatisticsOutput(ClickCountsOutput):
    total_links = serializers.IntegerField()
    active_links = serializers.IntegerField()


class DailyTrendOutput(ClickCountsOutput):
    date = serializers.DateField()


class PerformanceReportOutput(serializers.Serializer):
    period = ReportPeriodOutput()
    overall_statistics = OverallStatisticsOutput()
    function_performance = FunctionRowOutput(many=True)
    daily_trends = DailyTrendOutput(many=True)
    by_country = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Clicks per country (ISO 3166-1 alpha-2; 'unknown' without geodata).",
    )


# --- Outcomes -------------------------------------------------------------------------------


class OutcomesInput(ReportInput):
    include_automated = None  # type: ignore[assignment]  # attribution counts people only
    model = serializers.ChoiceField(
        choices=outcomes.MODELS, required=False, default="linear", help_text="Attribution model."
    )
    stage = serializers.ChoiceField(
        choices=outcomes.CREDITED_STAGES,
        required=False,
        default="interview",
        help_text="The stage whose conversions are credited.",
    )


class FunnelStageOutput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=("applications", "opened", *outcomes.CREDITED_STAGES))
    count = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Of the applications sent.")


def _rate_row(dimension: str) -> type[serializers.Serializer]:
    fields = {
        dimension: serializers.CharField(),
        "opened": serializers.IntegerField(help_text="Applications where a person opened one."),
        "interview": serializers.IntegerField(help_text="Of those, how many reached interview."),
        "rate": serializers.FloatField(),
        "small_sample": serializers.BooleanField(
            help_text=f"Fewer than {outcomes.SMALL_SAMPLE} applications: read with care."
        ),
    }
    name = "".join(part.title() for part in dimension.split("_")) + "RateOutput"
    return type(name, (serializers.Serializer,), fields)


def _credit_row(dimension: str) -> type[serializers.Serializer]:
    fields = {
        dimension: serializers.CharField(),
        "credit": serializers.FloatField(help_text="Conversions credited (a share of each)."),
        "conversions": serializers.IntegerField(help_text="Conversions it had a share in."),
    }
    name = "".join(part.title() for part in dimension.split("_")) + "CreditOutput"

    def to_representation(self: serializers.Serializer, row: dict[str, Any]) -> dict[str, Any]:
        # What the three fields write, without their cost per row: a period's links are
        # thousands of rows.
        return {
            dimension: str(row[dimension]),
            "credit": float(row["credit"]),
            "conversions": int(row["conversions"]),
        }

    return type(name, (serializers.Serializer,), {**fields, "to_representation": to_representation})


AttributionOutput = type(
    "AttributionOutput",
    (serializers.Serializer,),
    {dimension: _credit_row(dimension)(many=True) for dimension in outcomes.DIMENSIONS},
)


class TimingsOutput(serializers.Serializer):
    sent_to_first_person_click_hours = serializers.FloatField(allow_null=True)
    sent_to_first_person_click_sample = serializers.IntegerField()
    first_person_click_to_response_hours = serializers.FloatField(allow_null=True)
    first_person_click_to_response_sample = serializers.IntegerField()


class FollowUpOutput(serializers.Serializer):
    application_id = serializers.UUIDField()
    job = serializers.CharField()
    company = serializers.CharField()
    status = serializers.CharField()
    sent_at = serializers.DateTimeField()
    days_waiting = serializers.IntegerField()


class OutcomesOutput(serializers.Serializer):
    model = serializers.ChoiceField(choices=outcomes.MODELS)
    stage = serializers.ChoiceField(choices=outcomes.CREDITED_STAGES)
    lookback_days = serializers.IntegerField()
    half_life_days = serializers.IntegerField()
    funnel = FunnelStageOutput(many=True)
    by_link_function = _rate_row("link_function")(many=True)
    by_click_source = _rate_row("click_source")(many=True)
    by_variant = _rate_row("variant")(
        many=True,
        help_text="A/B variants of routing rules, by name (else destination), across links.",
    )
    attribution = AttributionOutput()
    timings = TimingsOutput()
    follow_up = FollowUpOutput(
        many=True, help_text="Open applications with no person click after a week."
    )
