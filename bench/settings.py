"""Production settings plus the bare-redirect baseline view that only the benchmark mounts.

``BENCH_WITHOUT_MIDDLEWARE`` (comma-separated class names, e.g. ``SessionMiddleware,MessageMiddleware``)
leaves those middleware out: :mod:`bench.middleware_costs` measures what each one costs that way.
"""

from __future__ import annotations

import os

from linktrack.settings import *  # noqa: F403
from linktrack.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"

_without = {name.strip() for name in os.environ.get("BENCH_WITHOUT_MIDDLEWARE", "").split(",")}
MIDDLEWARE = [path for path in MIDDLEWARE if path.rsplit(".", 1)[1] not in _without]
