"""Webhooks in the admin: endpoints (the secret shown once), deliveries with every attempt, and
the "send a test event" and "redeliver" actions (queued for the worker, never sent here)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services, webhooks
from notifications.models import EVENT_TYPES, Delivery, DeliveryAttempt, Webhook
from tracking.services.errors import ServiceError


class WebhookForm(forms.ModelForm):  # type: ignore[type-arg]
    event_types = forms.MultipleChoiceField(
        choices=[(value, value) for value in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = Webhook
        fields = [
            "url",
            "description",
            "event_types",
            "job",
            "application",
            "link_function",
            "is_active",
        ]

    def clean_url(self) -> str:
        try:
            return services.clean_webhook_url(self.cleaned_data["url"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None


class DeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Delivery
    fields = readonly_fields = ("event_type", "status", "attempts", "next_attempt_at", "created_at")
    extra = 0
    max_num = 0
    show_change_link = True
    can_delete = False
    ordering = ["-created_at"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookForm
    list_display = ["url", "is_active", "consecutive_failures", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "created_at"]
    inlines = [DeliveryInline]
    actions = ["send_test_event"]

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        if change and obj.is_active and "is_active" in form.changed_data:
            obj.consecutive_failures = 0
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                f"The signing secret of this endpoint is {obj.secret} — copy it now, it is not "
                "shown again.",
            )

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            webhooks.queue_test_delivery(webhook)
        messages.success(
            request, f"Test event queued for {queryset.count()} endpoint(s); the worker sends it."
        )


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeliveryAttempt
    fields = readonly_fields = (
        "attempted_at",
        "status_code",
        "duration_ms",
        "response_excerpt",
        "error",
    )
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["event_type", "webhook", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event_type"]
    readonly_fields = [
        "webhook",
        "event",
        "event_type",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            webhooks.redeliver(delivery)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")
