"""Rate limits written as text (``"1000/m"``, ``"100/5m"``): the one parser every limit uses.

The syntax is django-ratelimit's: a count, a slash, an optional multiple and a unit (s, m, h, d).
The settings module validates ``CLICK_RATE_LIMIT`` and ``ANALYTICS_RATE_LIMIT`` with it at start-up,
so a typo such as ``1000 per minute`` stops the start instead of reaching the redirect (which would
fail open on every click) or the click writer (which would die on its first batch). The redirect,
the API throttles and the writer then read the same (count, seconds) from it.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_RATE = re.compile(r"(?P<count>\d+)/(?P<multiple>\d*)(?P<unit>[smhd])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Rate(NamedTuple):
    requests: int
    seconds: int


@functools.lru_cache(maxsize=32)
def parse_rate(text: str) -> Rate:
    """``"1000/m"`` → ``Rate(1000, 60)``, ``"100/5m"`` → ``Rate(100, 300)``; ValueError otherwise.

    Cached: the redirect and the writer parse the same setting on every request or batch.
    """
    match = _RATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"expected a count per period like 1000/m or 100/5m (units s, m, h, d), got {text!r}"
        )
    count = int(match["count"])
    multiple = int(match["multiple"] or 1)
    if count < 1 or multiple < 1:
        raise ValueError(f"expected at least 1 request per at least 1 unit, got {text!r}")
    return Rate(count, multiple * _UNIT_SECONDS[match["unit"].lower()])
