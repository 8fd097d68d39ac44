from __future__ import annotations

import pytest
from django.core.management import call_command

from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def test_demo_clicks_are_classified_by_the_classifier_with_a_realistic_mix() -> None:
    call_command("load_demo")
    clicks = list(LinkClick.objects.all())
    assert clicks and all(click.classification for click in clicks)
    kinds = {click.classification for click in clicks}
    assert kinds == {"human", "bot", "scanner", "preview"}
    humans = [click for click in clicks if click.classification == "human"]
    assert len(humans) > len(clicks) / 2
    assert all(click.classification_reasons == [] for click in humans)
    assert all(click.device_type in {"desktop", "mobile"} for click in humans)
    scanners = [click for click in clicks if click.classification == "scanner"]
    assert {"scanner_network", "head_request", "empty_user_agent"} <= {
        reason for click in scanners for reason in (click.classification_reasons or [])
    }
