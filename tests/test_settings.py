"""The settings module: the suite's pinned environment, the documented variables, bad values."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from linktrack.rates import parse_rate
from linktrack.settings import env_rate
from tests.settings import PINNED_MARK, env_names_read_by_settings

ROOT = Path(__file__).resolve().parent.parent

# What an operator's shell might hold while they run the suite.
OPERATOR_ENV = {
    "DJANGO_SETTINGS_MODULE": "linktrack.settings",
    "SECRET_KEY": "operator-key",
    "DEBUG": "true",
    "TRACKING_BASE_URL": "https://links.example.org",
    "ALLOWED_HOSTS": "links.example.org",
    "TIME_ZONE": "Europe/Berlin",
    "CLICK_MODE": "buffered",
    "RESPECT_DNT": "false",
    "CLICK_RATE_LIMIT": "2/m",
    "CLICK_STREAM_KEY": "operator:clicks",
    "IP_RETENTION_DAYS": "7",
    "SECURE_SSL_REDIRECT": "true",
}
SHOWN = ["TRACKING_BASE_URL", "ALLOWED_HOSTS", "TIME_ZONE", "DEBUG", "RESPECT_DNT"]
SHOWN += ["CLICK_RATE_LIMIT", "CLICK_STREAM_KEY", "IP_RETENTION_DAYS", "SECURE_SSL_REDIRECT"]
SHOWN += ["DATABASES", "REDIS_URL"]


def settings_in_a_child(env: dict[str, str]) -> dict[str, Any]:
    """The test settings as a fresh process started with ``env`` sees them."""
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {SHOWN!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_the_suite_ignores_an_operators_production_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k != PINNED_MARK} | OPERATOR_ENV
    seen = settings_in_a_child(env)
    assert seen["TRACKING_BASE_URL"] == "https://links.example.com"
    assert "testserver" in seen["ALLOWED_HOSTS"]
    assert seen["TIME_ZONE"] == "UTC"
    assert seen["DEBUG"] is False
    assert seen["RESPECT_DNT"] is True
    assert seen["CLICK_RATE_LIMIT"] == "1000/m"
    assert seen["CLICK_STREAM_KEY"] == "linktrack:clicks"
    assert seen["IP_RETENTION_DAYS"] == 90
    assert seen["SECURE_SSL_REDIRECT"] is False


def test_the_suite_keeps_the_callers_database_and_redis() -> None:
    env = {k: v for k, v in os.environ.items() if k != PINNED_MARK}
    env["DATABASE_URL"] = "postgres://someone@db.example.net:5433/elsewhere"
    env["REDIS_URL"] = "redis://cache.example.net:6380/4"
    seen = settings_in_a_child(env)
    assert seen["DATABASES"]["default"]["HOST"] == "db.example.net"
    assert seen["DATABASES"]["default"]["NAME"] == "elsewhere"
    assert seen["REDIS_URL"] == "redis://cache.example.net:6380/4"


def test_a_process_started_by_a_test_keeps_what_the_test_set() -> None:
    # The suite's own environment is pinned already; a writer started with a test's stream key
    # must see that key, not the pinned default.
    assert os.environ.get(PINNED_MARK) == "1"
    seen = settings_in_a_child({**os.environ, "CLICK_STREAM_KEY": "a-test:clicks"})
    assert seen["CLICK_STREAM_KEY"] == "a-test:clicks"


def test_the_settings_reader_finds_every_env_helper_call() -> None:
    names = env_names_read_by_settings()
    # One of each helper: str, bool, int, list, url, choice.
    for name in ["SECRET_KEY", "DEBUG", "LINK_CACHE_SECONDS", "TRUSTED_PROXIES", "REDIS_URL"]:
        assert name in names
    assert "CLICK_MODE" in names
    assert len(names) == len(set(names))


# --- Rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [("1000/m", (1000, 60)), ("100/5m", (100, 300)), ("3/s", (3, 1)), (" 2/H ", (2, 3600))],
)
def test_a_rate_reads_as_a_count_per_seconds(text: str, rate: tuple[int, int]) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    "text", ["1000 per minute", "1000/", "1000/5", "1000/w", "0/m", "5/0m", ""]
)
def test_a_malformed_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_rate(text)


@pytest.mark.parametrize("name", ["CLICK_RATE_LIMIT", "ANALYTICS_RATE_LIMIT"])
def test_a_rate_setting_is_checked_and_names_its_variable(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "1000 per minute")
    with pytest.raises(
        ImproperlyConfigured, match=f"^{name} is not a valid rate limit.*per minute"
    ):
        env_rate(name, "1/m")
    monkeypatch.setenv(name, "20/5m")
    assert env_rate(name, "1/m") == "20/5m"
    monkeypatch.delenv(name)
    assert env_rate(name, "1/m") == "1/m"


def test_a_bad_rate_limit_stops_the_start_up() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", "import linktrack.settings"],
        cwd=ROOT,
        env={**env, "SECRET_KEY": "x", "CLICK_RATE_LIMIT": "1000 per minute"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "CLICK_RATE_LIMIT is not a valid rate limit" in result.stderr


# --- Every variable is documented -----------------------------------------------------------


def readme_configuration_table() -> set[str]:
    """The variable names in the first column of the README's configuration table (the table
    whose header starts with ``| Variable |``)."""
    names: set[str] = set()
    in_table = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| Variable |"):
            in_table = True
        elif in_table and line.startswith("|"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
        elif in_table:
            break
    return names


def env_example_names() -> set[str]:
    """Names set in ``.env.example``, commented out or not (``# NAME=value``)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_every_setting_read_from_the_environment_is_in_the_readme_table() -> None:
    table = readme_configuration_table()
    assert table, "no configuration table (a header starting with '| Variable |') in README.md"
    assert [n for n in env_names_read_by_settings() if n not in table] == []


def test_every_setting_read_from_the_environment_is_in_env_example() -> None:
    example = env_example_names()
    assert [n for n in env_names_read_by_settings() if n not in example] == []
