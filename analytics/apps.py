from __future__ import annotations

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from analytics import receivers
        from tracking import signals

        signals.clicks_removed.connect(
            receivers.refresh_after_removal, dispatch_uid="analytics-rollups-removed"
        )
        signals.clicks_anonymized.connect(
            receivers.refresh_after_anonymization, dispatch_uid="analytics-rollups-anonymized"
        )
        signals.clicks_reclassified.connect(
            receivers.refresh_after_reclassification,
            dispatch_uid="analytics-rollups-reclassified",
        )
        signals.clicks_classified.connect(
            receivers.refresh_after_classification, dispatch_uid="analytics-rollups-classified"
        )
