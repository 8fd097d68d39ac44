"""WSGI entry point of the floor project (:mod:`bench.minimal_settings`), for gunicorn."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.minimal_settings")

application = get_wsgi_application()
