"""Whether a request asks not to be tracked: Do Not Track (``DNT: 1``) or Global Privacy Control
(``Sec-GPC: 1``).

Free of Django on purpose: the redirect applies it through :func:`tracking.clicks.capture.opted_out`
(which adds the ``RESPECT_DNT`` switch), and gunicorn's access logger
(:mod:`linktrack.gunicorn_conf`) applies the same rule to the WSGI environ, in a config module that
gunicorn's master imports before any Django setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def asks_not_to_be_tracked(meta: Mapping[str, Any]) -> bool:
    """``meta`` is a WSGI environ or Django's ``request.META`` (the same ``HTTP_*`` keys)."""
    return (
        str(meta.get("HTTP_DNT", "")).strip() == "1"
        or str(meta.get("HTTP_SEC_GPC", "")).strip() == "1"
    )
