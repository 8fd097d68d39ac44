"""Outcomes from the per-application summaries kept by ``rollup_clicks`` agree with the raw clicks.

Every figure is computed both ways: from the summaries (after a run) and from the raw clicks (the
summaries dropped), on the hand-made fixture of :mod:`tests.outcome_fixture` and on a random one,
and again after each change that must reach the summaries (a new click, a status change, a link
edited, clicks removed or reclassified).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics import outcome_summaries, outcomes, rollups
from analytics.attribution import CREDITED_STAGES, MODELS, sent_between
from analytics.models import OutcomeClickDay, OutcomeSummary, OutcomeValue
from analytics.selection import Period
from tests.outcome_fixture import DAY, click, link, world
from tracking import services, signals
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name

PERIOD = Period.for_days(30)


def both_ways(period: Period = PERIOD, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report from the summaries as they are, then from the raw clicks."""
    summarised = outcomes.outcomes_report(period, **options)
    OutcomeSummary.objects.all().delete()
    return summarised, outcomes.outcomes_report(period, **options)


def read_raw(period: Period = PERIOD) -> set[Any]:
    """The applications the report would read from their raw clicks."""
    candidates = sent_between(*period)
    raw = outcome_summaries.to_read_raw(candidates)
    return set(candidates.values_list("pk", flat=True)) if raw is None else raw


def roll_up() -> None:
    call_command("rollup_clicks", verbosity=0)


@pytest.mark.parametrize("stage", CREDITED_STAGES)
@pytest.mark.parametrize("model", MODELS)
def test_every_figure_from_the_summaries_equals_the_raw_one(
    world: dict[str, Any], model: str, stage: str
) -> None:
    roll_up()
    assert read_raw() == set()
    summarised, raw = both_ways(model=model, stage=stage)
    assert summarised == raw
    assert raw["funnel"][1] == {"stage": "opened", "count": 2, "rate": 0.5}


def test_the_hand_computed_numbers_come_out_of_the_summaries(world: dict[str, Any]) -> None:
    roll_up()
    assert OutcomeSummary.objects.count() == 4
    report = outcomes.outcomes_report(PERIOD, model="position_based")
    assert report["attribution"]["link_function"] == [
        {"link_function": "LinkedIn", "credit": 0.8, "conversions": 1},
        {"link_function": "Resume", "credit": 0.2, "conversions": 1},
    ]
    assert [
        (r["click_source"], r["opened"], r["interview"]) for r in report["by_click_source"]
    ] == [
        ("email", 2, 1),
        ("linkedin", 1, 1),
    ]
    assert report["timings"]["sent_to_first_person_click_hours"] == 18.0
    assert [row["application_id"] for row in report["follow_up"]] == [str(world["apps"][2].pk)]


def test_the_page_reads_the_summaries_not_the_clicks(world: dict[str, Any]) -> None:
    roll_up()
    # Changed behind the run's back: the report follows the stored rows.
    OutcomeValue.objects.filter(
        stage="interview", dimension="link_function", value="Resume"
    ).update(linear=0.5)
    found = outcomes.outcomes_report(PERIOD)["attribution"]["link_function"]
    assert {row["link_function"]: row["credit"] for row in found} == {
        "LinkedIn": 0.6667,
        "Resume": 0.5,
    }


def test_a_person_click_after_the_run_is_read_raw_at_once(world: dict[str, Any]) -> None:
    roll_up()
    app3 = world["apps"][2]
    portfolio = link(app3, "Portfolio")
    click(portfolio, timezone.now())
    assert read_raw() == {app3.pk}
    summarised, raw = both_ways()
    assert summarised == raw
    assert summarised["funnel"][1]["count"] == 3
    assert summarised["follow_up"] == []


def test_a_status_change_after_the_run_is_read_raw_then_summarised_again(
    world: dict[str, Any],
) -> None:
    roll_up()
    app2 = world["apps"][1]
    services.change_application_status(
        application_id=app2.pk, status="interviewed", changed_at=world["t0"] + 5 * DAY
    )
    assert read_raw() == {app2.pk}
    report = outcomes.outcomes_report(PERIOD, model="first_touch")
    assert report["funnel"][3] == {"stage": "interview", "count": 2, "rate": 0.5}
    assert {r["link_function"]: r["credit"] for r in report["attribution"]["link_function"]} == {
        "GitHub": 1.0,
        "LinkedIn": 1.0,
    }
    roll_up()
    assert read_raw() == set()
    assert both_ways(model="first_touch") == (report, report)


def test_an_edited_link_is_read_raw_until_the_next_run(world: dict[str, Any]) -> None:
    roll_up()
    _linkedin, resume, _github = world["links"]
    services.update_tracked_link(tracking_id=resume.tracking_id, link_function="Portfolio")
    assert read_raw() == {world["apps"][0].pk}
    functions = [r["link_function"] for r in outcomes.outcomes_report(PERIOD)["by_link_function"]]
    assert functions == ["GitHub", "LinkedIn", "Portfolio"]
    roll_up()
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw
    assert [r["link_function"] for r in raw["by_link_function"]] == functions


