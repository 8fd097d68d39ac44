"""Production settings plus the bare-redirect baseline view that only the benchmark mounts."""

from __future__ import annotations

from linktrack.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
