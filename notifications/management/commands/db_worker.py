"""``manage.py db_worker``: django-tasks-db's worker, which first starts the notification pass.

The pass (:mod:`notifications.tasks`) re-schedules itself after every run; starting a worker
makes sure the chain exists, after a fresh install or a database restore.

At the default verbosity the worker says only what goes wrong: the pass runs every few seconds,
and a "RUNNING"/"SUCCESSFUL" line pair for each run would bury the e-mail alerts that ``make run``
prints to the same console. ``-v 2`` shows every run, ``-v 3`` everything.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django_tasks_db.management.commands.db_worker import TASKS_LOGGER
from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from notifications.tasks import schedule_next


class Command(WorkerCommand):
    help = (
        "Run the background worker (django-tasks, database backend): webhook deliveries and "
        "the notification pass every NOTIFICATIONS_POLL_SECONDS."
    )

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity - 1 if verbosity >= 2 else verbosity)
        if verbosity == 1:
            for name in (TASKS_LOGGER, "django_tasks_db"):
                logging.getLogger(name).setLevel(logging.WARNING)

    def handle(self, *args: Any, **options: Any) -> None:
        schedule_next(delay=dt.timedelta(0))
        super().handle(*args, **options)
