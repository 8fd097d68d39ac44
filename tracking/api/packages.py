"""``POST /api/link-tracking/applications/<id>/links``: an application's link package (seed 001
"Standard Job Application Link Package")."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tracking import services
from tracking.api.auth import SCOPE_LINKS_WRITE
from tracking.api.views import SEED_TAG, APIBase, validated
from tracking.models import TrackedLink


class LinkPackageInput(serializers.Serializer):
    functions = serializers.ListField(
        child=serializers.CharField(max_length=services.IDENTIFIER_MAX),
        required=False,
        allow_empty=False,
        max_length=50,
        help_text=(
            "Only these link functions (e.g. LinkedIn, Job_Posting). Default: every active "
            "profile link, plus Job_Posting and Apply_Now when the job has those URLs."
        ),
    )


class LinkPackageOutput(serializers.Serializer):
    application_id = serializers.UUIDField()
    tracked_links = serializers.DictField(
        child=serializers.CharField(),
        help_text="Redirect URL by link function, in profile-link order.",
    )


class LinkPackageView(APIBase):
    queryset = TrackedLink.objects.all()  # sessions need tracking.add_trackedlink
    write_scope = SCOPE_LINKS_WRITE

    @extend_schema(
        operation_id="link_tracking_application_links",
        tags=[SEED_TAG],
        summary="Create (or fetch) an application's link package",
        description=(
            "Returns `{function: redirect_url}` for every active profile link of the job seeker, "
            "plus `Job_Posting` and `Apply_Now` when the job has those URLs. Idempotent: links "
            "the application already has are returned, only missing ones are created. Scope "
            "`links:write`."
        ),
        parameters=[OpenApiParameter("application_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=LinkPackageInput,
        responses={200: LinkPackageOutput},
    )
    def post(self, request: Request, application_id: str) -> Response:
        data = validated(LinkPackageInput, request.data)
        links = services.create_job_application_links(
            application_id=application_id, functions=data.get("functions")
        )
        return Response(
            LinkPackageOutput({"application_id": application_id, "tracked_links": links}).data
        )
