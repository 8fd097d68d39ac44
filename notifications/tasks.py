"""The notification pass, a django-tasks task on the database backend (``manage.py db_worker``).

Each run classifies the clicks stored by plain SQL without a classification
(:func:`tracking.clicks.unclassified.classify_unclassified`, a bounded batch), writes the events of
direct-mode clicks and of those just classified as people (:func:`tracking.clicks.events.
record_missed_events`), turns due events into deliveries and e-mail alerts, makes the due
delivery attempts, sends the pending alerts and, once a day, yesterday's digest, then schedules
the next run ``NOTIFICATIONS_POLL_SECONDS`` later. The chain is started by
``manage.py db_worker`` (:mod:`notifications.management.commands.db_worker`), and a run that
fails still schedules the next one, so the chain does not stop with it. Every step is idempotent:
two chains (two workers started at once) do the same work once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from notifications import alerts, webhooks
from notifications.models import AlertSettings, DigestRun
from tracking.clicks.events import record_missed_events
from tracking.clicks.unclassified import classify_unclassified

logger = logging.getLogger(__name__)

# Finished runs are kept this long for the admin's task list, then removed (one every few
# seconds would otherwise pile up).
KEEP_FINISHED = dt.timedelta(hours=1)


@task()
def process_notifications() -> dict[str, int]:
    """One notification pass; see the module docstring."""
    try:
        return run_pass()
    finally:
        schedule_next()


def run_pass(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    done = {
        # First: a plain-SQL click judged a person here gets its events in this same run.
        "clicks_classified": _classify_unclassified(),
        "events_written": record_missed_events(now=now),
        "events_handled": webhooks.dispatch_due_events(now=now),
        "attempts": webhooks.send_due_deliveries(now=now),
        "alerts_sent": alerts.send_pending_alerts(now=now),
    }
    # Yesterday's digest, once, on the first pass of the day (send_digest does it by hand).
    if AlertSettings.current().daily_digest:
        yesterday = timezone.localdate(now) - dt.timedelta(days=1)
        if not DigestRun.objects.filter(day=yesterday).exists():
            alerts.send_digest(day=yesterday)
    return done


def _classify_unclassified() -> int:
    """The classification pass, which must not hold up deliveries when it fails: the click
    writer and ``run_maintenance`` run it too, and the next pass tries again."""
    try:
        return classify_unclassified()  # each batch in its own transaction
    except DatabaseError:
        logger.exception("classifying the clicks stored without a classification failed")
        return 0


def schedule_next(*, delay: dt.timedelta | None = None) -> bool:
    """Enqueue the next pass unless one is already waiting; returns whether one was enqueued."""
    now = timezone.now()
    path = process_notifications.module_path
    runs = DBTaskResult.objects.filter(task_path=path)
    runs.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=now - KEEP_FINISHED,
    ).delete()
    if runs.filter(status=TaskResultStatus.READY).exists():
        return False
    delay = (
        delay if delay is not None else dt.timedelta(seconds=settings.NOTIFICATIONS_POLL_SECONDS)
    )
    process_notifications.using(run_after=now + delay).enqueue()
    return True
