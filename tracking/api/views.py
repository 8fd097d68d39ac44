"""The REST API: seed 001's endpoints under ``/api/link-tracking/``, resources under ``/api/v1/``.

The analytics endpoints among seed 001's live with the queries they serve, in
:mod:`analytics.api.views`, and use the helpers defined here.

Every write goes through ``tracking.services``; every error leaves through
``tracking.api.errors.api_exception_handler`` in one JSON shape.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking import services
from tracking.api import filters
from tracking.api.auth import (
    SCOPE_CLICKS_READ,
    SCOPE_CLICKS_WRITE,
    SCOPE_LINKS_READ,
    SCOPE_LINKS_WRITE,
)
from tracking.api.errors import validation_error
from tracking.api.permissions import check_deletion, may_read_personal_data
from tracking.api.query_params import (
    ApplicationFilterInput,
    ClickFilterInput,
    JobFilterInput,
    LinkFilterInput,
)
from tracking.api.serializers import (
    ApplicationInput,
    ApplicationOutput,
    ApplicationUpdateInput,
    ClickBatchDocInput,
    ClickBatchInput,
    ClickBatchOutput,
    ClickInput,
    ClickOutput,
    ClickRecordedOutput,
    ErrorOutput,
    JobInput,
    JobOutput,
    LinkCreatedOutput,
    LinkCreateInput,
    LinkEssentialsOutput,
    LinkOutput,
    LinkRulesInput,
    LinkRulesOutput,
    LinkUpdateInput,
    StatusChangeInput,
    StatusChangeOutput,
)
from tracking.api.throttles import ClickRecordingThrottle
from tracking.models import APIKey, Job, JobApplication, LinkClick, TrackedLink

TRACKING_ID_PATTERN = r"[A-Za-z0-9_-]{1,100}"
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

RATE_LIMITED = OpenApiResponse(ErrorOutput, description="Rate limit exceeded; see Retry-After.")
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the rate-limit window resets.",
)
SEED_TAG = "link-tracking (seed 001)"


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    """Validate ``data`` or raise the 400 that names the field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    # A plain dict: DRF reads a missing boolean in a QueryDict as "false", not as "absent".
    return dict(validated(serializer_class, request.query_params.dict()))


def creator_name(request: Request) -> str:
    """``created_by`` for links made through the API: who sent the request, never what it says.

    A key is named with its prefix too, because key names are neither unique nor secret.
    """
    if isinstance(request.auth, APIKey):
        return f"api-key:{request.auth.name[:80]} ({request.auth.prefix})"[:100]
    return f"user:{request.user.get_username()}"[:100]


# No OPTIONS: DRF's metadata introspection needs model serializers these views do not have, and
# the OpenAPI schema describes every endpoint better.
HTTP_METHODS = ["get", "post", "patch", "delete", "head"]


class APIBase(APIView):
    metadata_class = None
    http_method_names = HTTP_METHODS


# --- Seed 001 endpoints ---------------------------------------------------------------------


class CreateLinkView(APIBase):
    queryset = TrackedLink.objects.all()  # sessions need tracking.add_trackedlink
    write_scope = SCOPE_LINKS_WRITE

    @extend_schema(
        operation_id="link_tracking_create",
        tags=[SEED_TAG],
        summary="Create a tracked link",
        description=(
            "Returns the new `tracking_id`, its `redirect_url` (`{TRACKING_BASE_URL}/track/"
            "{tracking_id}`) and the link. Scope `links:write`."
        ),
        request=LinkCreateInput,
        responses={201: LinkCreatedOutput},
    )
    def post(self, request: Request) -> Response:
        data = dict(validated(LinkCreateInput, request.data))
        data["created_by"] = creator_name(request)
        link = services.create_tracked_link(**data)
        body = {"tracking_id": link["tracking_id"], "redirect_url": link["redirect_url"]}
        body["link"] = link
        return Response(LinkCreatedOutput(body).data, status=status.HTTP_201_CREATED)


