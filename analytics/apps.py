from __future__ import annotations

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from analytics import receivers
        from tracking import signals
        from tracking.models import ApplicationStatusHistory, Job, JobApplication, TrackedLink

        signals.clicks_removed.connect(
            receivers.refresh_after_removal, dispatch_uid="analytics-rollups-removed"
        )
        signals.clicks_anonymized.connect(
            receivers.refresh_after_anonymization, dispatch_uid="analytics-rollups-anonymized"
        )
        signals.clicks_geolocated.connect(
            receivers.refresh_after_geolocation, dispatch_uid="analytics-rollups-geolocated"
        )
        signals.clicks_reclassified.connect(
            receivers.refresh_after_reclassification,
            dispatch_uid="analytics-rollups-reclassified",
        )
        for signal in (post_save, post_delete):
            signal.connect(
                receivers.forget_outcomes_of_link,
                sender=TrackedLink,
                dispatch_uid=f"analytics-outcomes-link-{signal is post_save}",
            )
        post_delete.connect(
            receivers.take_out_clicks_of_link,
            sender=TrackedLink,
            dispatch_uid="analytics-group-clicks-link-deleted",
        )
        forgetting = (
            (JobApplication, receivers.forget_outcomes_of_application, "application"),
            (ApplicationStatusHistory, receivers.forget_outcomes_of_history, "history"),
            (Job, receivers.forget_outcomes_of_job, "job"),
        )
        for model, receiver, name in forgetting:
            for signal in (post_save, post_delete):
                signal.connect(
                    receiver,
                    sender=model,
                    dispatch_uid=f"analytics-outcomes-{name}-{signal is post_save}",
                )
        signals.clicks_classified.connect(
            receivers.refresh_after_classification, dispatch_uid="analytics-rollups-classified"
        )
