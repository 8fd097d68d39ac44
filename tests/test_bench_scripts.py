"""The benchmark scripts: prerequisites named before anything starts, no child left behind.

Every run gets a marker in its environment, which its children (gunicorn and its workers, wrk)
inherit; after the run no process on the machine may still carry it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import ProcessGroup
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
MARKER_VARIABLE = "LINKTRACK_BENCH_TEST_RUN"


def processes_marked(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (zombies show an empty environ)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def left_behind(marker: str, grace: float = 5) -> list[int]:
    """The marked processes still alive after ``grace`` seconds (a killed process takes a moment
    to disappear, longer on a busy machine)."""
    deadline = time.monotonic() + grace
    while (alive := processes_marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def kill_marked(marker: str) -> None:
    for pid in processes_marked(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def marker() -> Iterator[str]:
    """This test's marker; whatever still carries it at the end is killed (after the asserts)."""
    value = uuid.uuid4().hex
    yield value
    kill_marked(value)


def bench_env(marker: str, path: str) -> dict[str, str]:
    env = {**os.environ, MARKER_VARIABLE: marker, "PATH": path}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    return env


def fake_wrk(directory: Path, started: Path) -> Path:
    """A `wrk` that says it started and then hangs, as a long measurement does."""
    directory.mkdir()
    wrk = directory / "wrk"
    wrk.write_text(f'#!/bin/sh\necho $$ > "{started}"\nexec sleep 120\n')
    wrk.chmod(0o755)
    return directory