class RecordClickView(APIBase):
    queryset = LinkClick.objects.all()  # sessions need tracking.add_linkclick
    required_scope = SCOPE_CLICKS_WRITE
    throttle_classes = [ClickRecordingThrottle]

    @extend_schema(
        operation_id="link_tracking_record_click",
        tags=[SEED_TAG],
        summary="Record a click from an external redirect domain",
        description=(
            "Stores one click on an active link and classifies it (human, bot, scanner, "
            "preview) from what is sent. Send a client `click_id` to make retries idempotent: "
            "the same `click_id` is stored once. A `clicked_at` before the link's creation "
            "(beyond 5 minutes of clock skew) is refused with 400. Scope `clicks:write`; "
            "rate-limited per client IP."
        ),
        request=ClickInput,
        parameters=[RETRY_AFTER],
        responses={201: ClickRecordedOutput, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        result = services.record_reported_click(**validated(ClickInput, request.data))
        return Response(ClickRecordedOutput(result).data, status=status.HTTP_201_CREATED)


class RecordClicksView(APIBase):
    queryset = LinkClick.objects.all()
    required_scope = SCOPE_CLICKS_WRITE
    throttle_classes = [ClickRecordingThrottle]

    @extend_schema(
        operation_id="link_tracking_record_clicks",
        tags=[SEED_TAG],
        summary="Record a batch of up to 1000 clicks",
        description=(
            "Each click is validated on its own: the answer lists, in request order, which were "
            "stored and which were rejected and why. Scope `clicks:write`; rate-limited per "
            "client IP (one request counts once)."
        ),
        request=ClickBatchDocInput,
        parameters=[RETRY_AFTER],
        responses={200: ClickBatchOutput, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        items = validated(ClickBatchInput, request.data)["clicks"]
        results: list[dict[str, Any] | None] = [None] * len(items)
        accepted: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                results[index] = {
                    "status": "rejected",
                    "error": {
                        "code": "invalid",
                        "message": "Each click must be a JSON object.",
                        "fields": {},
                    },
                }
                continue
            serializer = ClickInput(data=item)
            if serializer.is_valid():
                accepted.append((index, dict(serializer.validated_data)))
            else:
                results[index] = {
                    "status": "rejected",
                    "error": validation_error(serializer.errors),
                }
        stored = services.record_clicks(clicks=[data for _, data in accepted])
        for (index, _data), outcome in zip(accepted, stored, strict=True):
            results[index] = outcome
        final = [{"index": index, **(result or {})} for index, result in enumerate(results)]
        body = {
            "stored": sum(1 for r in final if r["status"] == "stored"),
            "rejected": sum(1 for r in final if r["status"] == "rejected"),
            "results": final,
        }
        return Response(ClickBatchOutput(body).data, status=status.HTTP_200_OK)


class LinkEssentialsView(APIBase):
    queryset = TrackedLink.objects.all()
    read_scope = SCOPE_LINKS_READ

    @extend_schema(
        operation_id="link_tracking_link",
        tags=[SEED_TAG],
        summary="What an external redirect domain needs to serve a link",
        description=(
            'Seed 001 "Essential Data for Receiving Links". Inactive links are returned with '
            "`is_active: false` (do not redirect them). Scope `links:read`."
        ),
        responses={200: LinkEssentialsOutput},
    )
    def get(self, request: Request, tracking_id: str) -> Response:
        link = services.get_link(tracking_id=tracking_id)
        return Response(LinkEssentialsOutput(link.to_dict()).data)


# --- Resource API ---------------------------------------------------------------------------


class ResourceViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    metadata_class = None
    http_method_names = HTTP_METHODS
    read_scope: str | tuple[str, ...] = SCOPE_LINKS_READ
    write_scope = SCOPE_LINKS_WRITE
    # Set per action (``@action(permission_method=…)``): see ``tracking.api.permissions``.
    permission_method: str | None = None

    def paginated(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(queryset)
        context = {"personal_data": may_read_personal_data(self.request)}
        return self.get_paginated_response(serializer_class(page, many=True, context=context).data)


_TRACKING_ID_PARAM = OpenApiParameter(
    "tracking_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=f"^{TRACKING_ID_PATTERN}$"
)


@extend_schema(tags=["links"])
class LinkViewSet(ResourceViewSet):
    """Tracked links. Reading needs `links:read`, changing needs `links:write`."""

    queryset = TrackedLink.objects.all()
    lookup_field = "tracking_id"
    lookup_value_regex = TRACKING_ID_PATTERN
    http_method_names = [*HTTP_METHODS, "put"]  # only the rules action takes PUT

    @extend_schema(parameters=[LinkFilterInput], responses={200: LinkOutput(many=True)})
    def list(self, request: Request) -> Response:
        params = query(LinkFilterInput, request)
        links = filters.filter_links(
            TrackedLink.objects.order_by("-created_at", "tracking_id"), params
        )
        return self.paginated(links, LinkOutput)

    @extend_schema(request=LinkCreateInput, responses={201: LinkOutput})
    def create(self, request: Request) -> Response:
        data = dict(validated(LinkCreateInput, request.data))
        data["created_by"] = creator_name(request)
        link = services.create_tracked_link(**data)
        return Response(LinkOutput(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[_TRACKING_ID_PARAM], responses={200: LinkOutput})
    def retrieve(self, request: Request, tracking_id: str) -> Response:
        return Response(LinkOutput(services.get_link(tracking_id=tracking_id)).data)

    @extend_schema(
        parameters=[_TRACKING_ID_PARAM], request=LinkUpdateInput, responses={200: LinkOutput}
    )
    def partial_update(self, request: Request, tracking_id: str) -> Response:
        changes = validated(LinkUpdateInput, request.data, partial=True)
        link = services.update_tracked_link(tracking_id=tracking_id, **changes)
        return Response(LinkOutput(link).data)

    @extend_schema(parameters=[_TRACKING_ID_PARAM], responses={204: None})
    def destroy(self, request: Request, tracking_id: str) -> Response:
        """Delete the link and its clicks (from a session, clicks need a superuser, as in the admin)."""
        check_deletion(request, TrackedLink.objects.filter(pk=tracking_id))
        services.delete_tracked_link(tracking_id=tracking_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[_TRACKING_ID_PARAM], request=None, responses={200: LinkOutput})
    @action(detail=True, methods=["post"], permission_method="PATCH")
    def deactivate(self, request: Request, tracking_id: str) -> Response:
        """Stop redirecting this link (its clicks are kept)."""
        link = services.set_link_active(tracking_id=tracking_id, is_active=False)
        return Response(LinkOutput(link).data)

    @extend_schema(
        methods=["GET"], parameters=[_TRACKING_ID_PARAM], responses={200: LinkRulesOutput}
    )
    @extend_schema(
        methods=["PUT"],
        parameters=[_TRACKING_ID_PARAM],
        request=LinkRulesInput,
        responses={200: LinkRulesOutput},
    )
    @action(detail=True, methods=["get", "put"])
    def rules(self, request: Request, tracking_id: str) -> Response:
        """The link's routing rules; PUT replaces them all (an empty list removes them).

        Rules are validated before any is written; a bad condition answers 400 naming it
        (`rules[0].conditions.device_types`). `warnings` says what the redirect will ignore.
        """
        if request.method == "PUT":
            data = validated(LinkRulesInput, request.data)
            rules = services.replace_link_rules(
                tracking_id=tracking_id,
                rules=[
                    dict(rule, conditions=rule.get("conditions") or {}) for rule in data["rules"]
                ],
            )
        else:
            rules = services.link_rules(tracking_id=tracking_id)
        body = {
            "rules": [rule.to_dict() for rule in rules],
            "warnings": services.rule_warnings(rules),
        }
        return Response(LinkRulesOutput(body).data)

    @extend_schema(
        parameters=[_TRACKING_ID_PARAM, ClickFilterInput],
        responses={200: ClickOutput(many=True)},
    )
    @action(
        detail=True,
        methods=["get"],
        queryset=LinkClick.objects.all(),
        read_scope=(SCOPE_LINKS_READ, SCOPE_CLICKS_READ),
    )
    def clicks(self, request: Request, tracking_id: str) -> Response:
        """The link's clicks, newest first; `ip_address`, `session_id` and `user_agent` only with
        `clicks:read`."""
        link = services.get_link(tracking_id=tracking_id)
        params = query(ClickFilterInput, request)
        clicks = filters.filter_clicks(
            LinkClick.objects.filter(tracking=link).order_by("-clicked_at", "-click_id"), params
        )
        return self.paginated(clicks, ClickOutput)


@extend_schema(tags=["clicks"])
class ClickViewSet(ResourceViewSet):
    """Recorded clicks, newest first. Needs `links:read` or `clicks:read`; `ip_address`,
    `session_id` and `user_agent` only with `clicks:read`."""

    queryset = LinkClick.objects.all()
    read_scope = (SCOPE_LINKS_READ, SCOPE_CLICKS_READ)

    @extend_schema(parameters=[ClickFilterInput], responses={200: ClickOutput(many=True)})
    def list(self, request: Request) -> Response:
        params = query(ClickFilterInput, request)
        clicks = filters.filter_clicks(
            LinkClick.objects.order_by("-clicked_at", "-click_id"), params
        )
        return self.paginated(clicks, ClickOutput)


_ID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema(tags=["jobs"])
class JobViewSet(ResourceViewSet):
    """Jobs applied to. Reading needs `links:read`, changing needs `links:write`."""

    queryset = Job.objects.all()
    lookup_value_regex = UUID_PATTERN

    @extend_schema(parameters=[JobFilterInput], responses={200: JobOutput(many=True)})
    def list(self, request: Request) -> Response:
        params = query(JobFilterInput, request)
        return self.paginated(
            filters.filter_jobs(Job.objects.order_by("-created_at", "id"), params), JobOutput
        )

    @extend_schema(request=JobInput, responses={201: JobOutput})
    def create(self, request: Request) -> Response:
        job = services.create_job(**validated(JobInput, request.data))
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[_ID_PARAM], responses={200: JobOutput})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(JobOutput(services.get_job(job_id=pk)).data)

    @extend_schema(
        parameters=[_ID_PARAM], request=JobInput(partial=True), responses={200: JobOutput}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        job = services.update_job(job_id=pk, **validated(JobInput, request.data, partial=True))
        return Response(JobOutput(job).data)

    @extend_schema(parameters=[_ID_PARAM], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the job and its applications; its links stay, without a job."""
        check_deletion(request, Job.objects.filter(pk=pk))
        services.delete_job(job_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["applications"])
class ApplicationViewSet(ResourceViewSet):
    """Job applications. Reading needs `links:read`, changing needs `links:write`."""

    queryset = JobApplication.objects.all()
    lookup_value_regex = UUID_PATTERN

    @extend_schema(
        parameters=[ApplicationFilterInput], responses={200: ApplicationOutput(many=True)}
    )
    def list(self, request: Request) -> Response:
        params = query(ApplicationFilterInput, request)
        applications = filters.filter_applications(
            JobApplication.objects.order_by("-created_at", "id"), params
        ).prefetch_related("status_history")
        return self.paginated(applications, ApplicationOutput)

    @extend_schema(request=ApplicationInput, responses={201: ApplicationOutput})
    def create(self, request: Request) -> Response:
        application = services.create_application(
            **validated(ApplicationInput, request.data), changed_by=creator_name(request)
        )
        return Response(ApplicationOutput(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[_ID_PARAM], responses={200: ApplicationOutput})
    def retrieve(self, request: Request, pk: str) -> Response:
        application = services.get_application(application_id=pk)
        return Response(ApplicationOutput(application).data)

    @extend_schema(
        parameters=[_ID_PARAM],
        request=ApplicationUpdateInput(partial=True),
        responses={200: ApplicationOutput},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        changes = validated(ApplicationUpdateInput, request.data, partial=True)
        application = services.update_application(
            application_id=pk, changed_by=creator_name(request), **changes
        )
        return Response(ApplicationOutput(application).data)

    @extend_schema(parameters=[_ID_PARAM], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the application; its links stay, without an application."""
        check_deletion(request, JobApplication.objects.filter(pk=pk))
        services.delete_application(application_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatusHistoryView(APIBase):
    """An application's status changes (``GET``), and a new one (``POST``)."""

    queryset = JobApplication.objects.all()
    read_scope = SCOPE_LINKS_READ
    write_scope = SCOPE_LINKS_WRITE

    @property
    def permission_method(self) -> str | None:
        # Recording a status change changes the application: sessions need change_jobapplication.
        return "PATCH" if self.request.method == "POST" else None

    @extend_schema(
        operation_id="application_status_history",
        tags=["applications"],
        summary="An application's status history, oldest first",
        description="Scope `links:read`. The first row (empty `from_status`) is its first status.",
        parameters=[_ID_PARAM],
        responses={200: StatusChangeOutput(many=True)},
    )
    def get(self, request: Request, pk: str) -> Response:
        rows = services.status_history(application_id=pk)
        return Response(StatusChangeOutput(rows, many=True).data)

    @extend_schema(
        operation_id="application_status_change",
        tags=["applications"],
        summary="Change an application's status, possibly back-dated",
        description=(
            "Sets the application's status and records the change. `changed_at` (default now) "
            "may lie in the past but not before the last recorded change. Scope `links:write`."
        ),
        parameters=[_ID_PARAM],
        request=StatusChangeInput,
        responses={201: StatusChangeOutput},
    )
    def post(self, request: Request, pk: str) -> Response:
        data = validated(StatusChangeInput, request.data)
        row = services.change_application_status(
            application_id=pk, changed_by=creator_name(request), **data
        )
        return Response(StatusChangeOutput(row).data, status=status.HTTP_201_CREATED)
