"""Clicks the pipeline set aside, under the same privacy rules as the rows in ``link_clicks``.

The writer keeps entries it cannot store in the dead-letter stream (``<CLICK_STREAM_KEY>:dead``)
and the spool keeps lines it cannot read in ``*.rejected.jsonl`` files, for a person to look at.
Both hold whole click payloads: IP address, user agent, session id. Without these rules they
would keep them forever, past the retention periods and past an erasure request. So:

- anonymization (past ``IP_RETENTION_DAYS``) removes the IP address, user agent, session id and
  visitor hash from each payload, and the client IP, user agent and rate-limit key from its
  signals; a payload that cannot be read (so cannot be anonymized) is dropped;
- the purge (past ``CLICK_RETENTION_DAYS``) deletes them;
- erasure deletes those of the IP address, the session or the links named (a payload that cannot
  be read is deleted when it merely contains one of them).

A payload's age is its click's time (``at``); without one, the time its stream entry was queued,
or the rejected file's time. The management commands call these after the database's own rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from tracking.clicks import spool, stream
from tracking.services.privacy import ErasureRequest
from tracking.services.validation import parse_ip

# The payload keys (see :mod:`tracking.clicks.stream`) that identify a visitor.
_IDENTIFYING_FIELDS = ("ip", "ua", "sid", "vh")
_IDENTIFYING_SIGNALS = ("client_ip", "user_agent", "rate_key")


class SetAsideUnavailable(Exception):
    """The dead-letter stream could not be reached (Redis down): the rule was not applied."""


@dataclass(frozen=True)
class SetAsideCounts:
    """Set-aside clicks changed (``anonymized``) or deleted (``removed``) by one rule."""

    anonymized: int = 0
    removed: int = 0

    def __add__(self, other: SetAsideCounts) -> SetAsideCounts:
        return SetAsideCounts(self.anonymized + other.anonymized, self.removed + other.removed)

    def summary(self, *, dry_run: bool = False) -> str | None:
        """A line for a command's output, or None when nothing changed (or would)."""
        if not (self.anonymized or self.removed):
            return None
        parts = []
        if self.anonymized:
            parts.append(f"{self.anonymized} {'to anonymize' if dry_run else 'anonymized'}")
        if self.removed:
            parts.append(f"{self.removed} {'to delete' if dry_run else 'deleted'}")
        return "Set-aside clicks (dead-letter stream, rejected spool lines): " + ", ".join(parts)


def _body(payload: str) -> dict[str, Any] | None:
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _click_time_us(body: dict[str, Any] | None, fallback_us: int) -> int:
    at = body.get("at") if body else None
    return at if isinstance(at, int) and not isinstance(at, bool) else fallback_us


def _cutoff_us(older_than: dt.datetime) -> int:
    return int(older_than.timestamp() * 1_000_000)


def _anonymized(body: dict[str, Any]) -> dict[str, Any] | None:
    """``body`` without what identifies the visitor, or None when it holds nothing of that."""
    signals = body.get("sig")
    identifying = [name for name in _IDENTIFYING_FIELDS if body.get(name) is not None]
    identifying_signals = (
        [name for name in _IDENTIFYING_SIGNALS if signals.get(name) is not None]
        if isinstance(signals, dict)
        else []
    )
    if not identifying and not identifying_signals:
        return None
    result = {name: value for name, value in body.items() if name not in identifying}
    if identifying_signals and isinstance(signals, dict):
        result["sig"] = {
            name: value for name, value in signals.items() if name not in identifying_signals
        }
    return result


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _apply(revise: spool.Revise, *, dry_run: bool) -> SetAsideCounts:
    """Apply ``revise`` to the rejected spool lines and the dead-letter stream."""
    replaced, removed = spool.revise_rejected(revise, dry_run=dry_run)
    counts = SetAsideCounts(replaced, removed)
    if not settings.REDIS_URL:
        return counts
    try:
        replaced, removed = stream.revise_dead_letters(revise, dry_run=dry_run)
    except (redis.RedisError, stream.StreamUnavailable) as exc:
        raise SetAsideUnavailable(f"the dead-letter stream could not be reached: {exc}") from exc
    return counts + SetAsideCounts(replaced, removed)


def anonymize(*, older_than: dt.datetime, dry_run: bool = False) -> SetAsideCounts:
    """Remove what identifies a visitor from set-aside clicks made before ``older_than``."""
    cutoff = _cutoff_us(older_than)

    def revise(payload: str, fallback_us: int) -> str | None:
        body = _body(payload)
        if _click_time_us(body, fallback_us) >= cutoff:
            return payload
        if body is None:
            return "" if payload else payload  # unreadable: cannot be anonymized, so dropped
        anonymized = _anonymized(body)
        return payload if anonymized is None else _encode(anonymized)

    return _apply(revise, dry_run=dry_run)


def purge(*, older_than: dt.datetime, dry_run: bool = False) -> SetAsideCounts:
    """Delete the set-aside clicks made before ``older_than``."""
    cutoff = _cutoff_us(older_than)

    def revise(payload: str, fallback_us: int) -> str | None:
        return None if _click_time_us(_body(payload), fallback_us) < cutoff else payload

    return _apply(revise, dry_run=dry_run)


def _matches(
    body: dict[str, Any], *, ip: str | None, session: str | None, tracking_ids: Collection[str]
) -> bool:
    if tracking_ids and body.get("t") in tracking_ids:
        return True
    if session and body.get("sid") == session:
        return True
    if ip:
        signals = body.get("sig")
        signal_ip = signals.get("client_ip") if isinstance(signals, dict) else None
        for value in (body.get("ip"), signal_ip):
            if isinstance(value, str) and str(parse_ip(value)) == ip:
                return True
    return False


def erase(request: ErasureRequest, *, dry_run: bool = False) -> SetAsideCounts:
    """Delete the set-aside clicks of the request's IP address, session, job or application.

    Call it before :func:`tracking.services.erase_personal_data`, which may delete the links
    whose ids it matches by.
    """
    tracking_ids: set[str] = set()
    if request.job_id or request.application_id:
        tracking_ids = set(request.links().values_list("pk", flat=True))
    ip, session = request.ip_address, request.session_id
    needles = [value for value in (ip, session, *tracking_ids) if value]

    def revise(payload: str, fallback_us: int) -> str | None:
        body = _body(payload)
        if body is None:
            # Unreadable: deleted when it merely contains what the request names.
            return None if any(needle in payload for needle in needles) else payload
        matched = _matches(body, ip=ip, session=session, tracking_ids=tracking_ids)
        return None if matched else payload

    return _apply(revise, dry_run=dry_run)
