"""``manage.py db_worker``: django-tasks-db's worker, which first starts the notification pass.

The pass (:mod:`notifications.tasks`) re-schedules itself after every run; starting a worker
makes sure the chain exists, after a fresh install or a database restore.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from notifications.tasks import schedule_next


class Command(WorkerCommand):
    help = (
        "Run the background worker (django-tasks, database backend): webhook deliveries and "
        "the notification pass every NOTIFICATIONS_POLL_SECONDS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        schedule_next(delay=dt.timedelta(0))
        super().handle(*args, **options)
