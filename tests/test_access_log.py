"""gunicorn's access log under ``make run`` keeps the privacy rules of the click table.

The main test starts a real gunicorn with ``linktrack/gunicorn_conf.py`` on a free loopback port,
sends requests with and without Do-Not-Track, and reads the lines it wrote.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linktrack.gunicorn_conf import query_keys, scrub_atoms
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "alice@example.com"
USER_AGENT = "AliceBrowser/7.1 (unique-agent-marker)"
REFERRER = "https://mail.example.com/inbox/unique-referrer-marker"


def run_python(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


class Server:
    def __init__(self, port: int, log: Path, tracking_id: str) -> None:
        self.port = port
        self.log = log
        self.tracking_id = tracking_id

    def get(self, path: str, headers: dict[str, str]) -> int:
        # http.client does not follow the redirect (the destination is not on this machine).
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def line_for(self, marker: str) -> str:
        """The access-log line of the request whose query has the key ``marker``."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if marker in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no access-log line for {marker}:\n{self.log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("access-log")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linktrack.settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "LINKTRACK_VAR_DIR": str(workdir),
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRACKING_BASE_URL": f"http://127.0.0.1:{port}",
        "CLICK_MODE": "direct",
        "RESPECT_DNT": "true",
    }
    env.pop("REDIS_URL", None)
    run_python(env, "manage.py", "migrate", "--noinput", "-v0")
    tracking_id = run_python(
        env,
        "-c",
        "import django; django.setup(); from tracking import services; "
        "print(services.create_tracked_link(original_url='https://linkedin.com/in/steve-glen', "
        "link_function='LinkedIn', link_type='profile')['tracking_id'])",
    ).strip()
    log = workdir / "stdout.log"
    with log.open("wb") as stdout, (workdir / "stderr.log").open("wb") as stderr:
        # The command line of `make run`: the access log goes to stdout, as configured.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:linktrack.gunicorn_conf",
                "linktrack.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (workdir / "stderr.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
                time.sleep(0.2)
        yield Server(port, log, tracking_id)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def visit(server: Server, marker: str, **extra_headers: str) -> str:
    status = server.get(
        f"/track/{server.tracking_id}?{marker}=1&email=alice%40example.com"
        f"&utm_source=newsletter-value-{marker}",
        {"User-Agent": USER_AGENT, "Referer": REFERRER, **extra_headers},
    )
    assert status == 302
    return server.line_for(marker)


def test_a_tracked_visit_is_logged_without_query_values(server: Server) -> None:
    line = visit(server, "case_plain")
    assert f"/track/{server.tracking_id}?case_plain&email&utm_source " in line
    assert "alice" not in line
    assert "newsletter-value" not in line
    # Without an opt-out the line keeps what the click row keeps.
    assert line.startswith("127.0.0.1 ")
    assert USER_AGENT in line
    assert REFERRER in line


@pytest.mark.parametrize(
    ("marker", "header"),
    [("case_dnt", {"DNT": "1"}), ("case_gpc", {"Sec-GPC": "1"})],
    ids=["DNT", "GPC"],
)
def test_an_opted_out_visit_leaves_no_address_agent_or_referrer(
    server: Server, marker: str, header: dict[str, str]
) -> None:
    line = visit(server, marker, **header)
    assert "127.0.0.1" not in line
    assert "unique-agent-marker" not in line
    assert "unique-referrer-marker" not in line
    assert "alice" not in line
    assert re.match(r'^- - - \[[^]]+\] "GET /track/\S+ HTTP/1.1" 302 ', line), line


def test_other_paths_are_logged_as_gunicorn_logs_them(server: Server) -> None:
    server.get("/api/no-such-endpoint?case_other=shown-value", {"User-Agent": USER_AGENT})
    line = server.line_for("case_other")
    assert "case_other=shown-value" in line
    assert line.startswith("127.0.0.1 ")


def test_make_run_starts_gunicorn_with_this_configuration() -> None:
    makefile = (ROOT / "Makefile").read_text()
    commands = re.findall(r"\$\(BIN\)/gunicorn [^;]*", makefile)
    assert commands
    for command in commands:
        assert "-c python:linktrack.gunicorn_conf" in command
        assert "--access-logfile" not in command  # the configuration sets it


# --- The rules themselves ------------------------------------------------------------------


def test_query_keys_keep_plain_keys_once_and_drop_values() -> None:
    assert query_keys("email=a%40b.c&utm_source=x&utm_source=y&flag") == "email&utm_source&flag"
    assert query_keys("alice%40example.com&a+b=1&=x") == ""
    assert query_keys("") == ""


def test_every_atom_that_could_name_the_visitor_is_scrubbed_for_opted_out_visits() -> None:
    environ = {
        "PATH_INFO": "/track/abc",
        "RAW_URI": f"/track/abc?email={EMAIL}",
        "QUERY_STRING": f"email={EMAIL}",
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_SEC_GPC": "1",
    }
    atoms = {
        "h": "203.0.113.7",
        "r": f"GET /track/abc?email={EMAIL} HTTP/1.1",
        "q": f"email={EMAIL}",
        "a": USER_AGENT,
        "f": REFERRER,
        "{x-forwarded-for}i": "198.51.100.9",
        "{cookie}i": "lt_sid=abc",
        "{remote_addr}e": "203.0.113.7",
        "{query_string}e": f"email={EMAIL}",
        "s": "302",
    }
    scrubbed = scrub_atoms(atoms, environ, respect_opt_out=True)
    text = repr(scrubbed)
    for secret in ("203.0.113.7", "198.51.100.9", EMAIL, USER_AGENT, REFERRER, "lt_sid"):
        assert secret not in text
    assert scrubbed["r"] == "GET /track/abc?email HTTP/1.1"
    assert scrubbed["s"] == "302"
    # With RESPECT_DNT off the visitor is logged like any other (query values still dropped).
    kept = scrub_atoms(atoms, environ, respect_opt_out=False)
    assert kept["h"] == "203.0.113.7"
    assert EMAIL not in repr(kept)
