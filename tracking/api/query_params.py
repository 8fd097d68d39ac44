"""The query parameters of the API's list endpoints, validated like request bodies."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from tracking.api.serializers import FlexibleDateTimeField, check_range, identifier_field
from tracking.models import ApplicationStatus, Classification


class LinkFilterInput(serializers.Serializer):
    job = serializers.UUIDField(required=False, help_text="Links of this job.")
    application = serializers.UUIDField(required=False, help_text="Links of this application.")
    link_function = identifier_field(required=False)
    link_type = identifier_field(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    created_after = FlexibleDateTimeField(required=False, help_text="Created at or after.")
    created_before = FlexibleDateTimeField(
        required=False, end_of_day=True, help_text="Created before (a bare date: up to its end)."
    )
    search = serializers.CharField(
        required=False, max_length=200, help_text="In tracking_id, URL and description."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs, "created_after", "created_before")


class ClickFilterInput(serializers.Serializer):
    start = FlexibleDateTimeField(required=False, help_text="Clicks at or after (ISO 8601).")
    end = FlexibleDateTimeField(
        required=False, end_of_day=True, help_text="Clicks before (a bare date: up to its end)."
    )
    source = identifier_field(required=False, help_text="click_source, e.g. email.")  # type: ignore[assignment]
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    job = serializers.UUIDField(required=False)
    application = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs, "start", "end")


class JobFilterInput(serializers.Serializer):
    search = serializers.CharField(
        required=False, max_length=200, help_text="In title and company name."
    )


class ApplicationFilterInput(serializers.Serializer):
    job = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