def test_a_renamed_job_is_read_raw_until_the_next_run(world: dict[str, Any]) -> None:
    roll_up()
    app1 = world["apps"][0]
    services.update_job(job_id=app1.job_id, title="Platform Engineer")
    assert read_raw() == {app1.pk}
    jobs = [r["job"] for r in outcomes.outcomes_report(PERIOD)["attribution"]["job"]]
    assert jobs == ["Platform Engineer"]
    roll_up()
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw
    assert [r["job"] for r in raw["attribution"]["job"]] == jobs


def test_a_new_sending_moves_the_timings_and_follow_ups_at_once(world: dict[str, Any]) -> None:
    roll_up()
    app1, _app2, app3, _app4 = world["apps"]
    services.update_application(application_id=app1.pk, submitted_at=world["t0"] - DAY)
    services.update_application(application_id=app3.pk, status="withdrawn")
    assert read_raw() == {app1.pk, app3.pk}
    summarised, raw = both_ways()
    assert summarised == raw
    # Sent a day earlier: 48 hours to its first person click, and app2's 12 hours.
    assert raw["timings"]["sent_to_first_person_click_hours"] == 30.0
    assert raw["follow_up"] == []


def test_a_deleted_application_leaves_the_figures_at_once(world: dict[str, Any]) -> None:
    roll_up()
    app1 = world["apps"][0]
    services.delete_application(application_id=app1.pk)
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw
    assert summarised["funnel"][0]["count"] == 3
    assert summarised["attribution"]["link_function"] == []


def test_removed_clicks_leave_the_summaries(world: dict[str, Any]) -> None:
    roll_up()
    linkedin, _resume, _github = world["links"]
    # The first LinkedIn click (t0 + 1 day) goes: the purge announces it, the rollups follow.
    services.purge_clicks(older_than=world["t0"] + 2 * DAY)
    assert read_raw() == set()
    summarised, raw = both_ways(model="first_touch")
    assert summarised == raw
    assert {r["link_function"]: r["credit"] for r in raw["attribution"]["link_function"]} == {
        "Resume": 1.0
    }
    assert linkedin.tracking_id not in {r["link"] for r in raw["attribution"]["link"]}


def test_reclassified_clicks_move_out_of_the_summaries(world: dict[str, Any]) -> None:
    roll_up()
    _linkedin, resume, _github = world["links"]
    person = LinkClick.objects.filter(tracking=resume, classification="human")
    span = signals.time_span(person)
    changed = person.update(classification="scanner")
    signals.announce(signals.clicks_reclassified, count=changed, span=span)
    assert read_raw() == set()
    summarised, raw = both_ways(model="linear")
    assert summarised == raw
    assert {r["link_function"]: r["credit"] for r in raw["attribution"]["link_function"]} == {
        "LinkedIn": 1.0
    }


def random_history(rng: random.Random) -> list[list[Any]]:
    """Twelve applications with random clicks and statuses; each application's links."""
    now = timezone.now()
    made = []
    job = services.create_job(title="Platform Engineer", company_name="Initech")
    sources = ["email", "linkedin", "direct", "dashboard", "test"]
    classes = ["human", "human", "human", None, "scanner", "preview", "bot"]
    for _ in range(12):
        sent = now - dt.timedelta(days=rng.uniform(5, 28))
        app = services.create_application(job_id=job.pk, status="submitted", submitted_at=sent)
        links = [link(app, f) for f in rng.sample(["LinkedIn", "Resume", "GitHub", "Calendly"], 2)]
        made.append(links)
        for _ in range(rng.randrange(0, 15)):
            when = sent + dt.timedelta(seconds=rng.uniform(-86400, (now - sent).total_seconds()))
            tags = {"utm_campaign": rng.choice(["a", "b"])} if rng.random() < 0.3 else None
            click(
                rng.choice(links),
                min(when, now - dt.timedelta(hours=1)),
                click_source=rng.choice(sources),
                classification=rng.choice(classes),
                metadata=tags,
            )
        statuses = ("rejected", "interviewed", "offered")[: rng.randrange(0, 4)]
        shares = sorted(rng.uniform(0.2, 0.95) for _ in statuses)
        for status, share in zip(statuses, shares, strict=True):
            services.change_application_status(
                application_id=app.pk, status=status, changed_at=sent + (now - sent) * share
            )
    return made


def test_a_random_history_agrees_both_ways_for_every_model_and_stage() -> None:
    random_history(random.Random(16))
    roll_up()
    assert read_raw() == set()
    for stage in CREDITED_STAGES:
        for model in MODELS:
            summarised = outcomes.outcomes_report(PERIOD, model=model, stage=stage)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(outcome_summaries, "MAX_RAW", -1)  # everything raw
                raw = outcomes.outcomes_report(PERIOD, model=model, stage=stage)
            assert summarised == raw, (stage, model)
    assert sum(row["count"] for row in raw["funnel"][2:]) > 0


