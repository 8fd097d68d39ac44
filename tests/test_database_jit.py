"""PostgreSQL connections run without JIT compiling unless ``DB_JIT=server`` says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def product_settings(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``linktrack.settings`` loaded by a fresh process with ``extra`` in its environment; it
    prints the database's OPTIONS."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.pop("DB_JIT", None)
    script = (
        "import json, linktrack.settings as s; "
        "print(json.dumps(s.DATABASES['default']['OPTIONS'], default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "SECRET_KEY": "x", **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def database_options(extra: dict[str, str]) -> dict[str, Any]:
    result = product_settings({"DATABASE_URL": "postgres://someone@db.example.net/db", **extra})
    assert result.returncode == 0, result.stderr
    options: dict[str, Any] = json.loads(result.stdout)
    return options


def test_postgresql_connections_ask_for_no_jit_by_default() -> None:
    assert database_options({})["options"] == "-c jit=off"


def test_db_jit_server_leaves_the_servers_setting() -> None:
    assert "options" not in database_options({"DB_JIT": "server"})


def test_options_given_in_the_database_url_win() -> None:
    url = "postgres://someone@db.example.net/db?options=-c%20work_mem%3D64MB"
    assert database_options({"DATABASE_URL": url})["options"] == "-c work_mem=64MB"


def test_a_bad_db_jit_stops_the_start_up() -> None:
    result = product_settings({"DATABASE_URL": "postgres://x@h/db", "DB_JIT": "maybe"})
    assert result.returncode != 0
    assert "DB_JIT must be one of off, server, got 'maybe'" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_connection_runs_without_jit() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
