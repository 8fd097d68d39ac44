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