@pytest.mark.parametrize("model", MODELS)
def test_the_top_rows_of_each_attribution_table_are_those_of_the_whole_table(model: str) -> None:
    """The page asks for each table's first rows only: the database then sums the summaries'
    credit of the values that can be among them (those of the applications read raw first). The
    rows and the count of all rows equal the whole report's, whether the raw applications' credit
    moves a value up or not."""
    rng = random.Random(19)
    made = random_history(rng)
    roll_up()
    later = timezone.now()  # after the instant the run reaches, whatever the time of day
    for links in rng.sample(made, 4):  # clicked since the run: read raw, added to the summaries
        for _ in range(rng.randrange(1, 4)):
            click(rng.choice(links), later, click_source=rng.choice(["email", "linkedin"]))
    raw_now = read_raw()
    assert 0 < len(raw_now) < len(made)
    for stage in CREDITED_STAGES:
        whole = outcomes.outcomes_report(PERIOD, model=model, stage=stage)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(outcome_summaries, "MAX_RAW", -1)  # everything raw
            assert outcomes.outcomes_report(PERIOD, model=model, stage=stage) == whole
        sizes = {dimension: len(rows) for dimension, rows in whole["attribution"].items()}
        assert whole["attribution_totals"] == sizes
        for limit in range(1, max(sizes.values()) + 2):
            top = outcomes.outcomes_report(PERIOD, model=model, stage=stage, attribution_rows=limit)
            assert top["attribution_totals"] == sizes, (stage, limit)
            assert top["attribution"] == {
                dimension: rows[:limit] for dimension, rows in whole["attribution"].items()
            }, (stage, limit)
            assert {k: v for k, v in top.items() if k != "attribution"} == {
                k: v for k, v in whole.items() if k != "attribution"
            }


# --- Which applications a run summarises again ----------------------------------------------


@pytest.fixture
def yesterday(world: dict[str, Any]) -> dict[str, Any]:
    """The fixture plus person clicks yesterday, a day every run rolls up again, on app1's
    LinkedIn and app2's GitHub; rolled up once (a full run)."""
    linkedin, _resume, github = world["links"]
    at = (timezone.now() - DAY).replace(microsecond=0)
    click(linkedin, at)
    click(github, at + dt.timedelta(minutes=5), click_source="linkedin")
    assert rollups.run().full_rebuild
    return {**world, "at": at}


def test_a_run_with_no_changed_click_summarises_no_application(
    yesterday: dict[str, Any],
) -> None:
    assert rollups.run().outcome_applications == 0
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw


def test_a_new_person_click_summarises_its_application_alone(yesterday: dict[str, Any]) -> None:
    app1, app2 = yesterday["apps"][:2]
    _linkedin, resume, github = yesterday["links"]
    click(resume, yesterday["at"] + dt.timedelta(hours=1), click_source="direct")
    click(github, yesterday["at"] + dt.timedelta(hours=1), classification="scanner")
    assert rollups.run().outcome_applications == 1
    assert OutcomeSummary.objects.get(application_id=app1.pk).built_at > (
        OutcomeSummary.objects.get(application_id=app2.pk).built_at
    )
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw
    assert "direct" in {row["click_source"] for row in raw["by_click_source"]}


@pytest.mark.parametrize("change", ["deleted", "judged a bot"])
def test_a_person_click_gone_from_a_refreshed_day_summarises_its_application_again(
    yesterday: dict[str, Any], change: str
) -> None:
    # Behind the signals' back (plain SQL, a queryset): the run itself must notice.
    github = yesterday["links"][2]
    clicks = LinkClick.objects.filter(tracking=github, clicked_at__gte=yesterday["at"])
    assert clicks.count() == 1
    if change == "deleted":
        clicks.delete()
    else:
        clicks.update(classification="bot")
    assert rollups.run().outcome_applications == 1
    assert read_raw() == set()
    summarised, raw = both_ways()
    assert summarised == raw
    # app2's other person click came by e-mail: people from LinkedIn opened app1 alone now.
    opened = {row["click_source"]: row["opened"] for row in raw["by_click_source"]}
    assert opened == {"email": 2, "linkedin": 1}


def test_the_click_days_hold_the_person_clicks_and_their_ids(yesterday: dict[str, Any]) -> None:
    app1 = yesterday["apps"][0]
    # Three person clicks after its sending and yesterday's; not the scanner's nor its owner's.
    person = [
        click.pk.hex
        for click in LinkClick.objects.filter(tracking__application=app1, classification="human")
        if click.click_source != "dashboard"
    ]
    assert len(person) == 4
    rows = OutcomeClickDay.objects.filter(application_id=app1.pk)
    assert len(rows) == 4  # one a day
    assert sum(row.person_clicks for row in rows) == 4
    assert sum(row.id_sum_a for row in rows) == sum(int(hex_id[18:25], 16) for hex_id in person)
    assert sum(row.id_sum_b for row in rows) == sum(int(hex_id[25:], 16) for hex_id in person)


def test_a_deleted_application_leaves_no_click_days(yesterday: dict[str, Any]) -> None:
    app2 = yesterday["apps"][1]
    assert OutcomeClickDay.objects.filter(application_id=app2.pk).count() == 2
    services.delete_application(application_id=app2.pk)
    rollups.run()
    assert not OutcomeClickDay.objects.filter(application_id=app2.pk).exists()
    assert OutcomeClickDay.objects.exists()
