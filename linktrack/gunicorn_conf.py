"""gunicorn settings of ``make run``: ``gunicorn -c python:linktrack.gunicorn_conf linktrack.wsgi``.

The access log obeys the privacy rules the click table does. For requests under ``/track/``:

- query string values never reach the log (the keys stay, so ``?utm_source&email`` still shows how
  the link was sent, while ``email=alice@example.com`` does not); a key that is not a plain
  identifier (``?alice%40example.com``) is dropped too;
- a visitor asking not to be tracked (``DNT: 1`` or ``Sec-GPC: 1``, while ``RESPECT_DNT`` is on)
  is logged without address, user agent, referrer or any other request header, whatever
  ``--access-logformat`` asks for.

Other paths are logged as gunicorn logs them.

Why the rule lives in :mod:`tracking.optout` and not in :func:`tracking.clicks.capture.opted_out`:
gunicorn's master imports this module before any worker has loaded the app, and clicks.capture
imports models, which need Django set up. ``RESPECT_DNT`` is read from Django's settings only when
a line is written, in a worker, where the app (and so the settings) is loaded; if they cannot be
read, the opt-out is respected (the safe side).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from gunicorn.glogging import Logger

from tracking.optout import asks_not_to_be_tracked

TRACKING_PREFIX = "/track/"
# Query keys kept in the log: short identifiers, as UTM and the sender's own parameters are.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,50}")
# Atoms that carry a request header ("{user-agent}i") or an environ entry ("{remote_addr}e").
_CLIENT_ATOMS = ("}i", "}e")


def query_keys(query: str) -> str:
    """``"email=a%40b.c&utm_source=mail&utm_source=x"`` → ``"email&utm_source"``."""
    keys: list[str] = []
    for part in query.split("&"):
        key = part.partition("=")[0]
        if _PLAIN_KEY.fullmatch(key) and key not in keys:
            keys.append(key)
    return "&".join(keys)


def _respect_dnt() -> bool:
    django_conf = sys.modules.get("django.conf")
    if django_conf is None:
        return True
    try:
        return bool(django_conf.settings.RESPECT_DNT)
    except Exception:  # settings not configured in this process: keep the visitor out of the log
        return True


def scrub_atoms(
    atoms: dict[str, Any], environ: Mapping[str, Any], *, respect_opt_out: bool
) -> dict[str, Any]:
    """The access-log atoms of one request with what the privacy rules forbid taken out."""
    path = str(environ.get("PATH_INFO") or "")
    if not path.startswith(TRACKING_PREFIX):
        return atoms
    keys = query_keys(str(environ.get("QUERY_STRING") or ""))
    raw_path = str(environ.get("RAW_URI") or path).split("?", 1)[0].split("#", 1)[0]
    target = f"{raw_path}?{keys}" if keys else raw_path
    scrubbed = dict(atoms)
    scrubbed["r"] = (
        f"{environ.get('REQUEST_METHOD', '-')} {target} {environ.get('SERVER_PROTOCOL', '-')}"
    )
    scrubbed["q"] = keys
    scrubbed["{raw_uri}e"] = target
    scrubbed["{query_string}e"] = keys
    if respect_opt_out and asks_not_to_be_tracked(environ):
        # gunicorn's wrapper prints "-" for an atom that is missing.
        scrubbed = {k: v for k, v in scrubbed.items() if not k.endswith(_CLIENT_ATOMS)}
        scrubbed.update({"h": "-", "u": "-", "f": "-", "a": "-"})
    return scrubbed


class PrivacyAccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's logger, with :func:`scrub_atoms` applied to every access-log line."""

    def atoms(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        return scrub_atoms(atoms, environ, respect_opt_out=_respect_dnt())


# gunicorn settings (lower-case module names are read as settings; the command line overrides).
accesslog = "-"
logger_class = PrivacyAccessLogger
graceful_timeout = 10
