"""A click stream entry written as JSON: the json module's bytes, mostly written by orjson.

Each buffered click is encoded in the redirect, where the json module's encoder cost more than
the rest of queueing it. orjson writes the entry wherever its bytes are the json module's bytes
(:func:`dumps` checks); anything else goes through json as before. Reading entries back is
:func:`tracking.clicks.stream.decode_click`'s.
"""

from __future__ import annotations

import enum
import json
import uuid
from typing import Any

import orjson

# One encoder for every entry: ``json.dumps`` with options builds a new one per call, which costs
# a queued click more than the encoding itself. Same options, same bytes.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)

# What orjson writes byte for byte as _ENCODER does: text, booleans, None, lists, tuples and dicts
# of them, integers (orjson refuses those beyond 64 bits) and UUIDs (both write str(uuid)); text of
# a subclass too, when it is no enum or an enum whose value is that text (see _same_text). Not
# floats (NaN), dates (orjson's own format), other enums or anything else.
_PLAIN = frozenset({str, int, bool, type(None), dict, list, tuple, uuid.UUID})


def dumps(body: dict[str, Any]) -> str:
    """``_ENCODER.encode(body)``, written by orjson when that gives the same bytes: the json
    module's encoder cost a queued click some 58,000 CPU instructions, orjson some 6,000.

    An entry holding anything but :data:`_PLAIN` types, or that orjson refuses (a key that is not
    text, text that is not valid Unicode, an integer beyond 64 bits), is written by json as before.
    """
    try:
        if _plain(body):
            return orjson.dumps(body).decode()
    except (orjson.JSONEncodeError, RecursionError):
        pass
    return _ENCODER.encode(body)


def _plain(container: Any) -> bool:
    items = container.values() if type(container) is dict else container
    kinds = set(map(type, items))
    if not kinds <= _PLAIN:
        # Rare but for one: the click source, a TextChoices member.
        for item in items:
            if type(item) not in _PLAIN and not _same_text(item):
                return False
    if dict in kinds or list in kinds or tuple in kinds:
        for item in items:
            kind = type(item)
            if (kind is dict or kind is list or kind is tuple) and not _plain(item):
                return False
    return True


def _same_text(value: Any) -> bool:
    """Whether a value of a subclass is text both write alike: json writes a ``str`` subclass's
    text; orjson writes it too, but an enum's ``value`` (a TextChoices member's value is its
    text)."""
    if not isinstance(value, str):
        return False
    if isinstance(value, enum.Enum):
        return type(value.value) is str and value.value == str.__str__(value)
    return True
