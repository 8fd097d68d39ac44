"""What `make run` sets up for the commands a user types next: the redirect base URL follows the
port it serves on, and `manage.py` finds the secret key it keeps."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Stand-ins for the venv's python and gunicorn: they print what they were started with.
FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $* base=${TRACKING_BASE_URL} key=${SECRET_KEY:+set}"
"""


def make_run(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """Run the real `make run` recipe with a stand-in venv, so nothing is installed or served."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "gunicorn"):
        path = venv / "bin" / tool
        path.write_text(FAKE_TOOL)
        path.chmod(0o755)
    (venv / ".runtime-installed").touch()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LINKTRACK_VAR_DIR": str(tmp_path / "var"),
        **env_vars,
    }
    return subprocess.run(
        ["make", "--no-print-directory", "run", f"VENV={venv}", f"BIN={venv}/bin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manage_check(var_dir: Path) -> subprocess.CompletedProcess[str]:
    """`manage.py check` as a user types it: no SECRET_KEY, no DEBUG in the environment."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "linktrack.settings",
        "LINKTRACK_VAR_DIR": str(var_dir),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@needs_make
def test_make_run_hands_out_redirect_urls_on_the_port_it_serves(tmp_path: Path) -> None:
    result = make_run(tmp_path, "PORT=8011")
    assert result.returncode == 0, result.stderr
    gunicorn = [line for line in result.stdout.splitlines() if line.startswith("gunicorn")]
    assert gunicorn, result.stdout
    assert "--bind 127.0.0.1:8011" in gunicorn[0]
    assert "base=http://127.0.0.1:8011" in gunicorn[0]
    # The migrations and the demo data see the same base URL as the server.
    commands = [line for line in result.stdout.splitlines() if line.startswith("python")]
    setup = [line for line in commands if "db_worker" not in line]
    assert len(setup) == 4, result.stdout  # migrate, bootstrap_admin, load_demo, collectstatic
    assert all("base=http://127.0.0.1:8011" in line for line in commands)
    # The background worker (webhook deliveries) is started beside the server (the stand-in
    # server exits at once, and the worker with it, maybe before it printed anything).
    assert "starting the background worker" in result.stdout


@needs_make
def test_make_run_keeps_a_tracking_base_url_the_user_set(tmp_path: Path) -> None:
    result = make_run(tmp_path, "PORT=8011", TRACKING_BASE_URL="https://links.example.com")
    assert result.returncode == 0, result.stderr
    bases = {
        line.split("base=")[1].split()[0] for line in result.stdout.splitlines() if "base=" in line
    }
    assert bases == {"https://links.example.com"}


@needs_make
def test_make_run_creates_a_secret_key_only_its_owner_can_read(tmp_path: Path) -> None:
    result = make_run(tmp_path)
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 50
    assert "key=set" in result.stdout


def test_manage_py_finds_the_secret_key_make_run_keeps(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text("a-long-random-key-as-make-run-writes-it-0123456789abcdefghij\n")
    key_file.chmod(0o600)
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_manage_py_refuses_a_secret_key_file_others_can_read(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text("a-long-random-key-as-make-run-writes-it-0123456789abcdefghij\n")
    key_file.chmod(0o644)
    result = manage_check(tmp_path)
    assert result.returncode != 0
    assert f"chmod 600 {key_file}" in result.stderr


def test_manage_py_without_a_key_says_where_make_run_keeps_one(tmp_path: Path) -> None:
    result = manage_check(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    assert str(tmp_path / "secret_key") in result.stderr


def test_collectstatic_as_make_run_runs_it_finds_every_file_the_static_files_name(
    tmp_path: Path,
) -> None:
    """`make run` collects with the production storage (hashed names, compressed copies), which
    fails on a reference to a missing file: a vendored library's source map, a stylesheet's
    image. The suite itself serves from the source folders, so only this run would notice."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "linktrack.settings",
        "LINKTRACK_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "collectstatic-test",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "var" / "staticfiles" / "staticfiles.json").exists()
