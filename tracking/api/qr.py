"""``GET /track/<tracking_id>/qr.svg`` and ``.png``: a link's QR code, for staff who may view
links and API keys with ``links:read`` (the API's own authentication and permission rules)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request

from tracking import qr, services
from tracking.api.auth import SCOPE_LINKS_READ
from tracking.api.views import APIBase, validated
from tracking.models import TrackedLink

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


class ColourField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            qr.COLOUR_RE,
            required=False,
            error_messages={"invalid": "A colour is a hex value such as 1f2933 or #fff."},
            **kwargs,
        )


class QRInput(serializers.Serializer):
    scale = serializers.IntegerField(required=False, min_value=1, max_value=qr.SCALE_MAX)
    border = serializers.IntegerField(required=False, min_value=0, max_value=qr.BORDER_MAX)
    error = serializers.ChoiceField(choices=qr.ERROR_LEVELS, required=False)
    dark = ColourField()
    light = serializers.CharField(required=False, max_length=11)

    def validate_light(self, value: str) -> str | None:
        if value == "transparent":
            return None
        if not qr.COLOUR_RE.fullmatch(value):
            raise serializers.ValidationError("A hex colour such as ffffff, or transparent.")
        return qr.colour(value)

    def validate_dark(self, value: str) -> str:
        return qr.colour(value)


class QRCodeView(APIBase):
    queryset = TrackedLink.objects.all()  # sessions need tracking.view_trackedlink
    read_scope = SCOPE_LINKS_READ

    # Images under /track/, not JSON under /api/: documented in docs/links.md, not in the schema.
    @extend_schema(exclude=True)
    def get(self, request: Request, tracking_id: str, kind: str) -> HttpResponse:
        link = services.get_link(tracking_id=tracking_id)
        options = qr.QROptions(**validated(QRInput, request.query_params.dict()))
        body = qr.render_qr(link.tracking_id, kind=kind, options=options)
        response = HttpResponse(body, content_type=CONTENT_TYPES[kind])
        response["Content-Disposition"] = f'inline; filename="{link.tracking_id}-qr.{kind}"'
        response["Cache-Control"] = "private, no-store"
        return response
