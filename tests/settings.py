"""Test settings: the production module under a pinned environment, with plain static storage.

The suite must pass whatever the caller's shell (or ``.env``) holds: an operator's own
``TRACKING_BASE_URL``, ``TIME_ZONE=Europe/Berlin`` or ``CLICK_MODE=buffered`` must not turn it red.
So before ``linktrack.settings`` reads the environment, every variable it reads is removed and the
few the tests rely on are set. Only the choice of database and Redis (``DATABASE_URL``,
``REDIS_URL``) and the var directory come from the caller: CI runs the suite on both backends.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "linktrack" / "settings.py"
# What the caller may choose: where the suite runs, not how the product behaves.
FROM_CALLER = frozenset({"DATABASE_URL", "REDIS_URL"})
PINNED = {
    "SECRET_KEY": "test-secret-key-not-for-production",
    "TRACKING_BASE_URL": "https://links.example.com",
    "ALLOWED_HOSTS": "links.example.com,testserver,127.0.0.1,localhost",
}
# Set once the environment is pinned. Processes a test starts (a click writer) inherit the pinned
# environment plus what that test set on purpose (its stream key, its spool); pinning again in
# the child would throw the latter away.
PINNED_MARK = "LINKTRACK_TEST_ENV_PINNED"


def env_names_read_by_settings() -> list[str]:
    """The variable names ``linktrack/settings.py`` reads through its ``env_*`` helpers, in order,
    found by reading the module's source (so a new setting is pinned and documented-checked
    without anyone remembering to list it)."""
    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return sorted(set(names), key=names.index)


def pin_environment() -> None:
    for name in env_names_read_by_settings():
        if name not in FROM_CALLER:
            os.environ.pop(name, None)
    os.environ.update(PINNED)
    os.environ[PINNED_MARK] = "1"


if os.environ.get(PINNED_MARK) != "1":
    pin_environment()

from linktrack.settings import *  # noqa: E402, F403
from linktrack.settings import STORAGES  # noqa: E402

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
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_linktrack.sqlite3")}  # noqa: F405

# Serve static files from the source folders: the suite never runs collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
