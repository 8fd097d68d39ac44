"""Redirects, ``OPS`` times each, in this process: the driver that instruction counts are taken on.

    python bench/one_redirect.py prepare DIR             # scratch SQLite database + one link in DIR
    OPS=200 python bench/one_redirect.py run DIR track   # GET /track/<id> OPS times
    OPS=200 python bench/one_redirect.py run DIR bare bare-first:4 bare-first:0

``run`` calls the WSGI application the way gunicorn does (an environ in, the body iterated, then
``close()``, which runs the click's follow-up) after a few warm-up requests. Each request kind
gets its own handler: ``track`` (``/track/<id>``) and ``bare`` (``/bench/bare/<id>``) with the
settings' middleware, ``bare-first:N`` with the first ``N`` of them only (0: none), and
XX, which nothing else here calls: ``valgrind --tool=callgrind
--dump-before=getppid`` then writes one part per kind, holding that kind's instructions alone
(:mod:`bench.middleware_costs`). Run with a single kind under ``instructions_per_op.sh`` (two runs,
``OPS`` apart), it counts the same way.

The settings come from the environment (``DJANGO_SETTINGS_MODULE``, ``CLICK_MODE``…).
``prepare`` runs once, outside any counting (migrating under valgrind takes minutes).
"""

from __future__ import annotations

import gc
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


def handler(kind: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI handler for one request kind, with the middleware it names (see the module)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    names = [path.rsplit(".", 1)[1] for path in settings.MIDDLEWARE]
    if "-first:" in kind:
        without = set(names[int(kind.split(":", 1)[1]) :])
    elif "-without:" in kind:
        without = set(kind.split(":", 1)[1].split(","))
    else:
        without = set()
    saved = {name: getattr(settings, name, None) for name in LISTS}
    for name, paths in saved.items():
        if paths is not None:
            setattr(settings, name, [p for p in paths if p.rsplit(".", 1)[1] not in without])
    try:
        return WSGIHandler()
    finally:
        for name, paths in saved.items():
            if paths is not None:
                setattr(settings, name, paths)


# The middleware lists a request kind leaves a middleware out of (the redirect's own list is a
# subset of the project's and must stay one).
LISTS = ("MIDDLEWARE", "REDIRECT_MIDDLEWARE")


def run(directory: Path, kinds: list[str]) -> None:
    import django

    django.setup()
    tracking_id = (directory / "tracking_id").read_text().strip()
    planned = []
    for kind in kinds:
        path = f"/track/{tracking_id}" if kind.startswith("track") else f"/bench/bare/{tracking_id}"
        application = handler(kind)
        for _ in range(WARM_UP):
            status = request(application, path)
            if not status.startswith("302"):
                raise SystemExit(f"{kind}: {path} answered {status}, not a redirect")
        planned.append((application, path))
    ops = int(os.environ.get("OPS", "100"))
    # A collection falls into whichever kind happens to cross the threshold: it would move a few
    # percent between kinds at random. Collect between kinds, never during one.
    gc.disable()
    for application, path in planned:
        gc.collect()
        os.getppid()  # a mark: callgrind --dump-before=getppid starts a new part here
        for _ in range(ops):
            request(application, path)
        os.getppid()


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("prepare", "run"):
        raise SystemExit(__doc__)
    directory = Path(sys.argv[2])
    if sys.argv[1] == "prepare":
        prepare(directory)
    else:
        run(directory, sys.argv[3:] or ["track"])


if __name__ == "__main__":
    main()
