"""``/api/v1/webhooks``: webhook endpoints over the API (scope ``webhooks:write``).

Wired into the ``api`` namespace by ``linktrack/urls.py`` (tracking does not import this app).
The secret is in the creation's answer only; later reads never show it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from notifications import services
from notifications.models import EVENT_TYPES, Webhook
from tracking.api.auth import SCOPE_WEBHOOKS_WRITE
from tracking.api.views import UUID_PATTERN, ResourceViewSet, validated
from tracking.models import LinkFunction

ID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class WebhookInput(serializers.Serializer):
    url = serializers.CharField(max_length=services.URL_MAX)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, max_length=20
    )
    job_id = serializers.UUIDField(required=False, allow_null=True)
    application_id = serializers.UUIDField(required=False, allow_null=True)
    link_function = serializers.ChoiceField(
        choices=LinkFunction.values, required=False, allow_blank=True
    )
    is_active = serializers.BooleanField(required=False)


class WebhookOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    job_id = serializers.UUIDField(allow_null=True)
    application_id = serializers.UUIDField(allow_null=True)
    link_function = serializers.CharField()
    is_active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreatedWebhookOutput(WebhookOutput):
    secret = serializers.CharField(help_text="Shown once: keep it to verify signatures.")


@extend_schema(tags=["webhooks"])
class WebhookViewSet(ResourceViewSet):
    """Webhook endpoints: signed events about person clicks. Needs `webhooks:write`."""

    queryset = Webhook.objects.all()
    read_scope = SCOPE_WEBHOOKS_WRITE
    write_scope = SCOPE_WEBHOOKS_WRITE
    lookup_value_regex = UUID_PATTERN

    @extend_schema(responses={200: WebhookOutput(many=True)})
    def list(self, request: Request) -> Response:
        return self.paginated(Webhook.objects.order_by("-created_at", "id"), WebhookOutput)

    @extend_schema(request=WebhookInput, responses={201: CreatedWebhookOutput})
    def create(self, request: Request) -> Response:
        fields: dict[str, Any] = dict(validated(WebhookInput, request.data))
        fields.pop("is_active", None)
        webhook = services.create_webhook(**fields)
        return Response(CreatedWebhookOutput(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[ID_PARAM], responses={200: WebhookOutput})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WebhookOutput(services.get_webhook(webhook_id=pk)).data)

    @extend_schema(
        parameters=[ID_PARAM], request=WebhookInput(partial=True), responses={200: WebhookOutput}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        fields = validated(WebhookInput, request.data, partial=True)
        return Response(WebhookOutput(services.update_webhook(webhook_id=pk, **fields)).data)

    @extend_schema(parameters=[ID_PARAM], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.delete_webhook(webhook_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


router = SimpleRouter(trailing_slash="")  # type: ignore[arg-type]  # "" is DRF's "no slash"
router.register("v1/webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
