"""Test settings: the production module, with a fixed key and plain static storage."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("TRACKING_BASE_URL", "https://links.example.com")
os.environ.setdefault("ALLOWED_HOSTS", "links.example.com,testserver,127.0.0.1,localhost")

from linktrack.settings import *  # noqa: F403
from linktrack.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The suite records clicks directly unless a test switches to buffered mode itself (it asserts rows
# right after the request); buffered mode is exercised by its own tests with a writer.
CLICK_MODE = "direct"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not the in-memory default: the browser tests' live server answers requests in
    # several threads, and an in-memory database would be one connection shared between them.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_linktrack.sqlite3")}  # noqa: F405

# Serve static files from the source folders: the suite never runs collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
