"""WSGI entry point (gunicorn linktrack.wsgi)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")

application = get_wsgi_application()

# Load the user-agent rules now, not on the first visitor's click (they take ~0.2 s to load).
from tracking import classify  # noqa: E402 - needs the app registry set up above

classify.warm_up()
