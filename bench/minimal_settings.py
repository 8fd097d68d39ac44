"""Django's own floor: a project with no apps, no middleware, no database and one URL.

``bench/redirect.py`` serves :mod:`bench.minimal_urls` with these settings beside the product, so
that its figures show what Django itself costs on this machine, what the product's middleware adds
(the bare redirect of :mod:`bench.urls`) and what the click adds (``/track/<id>``).
"""

from __future__ import annotations

import os

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "bench-minimal-not-secret")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",")
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.minimal_urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
USE_I18N = False
LOGGING_CONFIG = None
