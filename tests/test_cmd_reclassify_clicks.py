from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from analytics.models import DailyLinkClicks
from tests.factories import CHROME, make_application, make_job, make_link, make_visitor_click
from tests.support import run_command
from tracking.models import JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("reclassify_clicks", *args)


@pytest.fixture
def link() -> TrackedLink:
    return make_link(sent_ago=dt.timedelta(days=30))


def stored(
    link: TrackedLink, *, agent: str | None, days_ago: float = 1, **verdict: object
) -> LinkClick:
    """A click as an older classifier stored it: judged human with no reason."""
    click = make_visitor_click(link, days_ago=days_ago, user_agent=agent)
    fields = {"classification": "human", "classification_reasons": [], **verdict}
    LinkClick.objects.filter(pk=click.pk).update(**fields)
    return LinkClick.objects.get(pk=click.pk)


def test_it_judges_stored_clicks_again_with_todays_rules(link: TrackedLink) -> None:
    bot = stored(link, agent="greedyhand/0.1")
    tool = stored(link, agent="python-requests/2.32.3")
    person = stored(link, agent=CHROME)

    output = run()

    # The person's click changes too: its device fields are parsed now.
    assert "3 clicks judged again, changed 3 (human → bot: 2)" in output
    bot.refresh_from_db()
    assert (bot.classification, bot.classification_reasons) == (
        "bot",
        ["listed_bot_agent", "unknown_agent"],
    )
    assert bot.device_type == "bot"
    tool.refresh_from_db()
    assert tool.classification == "bot" and "tool_agent" in (tool.classification_reasons or [])
    person.refresh_from_db()
    assert (person.classification, person.classification_reasons) == ("human", [])


def test_a_second_run_changes_nothing(link: TrackedLink) -> None:
    stored(link, agent="greedyhand/0.1")
    run()
    assert "1 clicks judged again, changed 0" in run()


def test_a_dry_run_says_what_would_change_and_changes_nothing(link: TrackedLink) -> None:
    click = stored(link, agent="curl/8.5.0")
    assert "would change 1 (human → bot: 1)" in run("--dry-run")
    click.refresh_from_db()
    assert click.classification == "human"


def test_since_leaves_older_clicks_alone(link: TrackedLink) -> None:
    old = stored(link, agent="curl/8.5.0", days_ago=10)
    new = stored(link, agent="curl/8.5.0", days_ago=1)
    since = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    assert "1 clicks judged again, changed 1" in run("--since", since)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.classification, new.classification) == ("human", "bot")


def test_signals_only_the_moment_saw_are_kept(link: TrackedLink) -> None:
    owners = stored(
        link, agent="curl/8.5.0", classification="owner", classification_reasons=["owner_cookie"]
    )
    burst = stored(link, agent=CHROME, classification="scanner", classification_reasons=["burst"])
    quiet = stored(
        link,
        agent=CHROME,
        classification="scanner",
        classification_reasons=["no_accept_language"],
    )
    run()
    owners.refresh_from_db()
    assert owners.classification == "owner"
    assert owners.classification_reasons == ["owner_cookie", "crawler_agent", "tool_agent"]
    burst.refresh_from_db()
    assert (burst.classification, burst.classification_reasons) == ("scanner", ["burst"])
    quiet.refresh_from_db()  # stored before Accept-Language was kept: its old reason tells
    assert (quiet.classification, quiet.classification_reasons) == (
        "scanner",
        ["no_accept_language"],
    )


def test_the_applications_submission_is_an_anchor_too(link: TrackedLink) -> None:
    application = make_application(make_job(title="Analyst"))
    TrackedLink.objects.filter(pk=link.pk).update(application=application)
    click = stored(link, agent=CHROME, days_ago=2)
    JobApplication.objects.filter(pk=application.pk).update(
        submitted_at=click.clicked_at - dt.timedelta(seconds=2)  # type: ignore[operator]
    )
    run()
    click.refresh_from_db()
    assert (click.classification, click.classification_reasons) == (
        "scanner",
        ["soon_after_submission"],
    )


def test_clicks_without_a_user_agent_are_left_as_they_are(link: TrackedLink) -> None:
    private = stored(link, agent=None, classification="scanner", classification_reasons=["burst"])
    assert "0 clicks judged again" in run()
    private.refresh_from_db()
    assert private.classification == "scanner"


def test_the_rollups_follow_the_new_verdicts(link: TrackedLink) -> None:
    stored(link, agent="curl/8.5.0", days_ago=2)
    stored(link, agent=CHROME, days_ago=2)
    call_command("rollup_clicks", stdout=None)
    totals = DailyLinkClicks.objects.aggregate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
    assert totals == {"h": 2, "a": 0}
    run("--batch-size", "1")
    totals = DailyLinkClicks.objects.aggregate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
    assert totals == {"h": 1, "a": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--since", "yesterday"], "--since must be a date"), (["--batch-size", "0"], "--batch-size")],
)
def test_bad_arguments_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
