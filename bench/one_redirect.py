"""One redirect, ``OPS`` times, in this process: the driver that instruction counts are taken on.

    python bench/one_redirect.py prepare DIR          # scratch SQLite database + one link in DIR
    OPS=200 python bench/one_redirect.py run DIR track    # GET /track/<id> OPS times
    OPS=200 python bench/one_redirect.py run DIR bare     # GET /bench/bare/<id> OPS times

``run`` calls the WSGI application the way gunicorn does (an environ in, the body iterated, then
``close()``, which runs the click's follow-up), after a few warm-up requests, so that
``instructions_per_op.sh``-style counting (two runs, ``OPS`` apart) is left with the cost of one
request and nothing else. The settings come from the environment (``DJANGO_SETTINGS_MODULE``,
``BENCH_WITHOUT_MIDDLEWARE``, ``CLICK_MODE``…): :mod:`bench.middleware_costs` sets them per
configuration. ``prepare`` runs once, outside any counting (migrating under valgrind takes minutes).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
WARM_UP = 5


def environ(path: str) -> dict[str, Any]:
    """What gunicorn hands a worker for a browser's GET (the wrk script's headers)."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": USER_AGENT,
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def request(application: Callable[..., Iterable[bytes]], path: str) -> str:
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(line)

    body = application(environ(path), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status[0]


def prepare(directory: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from tracking import services
    from tracking.models import Job, JobApplication

    call_command("migrate", "--noinput", verbosity=0)
    job = Job.objects.create(title="Benchmark", company_name="Example Corp")
    application = JobApplication.objects.create(job=job)
    link = services.create_tracked_link(
        original_url="https://linkedin.com/in/steve-glen",
        link_function="LinkedIn",
        link_type="profile",
        job_id=job.id,
        application_id=application.id,
        created_by="bench",
    )
    (directory / "tracking_id").write_text(link["tracking_id"])


def run(directory: Path, endpoint: str) -> None:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    tracking_id = (directory / "tracking_id").read_text().strip()
    path = f"/track/{tracking_id}" if endpoint == "track" else f"/bench/bare/{tracking_id}"
    for _ in range(WARM_UP):
        status = request(application, path)
        if not status.startswith("302"):
            raise SystemExit(f"{path} answered {status}, not a redirect")
    for _ in range(int(os.environ.get("OPS", "100"))):
        request(application, path)


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("prepare", "run"):
        raise SystemExit(__doc__)
    directory = Path(sys.argv[2])
    if sys.argv[1] == "prepare":
        prepare(directory)
    else:
        run(directory, sys.argv[3] if len(sys.argv) > 3 else "track")


if __name__ == "__main__":
    main()
