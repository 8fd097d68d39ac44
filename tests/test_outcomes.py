"""Outcomes: funnel, rates, timings, follow-ups and the five attribution models, by hand, on the
fixture of :mod:`tests.outcome_fixture` (read its docstring for the timeline)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from analytics import outcomes
from analytics.selection import Period
from tests.factories import key_client, make_key
from tests.outcome_fixture import DAY, world

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name


def functions(report: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    return {row["link_function"]: row["credit"] for row in report["link_function"]}


@override_settings(OUTCOME_HALF_LIFE_DAYS=2)
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {"LinkedIn": 1.0}),
        ("last_touch", {"LinkedIn": 1.0}),
        ("linear", {"LinkedIn": 0.6667, "Resume": 0.3333}),
        # Ages 6, 4 and 2 days with a half-life of 2: weights 1/8, 1/4, 1/2 of 7/8 in all.
        ("time_decay", {"LinkedIn": 0.7143, "Resume": 0.2857}),
        ("position_based", {"LinkedIn": 0.8, "Resume": 0.2}),
    ],
)
def test_each_model_shares_the_interview_among_the_person_clicks_before_it(
    world: dict[str, Any], model: str, expected: dict[str, float]
) -> None:
    found = outcomes.attribution(outcomes.application_outcomes(Period.for_days(30)), model)
    assert functions(found) == expected


def test_credit_rolls_up_by_every_dimension(world: dict[str, Any]) -> None:
    linkedin, resume, _github = world["links"]
    found = outcomes.attribution(outcomes.application_outcomes(Period.for_days(30)), "linear")
    assert found["click_source"] == [
        {"click_source": "email", "credit": 0.6667, "conversions": 1},
        {"click_source": "linkedin", "credit": 0.3333, "conversions": 1},
    ]
    assert {r["link"]: r["credit"] for r in found["link"]} == {
        linkedin.tracking_id: 0.6667,
        resume.tracking_id: 0.3333,
    }
    assert found["company"] == [{"company": "Acme", "credit": 1.0, "conversions": 1}]
    assert found["job"] == [{"job": "Data Engineer", "credit": 1.0, "conversions": 1}]
    # Only the first click carried a campaign; the others credit no campaign at all.
    assert found["utm_campaign"] == [{"utm_campaign": "spring", "credit": 0.3333, "conversions": 1}]
    assert found["utm_source"] == []


def test_the_responded_stage_credits_both_responses(world: dict[str, Any]) -> None:
    found = outcomes.attribution(
        outcomes.application_outcomes(Period.for_days(30)), "last_touch", stage="responded"
    )
    assert {r["company"]: r["credit"] for r in found["company"]} == {"Acme": 1.0, "Globex": 1.0}
    assert functions(found) == {"LinkedIn": 1.0, "GitHub": 1.0}


def test_clicks_older_than_the_lookback_window_earn_nothing(world: dict[str, Any]) -> None:
    found = outcomes.attribution(
        outcomes.application_outcomes(Period.for_days(30)), "linear", lookback=5 * DAY
    )
    assert functions(found) == {"LinkedIn": 0.5, "Resume": 0.5}


def test_the_funnel_counts_each_stage_of_the_period(world: dict[str, Any]) -> None:
    report = outcomes.outcomes_report(Period.for_days(30))
    assert report["funnel"] == [
        {"stage": "applications", "count": 4, "rate": 1.0},
        {"stage": "opened", "count": 2, "rate": 0.5},
        {"stage": "responded", "count": 2, "rate": 0.5},
        {"stage": "interview", "count": 1, "rate": 0.25},
        {"stage": "offer", "count": 0, "rate": 0.0},
    ]
    # Sent in the last 5 days: app4 only.
    assert outcomes.outcomes_report(Period.for_days(5))["funnel"][0]["count"] == 1


def test_opened_vs_interview_carries_rates_and_marks_small_samples(world: dict[str, Any]) -> None:
    report = outcomes.outcomes_report(Period.for_days(30))
    assert report["by_click_source"] == [
        {"click_source": "email", "opened": 2, "interview": 1, "rate": 0.5, "small_sample": True},
        {"click_source": "linkedin", "opened": 1, "interview": 1, "rate": 1.0,
         "small_sample": True},
    ]  # fmt: skip
    assert [
        (r["link_function"], r["opened"], r["interview"]) for r in report["by_link_function"]
    ] == [
        ("GitHub", 1, 0),
        ("LinkedIn", 1, 1),
        ("Resume", 1, 1),
    ]


def test_median_timings_and_follow_up_candidates(world: dict[str, Any]) -> None:
    report = outcomes.outcomes_report(Period.for_days(30))
    # Sending to first person click: 24 h (app1) and 12 h (app2); first click to response:
    # 144 h (app1, +1 to +7) and 36 h (app2, +2.5 to +4).
    assert report["timings"] == {
        "sent_to_first_person_click_hours": 18.0,
        "sent_to_first_person_click_sample": 2,
        "first_person_click_to_response_hours": 90.0,
        "first_person_click_to_response_sample": 2,
    }
    assert [row["application_id"] for row in report["follow_up"]] == [str(world["apps"][2].pk)]
    assert report["follow_up"][0]["days_waiting"] == 19


def test_position_based_weights_for_one_two_and_four_touches() -> None:
    half_life = 7 * DAY
    assert outcomes.weights("position_based", [DAY], half_life=half_life) == [1.0]
    assert outcomes.weights("position_based", [DAY] * 2, half_life=half_life) == [0.5, 0.5]
    four = outcomes.weights("position_based", [DAY] * 4, half_life=half_life)
    assert four == pytest.approx([0.4, 0.1, 0.1, 0.4])


# --- API ------------------------------------------------------------------------------------


def test_the_api_reports_outcomes_with_the_chosen_model(world: dict[str, Any]) -> None:
    client = key_client(make_key(["analytics:read"]))
    body = client.get("/api/link-tracking/outcomes?days=30&model=position_based").json()
    assert body["model"] == "position_based"
    assert body["stage"] == "interview"
    assert [(row["stage"], row["count"]) for row in body["funnel"]] == [
        ("applications", 4),
        ("opened", 2),
        ("responded", 2),
        ("interview", 1),
        ("offer", 0),
    ]
    assert body["attribution"]["link_function"] == [
        {"link_function": "LinkedIn", "credit": 0.8, "conversions": 1},
        {"link_function": "Resume", "credit": 0.2, "conversions": 1},
    ]
    responded = client.get("/api/link-tracking/outcomes?stage=responded&model=first_touch").json()
    assert {r["company"]: r["credit"] for r in responded["attribution"]["company"]} == {
        "Acme": 1.0,
        "Globex": 1.0,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [("days=0", "days"), ("days=99999", "days"), ("days=x", "days"), ("model=u_shaped", "model")],
)
def test_the_api_names_a_bad_parameter(query: str, field: str) -> None:
    client = key_client(make_key(["analytics:read"]))
    response = client.get(f"/api/link-tracking/outcomes?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
