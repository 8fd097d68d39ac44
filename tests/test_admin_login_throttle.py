"""The admin sign-in: throttled per client address and per username, the form itself never."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_rate_window")]

LOGIN = "/admin/login/"


@pytest.fixture
def fixed_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every request of a test in one rate-limit window (no roll-over half-way through)."""
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 1_800_000_000)


@pytest.fixture
def admin_user() -> User:
    return make_user("root", superuser=True, password="correct horse")


def attempt(username: str, password: str = "wrong", ip: str = "203.0.113.7") -> Any:  # noqa: S107
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_attempts_past_the_per_address_rate_answer_429_with_retry_after(settings: Any) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "3/10m"
    for n in range(3):
        assert attempt(f"guess{n}").status_code == 200  # the form again, with its error
    response = attempt("guess3")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many sign-in attempts" in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    # Another address is not affected.
    assert attempt("guess4", ip="198.51.100.24").status_code == 200


def test_a_throttled_address_cannot_sign_in_even_with_the_right_password(
    settings: Any, admin_user: Any
) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "2/10m"
    attempt("root")
    attempt("root")
    response = attempt("root", password="correct horse")
    assert response.status_code == 429
    assert "_auth_user_id" not in response.wsgi_request.session


def test_attempts_on_one_username_from_many_addresses_are_throttled(settings: Any) -> None:
    settings.ADMIN_LOGIN_RATE_PER_USERNAME = "3/10m"
    for n in range(3):
        assert attempt("root", ip=f"203.0.113.{n + 1}").status_code == 200
    # Changing case or padding the name is the same account.
    assert attempt(" ROOT ", ip="203.0.113.50").status_code == 429
    assert attempt("someone-else", ip="203.0.113.51").status_code == 200


def test_ipv6_addresses_of_one_64_share_one_budget(settings: Any) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "3/10m"
    for n in range(3):
        assert attempt(f"guess{n}", ip=f"2001:db8:1:2::{n + 1}").status_code == 200
    assert attempt("guess9", ip="2001:db8:1:2:ffff::9").status_code == 429
    assert attempt("guess9", ip="2001:db8:1:3::1").status_code == 200


def test_showing_the_form_is_never_throttled(settings: Any) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "1/10m"
    attempt("guess")
    for _ in range(5):
        assert Client().get(LOGIN, REMOTE_ADDR="203.0.113.7").status_code == 200


def test_within_the_budget_the_right_password_signs_in(admin_user: Any) -> None:
    client = Client()
    response = client.post(LOGIN, {"username": "root", "password": "correct horse"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("cache_down")
def test_a_cache_outage_skips_the_limit_rather_than_locking_admins_out(
    settings: Any, admin_user: Any
) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "1/10m"
    attempt("root")
    assert attempt("root", password="correct horse").status_code == 302


def test_the_redirect_does_not_count_against_the_login_budget(settings: Any) -> None:
    settings.ADMIN_LOGIN_RATE_PER_IP = "1/10m"
    for _ in range(3):
        Client().get("/track/unknown-link", REMOTE_ADDR="203.0.113.7")
    assert attempt("guess").status_code == 200


@pytest.mark.parametrize("rate", ["ten/m", "5/0m", "5", "0/m", "5/10x"])
def test_a_malformed_login_rate_stops_the_start(rate: str) -> None:
    env = {**os.environ, "SECRET_KEY": "x", "ADMIN_LOGIN_RATE_PER_USERNAME": rate}
    result = subprocess.run(
        [sys.executable, "-c", "import linktrack.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ADMIN_LOGIN_RATE_PER_USERNAME is not a valid rate limit" in result.stderr
