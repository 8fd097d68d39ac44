"""HyperLogLog sketches of session ids: distinct sessions over many days without reading them all.

A sketch is ``2**PRECISION`` one-byte registers (4 KiB). A session id is hashed (the first 64 bits
of its MD5); the hash's top ``PRECISION`` bits pick a register, which keeps the highest *rank*
(the position of the first 1 bit in the hash's other bits) seen there. The union of two sketches
is the register-wise maximum, so a period's sketch is the union of its days', and adding a session
twice changes nothing. The estimate is Flajolet et al.'s (2007), with linear counting while many
registers are still empty; its relative standard error is ``1.04 / sqrt(2**PRECISION)``, 1.6 %.

Counts that must be exact are not read from here: :mod:`analytics.sessions` counts exactly while
a scope's sessions are few, and turns to the sketches above :data:`EXACT_UP_TO` (see there).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

PRECISION = 12
REGISTERS = 1 << PRECISION
_REST = 64 - PRECISION
_REST_MASK = (1 << _REST) - 1
_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)
_INVERSE = tuple(2.0**-rank for rank in range(_REST + 2))
EMPTY = bytes(REGISTERS)

# Relative standard error of an estimate (1.6 %), as the dashboard states it.
RELATIVE_ERROR = 1.04 / math.sqrt(REGISTERS)


def point(session_id: str) -> tuple[int, int]:
    """The register a session id falls in and its rank there (1 to 53)."""
    value = int.from_bytes(hashlib.md5(session_id.encode()).digest()[:8], "big")  # noqa: S324 - a spread, not a secret
    return value >> _REST, _REST - (value & _REST_MASK).bit_length() + 1


def of(session_ids: Iterable[str]) -> bytes:
    """The sketch of some session ids."""
    registers = bytearray(REGISTERS)
    for session_id in session_ids:
        index, rank = point(session_id)
        if rank > registers[index]:
            registers[index] = rank
    return bytes(registers)


# 0x80 in every register's place, for the register-wise maximum below.
_HIGH = int.from_bytes(b"\x80" * REGISTERS, "big")


def union(sketches: Iterable[bytes]) -> bytes:
    """The sketch of every session of any of ``sketches`` (register-wise maximum).

    Computed on whole sketches as integers, eight bits a register (a register holds at most 53,
    so its top bit is free): ``(a | 0x80…) - b`` keeps the top bit of each register where
    ``a >= b`` without borrowing from its neighbour; that bit, spread to the register's eight,
    picks ``a`` or ``b``. A union of two sketches then costs a few big-integer operations rather
    than 4,096 comparisons in Python (0.4 ms), and a period of 50 jobs over 30 days 1,500 unions.
    """
    merged: int | None = None
    for sketch in sketches:
        if len(sketch) != REGISTERS:
            raise ValueError(f"a sketch holds {REGISTERS} registers, not {len(sketch)}")
        value = int.from_bytes(sketch, "big")
        if merged is None:
            merged = value
            continue
        higher = (((merged | _HIGH) - value) & _HIGH) >> 7  # 1 where merged >= value
        mask = higher * 0xFF
        merged = (merged & mask) | (value & ~mask)
    return EMPTY if merged is None else merged.to_bytes(REGISTERS, "big")


def estimate(sketch: bytes) -> int:
    """The estimated number of distinct sessions the sketch has seen."""
    empty = sketch.count(0)
    if empty == REGISTERS:
        return 0
    raw = _ALPHA * REGISTERS * REGISTERS / sum(_INVERSE[rank] for rank in sketch)
    if raw <= 2.5 * REGISTERS and empty:
        return round(REGISTERS * math.log(REGISTERS / empty))  # linear counting
    return round(raw)
