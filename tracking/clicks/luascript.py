"""A few steps on the shared cache in one Redis call: Lua scripts on the Redis behind the cache.

django-redis sends each ``add``, ``incr`` or ``get`` as a round trip of its own; a script runs
the same steps on the same keys, atomically, in one. That needs the cache to be django-redis's
single-server client (``DefaultClient``, the one the settings configure); with any other cache
backend :func:`redis_client` answers None and the caller keeps its step-by-step path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.core.cache.backends.base import BaseCache
from django_redis.cache import RedisCache
from django_redis.client import DefaultClient
from redis import Redis
from redis.exceptions import NoScriptError


class Script:
    """A Lua script sent by its SHA1 (``EVALSHA``: the text crosses the network only when the
    server does not know it yet, after a restart or ``SCRIPT FLUSH``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client: Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.text)
            return client.evalsha(self.sha, len(keys), *keys, *args)


def redis_client(cache: BaseCache) -> Redis | None:
    """The Redis client that ``cache`` writes through (the one its ``add`` and ``incr`` use), or
    None when ``cache`` is not django-redis's ``DefaultClient``."""
    if not isinstance(cache, RedisCache) or type(cache.client) is not DefaultClient:
        return None
    client: Redis = cache.client.get_client(write=True)
    return client
