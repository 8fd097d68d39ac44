"""Seed 001's analytics endpoints: link analytics, a job's summary and the performance report.

Wired under ``/api/link-tracking/`` beside tracking's endpoints (see ``linktrack/urls.py``); the
API plumbing (keys and scopes, throttles, the error body) is tracking's.
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import outcomes, queries
from analytics.api.serializers import (
    AnalyticsRangeInput,
    JobSummaryOutput,
    LinkAnalyticsOutput,
    OutcomesInput,
    OutcomesOutput,
    PerformanceReportOutput,
    ReportInput,
)
from analytics.selection import Period, Selection
from tracking import services
from tracking.api.auth import SCOPE_ANALYTICS_READ
from tracking.api.permissions import may_read_personal_data
from tracking.api.throttles import AnalyticsThrottle
from tracking.api.views import RATE_LIMITED, RETRY_AFTER, SEED_TAG, APIBase, query
from tracking.models import TrackedLink


class AnalyticsView(APIBase):
    queryset = TrackedLink.objects.all()  # sessions need tracking.view_trackedlink
    required_scope = SCOPE_ANALYTICS_READ
    throttle_classes = [AnalyticsThrottle]


class LinkAnalyticsView(AnalyticsView):
    @extend_schema(
        operation_id="link_tracking_analytics",
        tags=[SEED_TAG],
        summary="Link analytics: link info, click statistics, latest 50 clicks",
        description=(
            "Seed 000 queries 3 and 5. Totals count every click unless "
            "`include_automated=false`; `human_clicks`, `automated_clicks` and "
            "`unclassified_clicks` are always given. Scope `analytics:read`; the timeline's "
            "`ip_address`, `session_id` and `city` and `by_city` also need `clicks:read`. "
            "Rate-limited per API key."
        ),
        parameters=[AnalyticsRangeInput, RETRY_AFTER],
        responses={200: LinkAnalyticsOutput, 429: RATE_LIMITED},
    )
    def get(self, request: Request, tracking_id: str) -> Response:
        params = query(AnalyticsRangeInput, request)
        result = queries.link_analytics(tracking_id, Selection.of(**params))
        if result is None:
            raise services.NotFound("No link has this tracking_id.", field="tracking_id")
        personal = may_read_personal_data(request)
        if not personal:
            del result["click_statistics"]["by_city"]
        context = {"personal_data": personal}
        return Response(LinkAnalyticsOutput(result, context=context).data)


class JobSummaryView(AnalyticsView):
    extra_permissions = ("tracking.view_job",)

    @extend_schema(
        operation_id="link_tracking_job_summary",
        tags=[SEED_TAG],
        summary="A job's active links by link function",
        description=(
            "Seed 000 query 4: per link function, link count, total clicks and unique sessions, "
            "plus human and automated clicks. Scope `analytics:read`; rate-limited per API key."
        ),
        parameters=[
            OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            AnalyticsRangeInput,
            RETRY_AFTER,
        ],
        responses={200: JobSummaryOutput, 429: RATE_LIMITED},
    )
    def get(self, request: Request, job_id: str) -> Response:
        params = query(AnalyticsRangeInput, request)
        result = queries.job_link_summary(uuid.UUID(job_id), Selection.of(**params))
        if result is None:
            raise services.NotFound("No job has this job_id.", field="job_id")
        return Response(JobSummaryOutput(result).data)


class PerformanceReportView(AnalyticsView):
    @extend_schema(
        operation_id="link_tracking_report",
        tags=[SEED_TAG],
        summary="Performance report over the last N days",
        description=(
            "Seed 001 `get_link_performance_report`: overall statistics, performance per link "
            "function and daily trends over today and the `days - 1` days before it (in "
            "TIME_ZONE). Scope `analytics:read`; rate-limited per API key."
        ),
        parameters=[ReportInput, RETRY_AFTER],
        responses={200: PerformanceReportOutput, 429: RATE_LIMITED},
    )
    def get(self, request: Request) -> Response:
        params = query(ReportInput, request)
        return Response(PerformanceReportOutput(queries.performance_report(**params)).data)


class OutcomesView(AnalyticsView):
    extra_permissions = ("tracking.view_jobapplication",)

    @extend_schema(
        operation_id="link_tracking_outcomes",
        tags=[SEED_TAG],
        summary="Outcomes: funnel, rates and attribution of the applications sent in N days",
        description=(
            "For the applications sent today and the `days - 1` days before: the funnel "
            "(applications, opened by a person, responded, interview, offer), per link function "
            "and click source the applications a person opened and how many reached interview, "
            "median timings, follow-up candidates, and the person clicks' credit for `stage` "
            "under `model` (first_touch, last_touch, linear, time_decay, position_based) by link "
            "function, click source, link, job, company and UTM campaign/source/medium. "
            "Scope `analytics:read`; rate-limited per API key."
        ),
        parameters=[OutcomesInput, RETRY_AFTER],
        responses={200: OutcomesOutput, 429: RATE_LIMITED},
    )
    def get(self, request: Request) -> Response:
        params = query(OutcomesInput, request)
        report = outcomes.outcomes_report(
            Period.for_days(params["days"]), model=params["model"], stage=params["stage"]
        )
        return Response(OutcomesOutput(report).data)
