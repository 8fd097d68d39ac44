"""`manage.py check --deploy` is clean under the documented production settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tracking import checks

ROOT = Path(__file__).resolve().parent.parent

# The production variables the README documents (values as an operator would set them).
PRODUCTION = {
    "SECRET_KEY": "k3v9Q2pX7rLm1NwZ8sT4yB6uC0dF5gH2jK9lM3nP7qR1sV4wX8zA6bD0eG2hJ5",
    "DEBUG": "false",
    "TRACKING_BASE_URL": "https://links.example.com",
    "ALLOWED_HOSTS": "links.example.com",
    "DATABASE_URL": "postgres://linktrack:secret@db.internal:5432/linktrack",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "TRUSTED_PROXIES": "10.0.0.0/8",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "GEOIP_CITY_PATH": "/var/lib/geoip/GeoLite2-City.mmdb",
    "GEOIP_ASN_PATH": "/var/lib/geoip/GeoLite2-ASN.mmdb",
}


def check_deploy(tmp_path: Path, **changes: str | None) -> subprocess.CompletedProcess[str]:
    """Run ``check --deploy`` in a fresh process with the production settings module."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    env.update(PRODUCTION)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["DJANGO_SETTINGS_MODULE"] = "linktrack.settings"
    env["LINKTRACK_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path: Path) -> None:
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_turning_the_ssl_redirect_off_is_reported(
    tmp_path: Path,
) -> None:
    result = check_deploy(tmp_path, SECURE_SSL_REDIRECT=None)
    assert result.returncode != 0
    assert "security.W008" in result.stderr


@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        ({"TRACKING_BASE_URL": "http://links.example.com"}, "linktrack.W002"),
        ({"DATABASE_URL": None}, "linktrack.W004"),
        ({"REDIS_URL": None}, "linktrack.W005"),
        ({"SECURE_HSTS_SECONDS": None}, "security.W004"),
        ({"GEOIP_CITY_PATH": None, "GEOIP_ASN_PATH": None}, "linktrack.W006"),
    ],
    ids=["http-base-url", "sqlite", "no-redis", "no-hsts", "no-geodata"],
)
def test_a_misconfiguration_is_reported(
    tmp_path: Path, changes: dict[str, str | None], warning: str
) -> None:
    result = check_deploy(tmp_path, **changes)
    assert result.returncode != 0
    assert warning in result.stderr


# The project's own checks, called directly (no subprocess needed).


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://127.1:8000",
        "http://0x7f.1/",
        "http://[::1]:8000",
        "http://[::ffff:7f00:1]/",
        "http://10.0.0.5/",
        "http://links.internal/",
        "http://linkserver/",
    ],
)
def test_a_local_tracking_base_url_is_reported(base_url: str) -> None:
    with override_settings(TRACKING_BASE_URL=base_url, ALLOWED_HOSTS=["*"]):
        assert [w.id for w in checks.check_tracking_base_url(None)] == ["linktrack.W001"]


@override_settings(TRACKING_BASE_URL="https://links.example.com", ALLOWED_HOSTS=["*"])
def test_a_public_https_tracking_base_url_passes() -> None:
    assert checks.check_tracking_base_url(None) == []


@override_settings(TRACKING_BASE_URL="https://links.example.com", ALLOWED_HOSTS=["other.example"])
def test_a_tracking_host_missing_from_allowed_hosts_is_reported() -> None:
    assert [w.id for w in checks.check_tracking_base_url(None)] == ["linktrack.W003"]


@override_settings(REDIS_URL="")
def test_a_missing_shared_cache_is_reported() -> None:
    assert [w.id for w in checks.check_shared_cache(None)] == ["linktrack.W005"]


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_a_configured_shared_cache_passes() -> None:
    assert checks.check_shared_cache(None) == []


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--batch-size=0", "--batch-size must be at least 1"),
        ("--batch-size=-5", "--batch-size must be at least 1"),
        ("--batch-size=100000000000", "--batch-size must be at least 1"),
        ("--claim-idle-ms=0", "--claim-idle-ms must be at least 1"),
    ],
)
def test_the_click_writer_refuses_nonsense_sizes(argument: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("run_click_writer", argument, "--once")