def postgres_server() -> str:
    """The URL of the test database's PostgreSQL server (no database name): where a bench run
    under test creates its scratch database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    login = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{login}@{db['HOST']}:{db['PORT'] or 5432}"


def run_bench(
    script: str, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_redirect_bench_without_wrk_says_how_to_install_it(marker: str, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_bench("redirect.py", ["--db", "sqlite"], bench_env(marker, str(empty)))
    assert result.returncode != 0
    assert "needs `wrk`" in result.stderr
    assert "apt-get install -y wrk" in result.stderr
    assert "Traceback" not in result.stderr
    assert left_behind(marker) == []


def test_the_redirect_bench_names_an_unreachable_postgres(marker: str, tmp_path: Path) -> None:
    path = f"{fake_wrk(tmp_path / 'bin', tmp_path / 'started')}:{os.environ['PATH']}"
    url = f"postgres://postgres:not-shown@127.0.0.1:{free_port()}"
    result = run_bench(
        "redirect.py", ["--db", "postgres", "--pg-server", url], bench_env(marker, path)
    )
    assert result.returncode != 0
    assert "PostgreSQL is not reachable at postgres://postgres:***@127.0.0.1" in result.stderr
    assert "not-shown" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "started").exists()
    assert left_behind(marker) == []


@pytest.mark.parametrize("script", ["analytics.py", "rollup.py"])
def test_the_analytics_benches_name_an_unreachable_postgres(marker: str, script: str) -> None:
    url = f"postgres://postgres@127.0.0.1:{free_port()}/linktrack_bench_unreachable"
    result = run_bench(script, ["--database-url", url], bench_env(marker, os.environ["PATH"]))
    assert result.returncode != 0
    assert "PostgreSQL is not reachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert left_behind(marker) == []


def test_a_redirect_bench_stopped_by_sigterm_leaves_no_process_behind(
    marker: str, tmp_path: Path
) -> None:
    started = tmp_path / "wrk-started"
    path = f"{fake_wrk(tmp_path / 'bin', started)}:{os.environ['PATH']}"
    log = tmp_path / "bench.log"
    with log.open("w") as output:
        bench = subprocess.Popen(
            [
                sys.executable,
                "bench/redirect.py",
                "--db",
                "sqlite",
                "--workers",
                "1",
                "--links",
                "2",
            ],
            cwd=ROOT,
            env=bench_env(marker, path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        # Wait until gunicorn serves and "wrk" measures: every child is running.
        deadline = time.monotonic() + 90
        while not started.exists():
            assert bench.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"wrk never started:\n{log.read_text()}"
            time.sleep(0.2)
        assert len(processes_marked(marker)) >= 3  # the bench, gunicorn's master and worker, wrk

        bench.send_signal(signal.SIGTERM)
        returncode = bench.wait(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(timeout=10)
    assert returncode == 128 + signal.SIGTERM, log.read_text()
    assert "stopped by signal" in log.read_text()
    assert left_behind(marker) == [], log.read_text()


def test_a_process_group_is_stopped_with_its_children_even_if_it_ignores_sigterm(
    marker: str,
) -> None:
    env = {**os.environ, MARKER_VARIABLE: marker}
    # A parent that ignores SIGTERM, and a child of its own in the background.
    group = ProcessGroup(["/bin/sh", "-c", "trap '' TERM; sleep 120 & sleep 120"], env=env)
    deadline = time.monotonic() + 10
    while len(processes_marked(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_marked(marker)) == 3  # sh and its two sleeps
    started = time.monotonic()
    group.stop(timeout=1)
    assert time.monotonic() - started < 10
    assert left_behind(marker) == []


@pytest.mark.parametrize("script", ["admin_pages.py", "maintenance.py"])
def test_in_process_benches_name_an_unreachable_postgres(marker: str, script: str) -> None:
    env = bench_env(marker, os.environ["PATH"])
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/linktrack_bench_unreachable",
        SECRET_KEY="bench-test",
    )
    result = run_bench(script, [], env)
    assert result.returncode != 0
    assert "PostgreSQL is not reachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_webhook_cost_bench_records_the_same_clicks_with_and_without_webhooks(
    marker: str,
) -> None:
    result = run_bench(
        "webhook_cost.py",
        ["--rounds", "2", "--links", "3", "--requests", "6", "--clicks", "12", "--batch", "6"],
        bench_env(marker, os.environ["PATH"]),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("RESULT webhook_cost webhooks=5 redirect_us=")
    figures = dict(part.split("=", 1) for part in lines[-1].split()[2:])
    assert float(figures["writer_hooks_us"]) > 0 and float(figures["redirect_hooks_us"]) > 0
    # Both configurations recorded person clicks whose events the worker turned into deliveries.
    summary = next(line for line in lines if line.startswith("events written:"))
    without, with_hooks, deliveries = (int(word) for word in summary.split() if word.isdigit())
    assert without > 0 and with_hooks > 0 and deliveries > 0
    assert left_behind(marker) == []


def test_the_rules_bench_stores_every_click_and_names_the_rule(marker: str, tmp_path: Path) -> None:
    env = bench_env(marker, os.environ["PATH"])
    template = ["--template", str(tmp_path / "template.sqlite3")]
    missing = run_bench("redirect_rules.py", [*template, "--scenario", "rules"], env | {"OPS": "1"})
    assert missing.returncode != 0 and "--prepare first" in missing.stderr
    prepared = run_bench("redirect_rules.py", ["--prepare", *template], env)
    assert prepared.returncode == 0, prepared.stderr
    result = run_bench("redirect_rules.py", [*template, "--rounds", "1", "--per-round", "4"], env)
    assert result.returncode == 0, result.stderr
    stored = [line.split() for line in result.stdout.splitlines() if "clicks stored" in line]
    # scenario, "clicks stored", n, "of", expected, "routed by a rule", routed
    assert [(row[0], row[3], row[5].rstrip(","), row[-1]) for row in stored] == [
        ("plain", "5", "5", "0"),
        ("rules", "5", "5", "5"),
        ("country", "5", "5", "5"),
    ]
    counted = run_bench(
        "redirect_rules.py", [*template, "--scenario", "country"], env | {"OPS": "3"}
    )
    assert counted.returncode == 0 and counted.stdout == ""


def test_the_middleware_cost_bench_without_valgrind_says_how_to_install_it(
    marker: str, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_bench("middleware_costs.py", [], bench_env(marker, str(empty)))
    assert result.returncode != 0
    assert "needs `valgrind`" in result.stderr
    assert "apt-get install -y valgrind" in result.stderr
    assert "Traceback" not in result.stderr
    assert left_behind(marker) == []


def test_the_floor_project_redirects_with_no_middleware_at_all() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.minimal_settings"}
    env.pop("DATABASE_URL", None)
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "from bench import one_redirect\n"
        "assert settings.MIDDLEWARE == [] and settings.INSTALLED_APPS == []\n"
        "print(one_redirect.request(get_wsgi_application(), '/bench/bare/lt_floor'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "302 Found"


@pytest.mark.parametrize("script", ["scaleout.py", "memory.py"])
def test_the_postgres_benches_without_wrk_say_how_to_install_it(
    marker: str, tmp_path: Path, script: str
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_bench(script, [], bench_env(marker, str(empty)))
    assert result.returncode != 0
    assert "needs `wrk`" in result.stderr
    assert "Traceback" not in result.stderr
    assert left_behind(marker) == []


@pytest.mark.parametrize(
    ("script", "option", "database"),
    [
        ("scaleout.py", "--pg-server", ""),
        ("memory.py", "--database-url", "/linktrack_bench_memory"),
    ],
)
def test_the_postgres_benches_name_an_unreachable_postgres(
    marker: str, tmp_path: Path, script: str, option: str, database: str
) -> None:
    path = f"{fake_wrk(tmp_path / 'bin', tmp_path / 'started')}:{os.environ['PATH']}"
    url = f"postgres://postgres:not-shown@127.0.0.1:{free_port()}{database}"
    result = run_bench(script, [option, url], bench_env(marker, path))
    assert result.returncode != 0
    assert "PostgreSQL is not reachable at postgres://postgres:***@127.0.0.1" in result.stderr
    assert "not-shown" not in result.stderr
    assert "Traceback" not in result.stderr
    assert left_behind(marker) == []


@pytest.mark.postgres
@pytest.mark.redis
def test_a_scaleout_bench_stopped_by_sigterm_leaves_no_process_and_no_database(
    marker: str, tmp_path: Path
) -> None:
    from django.conf import settings

    server = postgres_server()
    name = f"linktrack_bench_scaleout_{marker[:12]}"
    started = tmp_path / "wrk-started"
    path = f"{fake_wrk(tmp_path / 'bin', started)}:{os.environ['PATH']}"
    log = tmp_path / "bench.log"
    args = ["--pg-server", server, "--pg-name", name, "--redis-url", settings.REDIS_URL]
    args += ["--workers", "1", "--links", "2"]
    with log.open("w") as output:
        bench = subprocess.Popen(
            [sys.executable, "bench/scaleout.py", *args],
            cwd=ROOT,
            env=bench_env(marker, path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 150
        while not started.exists():
            assert bench.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"wrk never started:\n{log.read_text()}"
            time.sleep(0.2)
        # The bench, two gunicorn masters and their workers, two writers, wrk.
        assert len(processes_marked(marker)) >= 7

        bench.send_signal(signal.SIGTERM)
        # Seven process groups stopped one after the other on a busy machine: be patient.
        try:
            returncode = bench.wait(timeout=240)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the bench did not stop within 240 s:\n{log.read_text()}")
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(timeout=10)
    assert returncode == 128 + signal.SIGTERM, log.read_text()
    assert left_behind(marker) == [], log.read_text()
    import psycopg2

    conn = psycopg2.connect(f"{server}/postgres")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            assert cursor.fetchone() is None
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_tiny_memory_bench_reads_every_process_and_stores_every_click(marker: str) -> None:
    from django.conf import settings

    url = f"{postgres_server()}/linktrack_bench_memory_{marker[:12]}"
    args = ["--database-url", url, "--redis-url", settings.REDIS_URL, "--workers", "2"]
    args += ["--clicks", "200", "--chunks", "2", "--links", "2", "--agents", "50"]
    result = run_bench("memory.py", args, bench_env(marker, os.environ["PATH"]))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("RESULT memory clicks=")
    figures = dict(part.split("=", 1) for part in lines[-1].split()[2:])
    assert int(figures["clicks"]) >= 200
    assert int(figures["stored"]) == int(figures["clicks"])
    for name in ("worker_rss_mib_start", "worker_rss_mib_end", "writer_rss_mib_end"):
        assert float(figures[name]) > 0, name
    # One progress line per chunk, each with both workers' RSS.
    chunks = [line for line in lines if "] chunk " in line]
    assert len(chunks) == 2
    assert all(line.count(" MiB") >= 1 and line.count(": ") >= 3 for line in chunks)
    assert left_behind(marker) == []
