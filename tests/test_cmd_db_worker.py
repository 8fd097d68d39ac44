"""``manage.py db_worker`` starts the notification pass and delivers due events."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import TASKS_LOGGER
from pytest_httpserver import HTTPServer

from notifications.models import Webhook
from tests.factories import make_sent_link
from tracking import services
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_delivers_the_events_of_a_direct_click(
    httpserver: HTTPServer, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/hooks").respond_with_data("ok")
    Webhook.objects.create(url=httpserver.url_for("/hooks"), event_types=["click.person"])
    click = services.build_click(
        tracking_id=make_sent_link(),
        ip_address="198.51.100.23",
        clicked_at=timezone.now() - dt.timedelta(seconds=30),
    )
    click.classification = "human"
    services.insert_new_click(click)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert request.get_json()["data"]["click_id"] == str(click.click_id)
    assert LinkClick.objects.count() == 1


@pytest.mark.parametrize(("verbosity", "level"), [(1, logging.WARNING), (2, logging.INFO)])
def test_the_worker_logs_each_run_only_when_asked(verbosity: int, level: int) -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=verbosity)
    assert logging.getLogger("django_tasks_db").level == level
    assert logging.getLogger(TASKS_LOGGER).level == level
