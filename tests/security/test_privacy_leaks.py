"""Personal data where it does not belong: e-mail addresses and credentials in a click's stored
metadata, full payloads in the dead-letter stream and the spool's rejected files, and in logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import key_client, make_job, make_key, make_link
from tests.support import post_json, run_command
from tracking import services
from tracking.clicks import capture
from tracking.clicks import spool as clickspool
from tracking.clicks import stream as clickstream
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
HARMLESS = {
    "utm_source": "email",
    "utm_medium": "application",
    "utm_campaign": "SummerCampaign2025Launch",
    "utm_content": "linkedin-outreach-q3-2025",
    "utm_term": "senior backend engineer",
    "keyword": "python",
    "ref": "newsletter",
    "page": "https://www.example.com/jobs/view/3845792345/",
    "application": "550e8400-e29b-41d4-a716-446655440001",
    "order": "1" * 40,
}
# Each one alone in a query string must leave nothing behind.
SECRETS = {
    "email": "alice",
    "e-mail": "x",
    "to": "alice@example.com",
    "from": "Alice <alice.smith+jobs%40example.co.uk>",
    "token": "abc",
    "access_token": "abc",
    "accessToken": "abc",
    "apiKey": "abc",
    "api_key": "abc",
    "X-Api-Key": "abc",
    "client_secret": "abc",
    "password": "hunter2",
    "passwd": "hunter2",
    "auth": "abc",
    "Authorization": "Bearer abc",
    "session": "abc",
    "sessionid": "abc",
    "code": "123456",
    "otp": "123456",
    "sig": "abc",
    "id_token": "abc",
    "t": JWT,
    "r": "Bearer " + JWT,
    "h": secrets.token_hex(16),
    "k": secrets.token_hex(24).upper(),
    "s": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "u": "https://example.org/reset/" + "dBjftJeZ4CVPmB92K27uhbUJU1p1rwW1gFWFOEjXk",
    "gclid": "EAIaIQobChMIvN7jz8fW_AIVGeJ3Ch0QAAYASAAEgJd5fD_BwE",
    "alice@example.com": "1",
}


def _visit(query: dict[str, str]) -> LinkClick:
    link = make_link()
    response = Client().get(f"/track/{link.tracking_id}?{urlencode(query)}")
    assert response.status_code == 302
    return LinkClick.objects.get()


def test_the_redirect_keeps_utm_and_other_harmless_parameters() -> None:
    assert _visit(HARMLESS).metadata == HARMLESS


@pytest.mark.parametrize(("name", "value"), list(SECRETS.items()))
def test_the_redirect_drops_a_parameter_holding_an_address_or_a_credential(
    name: str, value: str
) -> None:
    metadata = _visit({"utm_source": "email", name: value}).metadata
    assert metadata == {"utm_source": "email"}


def test_secrets_never_reach_the_queued_click_either() -> None:
    """Buffered mode queues the captured fields unvalidated: the filter runs at capture."""
    link = make_link()
    request = RequestFactory().get("/track/x", {"utm_source": "email", **SECRETS})
    captured = capture.capture_request(request, link=_resolved(link.tracking_id))
    assert captured.fields["metadata"] == {"utm_source": "email"}


def _resolved(tracking_id: str) -> Any:
    from tracking import linkcache

    resolved = linkcache.resolve_link(tracking_id)
    assert resolved is not None
    return resolved


def test_a_reported_click_keeps_harmless_metadata_and_drops_secrets_at_any_depth() -> None:
    link = make_link()
    metadata = {
        **HARMLESS,
        "recipient": "bob@example.org",
        "nested": {"password": "x", "list": ["ok", JWT, 3], "note": "kept"},
        "count": 3,
    }
    response = post_json(
        key_client(make_key()),
        "/api/link-tracking/record-click",
        {"tracking_id": link.tracking_id, "metadata": metadata},
    )
    assert response.status_code == 201, response.content
    assert LinkClick.objects.get().metadata == {
        **HARMLESS,
        "nested": {"list": ["ok", 3], "note": "kept"},
        "count": 3,
    }


def test_the_service_layer_filters_metadata_for_every_caller() -> None:
    link = make_link()
    services.record_click(
        tracking_id=link.tracking_id,
        metadata={"utm_source": "email", "email": "alice@example.com"},
    )
    assert LinkClick.objects.get().metadata == {"utm_source": "email"}


def test_dropped_parameters_count_against_the_parameter_limit() -> None:
    """The checks run on at most QUERY_MAX_PARAMS parameters, whatever the query holds."""
    query = {f"token{i}": "x" for i in range(capture.QUERY_MAX_PARAMS)}
    query["utm_source"] = "email"
    assert _visit(query).metadata == {}


# --- Set-aside clicks: the dead-letter stream and the spool's rejected files ----------------

VISITOR_IP = "203.0.113.7"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def _payload(
    tracking_id: str, *, days_ago: float, ip: str = VISITOR_IP, session: str = "sess_abc123"
) -> str:
    click = services.build_click(
        tracking_id=tracking_id,
        clicked_at=timezone.now() - dt.timedelta(days=days_ago),
        ip_address=ip,
        user_agent=CHROME,
        session_id=session,
    )
    signals = {"client_ip": ip, "user_agent": CHROME, "rate_key": "abc", "has_accept_language": 1}
    return clickstream.encode_click(click, signals=signals)


def _reject(lines: list[str]) -> Path:
    """Spool ``lines`` and replay them into a store that understands none of them."""
    for line in lines:
        clickspool.append(line)
    clickspool.replay(lambda given: given)
    [rejected] = clickspool.spool_dir().glob("*.rejected.jsonl")
    return rejected


@pytest.fixture
def no_redis(settings: Any) -> None:
    settings.REDIS_URL = ""  # the rejected-file tests leave every dead-letter stream alone


def test_the_rejected_file_is_readable_by_its_owner_only(no_redis: None) -> None:
    rejected = _reject(["not a click"])
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600


def test_a_click_that_can_be_neither_stored_nor_spooled_is_not_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(click: LinkClick) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    def disk_full(payload: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "insert_new_click", database_down)
    monkeypatch.setattr(clickspool, "append", disk_full)
    link = make_link()
    caplog.set_level(logging.DEBUG)
    response = Client(REMOTE_ADDR=VISITOR_IP, HTTP_USER_AGENT=CHROME).get(
        f"/track/{link.tracking_id}?utm_source=email"
    )
    assert response.status_code == 302
    assert "lost" in caplog.text  # the loss itself is reported …
    assert VISITOR_IP not in caplog.text  # … without the visitor
    assert "Chrome/130.0" not in caplog.text
    assert "utm_source" not in caplog.text


def test_a_database_error_is_described_without_the_row_it_quotes() -> None:
    error = IntegrityError(
        'null value in column "tracking_id" of relation "link_clicks" violates not-null '
        f"constraint\nDETAIL:  Failing row contains (abc, null, {VISITOR_IP}, {CHROME})."
    )
    described = services.describe_database_error(error)
    assert described.startswith("IntegrityError: null value in column")
    assert VISITOR_IP not in described and "Chrome" not in described
    syntax = DataError(f'invalid input syntax for type inet: "{VISITOR_IP}x"')
    assert VISITOR_IP not in services.describe_database_error(syntax)


def test_an_entry_of_an_unknown_format_is_refused_without_quoting_it() -> None:
    with pytest.raises(clickstream.MalformedEntry) as refused:
        clickstream.decode_click(json.dumps({"v": 99, "ip": VISITOR_IP, "ua": CHROME}))
    assert VISITOR_IP not in str(refused.value) and "Chrome" not in str(refused.value)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_anonymization_strips_old_rejected_lines_and_drops_unreadable_old_ones(
    no_redis: None,
) -> None:
    link = make_link()
    rejected = _reject(
        [
            _payload(link.tracking_id, days_ago=100),
            _payload(link.tracking_id, days_ago=10),
            "garbage " + VISITOR_IP,
        ]
    )
    old = time.time() - 100 * 86400
    os.utime(rejected, (old, old))  # the unreadable line is as old as its file

    output = run_command("anonymize_clicks")

    assert "Set-aside clicks" in output and "1 anonymized, 1 deleted" in output
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600
    anonymized, recent = _lines(rejected)
    assert not {"ip", "ua", "sid"} & anonymized.keys()
    assert not {"client_ip", "user_agent", "rate_key"} & anonymized["sig"].keys()
    assert anonymized["t"] == link.tracking_id and anonymized["sig"]["has_accept_language"] == 1
    assert (recent["ip"], recent["ua"], recent["sid"]) == (VISITOR_IP, CHROME, "sess_abc123")
    assert "Set-aside" not in run_command("anonymize_clicks")  # idempotent


def test_the_purge_deletes_rejected_lines_past_click_retention(no_redis: None) -> None:
    link = make_link()
    rejected = _reject(
        [_payload(link.tracking_id, days_ago=800), _payload(link.tracking_id, days_ago=3)]
    )
    assert "1 to delete" in run_command("purge_clicks", "--dry-run")
    assert len(_lines(rejected)) == 2  # the dry run changed nothing

    run_command("purge_clicks")

    [kept] = _lines(rejected)
    assert kept["at"] > (time.time() - 10 * 86400) * 1_000_000
    run_command("purge_clicks", "--days", "1")
    assert not rejected.exists()  # a file left empty is removed


@pytest.mark.parametrize(
    ("option", "value"),
    [("--ip", VISITOR_IP), ("--ip", "::ffff:203.0.113.7"), ("--session", "sess_abc123")],
)
def test_erasure_deletes_the_matching_rejected_lines(
    no_redis: None, option: str, value: str
) -> None:
    link = make_link()
    rejected = _reject(
        [
            _payload(link.tracking_id, days_ago=1),
            _payload(link.tracking_id, days_ago=1, ip="::ffff:203.0.113.7"),
            _payload(link.tracking_id, days_ago=1, ip="198.51.100.1", session="sess_other"),
            "garbage " + VISITOR_IP + " sess_abc123",
        ]
    )
    output = run_command("erase", option, value)
    assert "Set-aside clicks" in output
    assert [line["sid"] for line in _lines(rejected)] == ["sess_other"]


def test_erasing_a_job_deletes_the_rejected_lines_of_its_links(no_redis: None) -> None:
    job = make_job()
    link = make_link(job=job)
    other = make_link()
    rejected = _reject(
        [_payload(link.tracking_id, days_ago=1), _payload(other.tracking_id, days_ago=1)]
    )
    run_command("erase", "--job", str(job.id), "--include-links")
    assert [line["t"] for line in _lines(rejected)] == [other.tracking_id]


def _dead_letters(stream: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    entries: Any = client.xrange(f"{stream}:dead")
    return [dict(fields) for _id, fields in entries]


def _dead_letter(stream: str, payload: str) -> None:
    consumer = clickstream.StreamConsumer(
        client=redis.Redis.from_url(settings.REDIS_URL), consumer="test"
    )
    entry_id: Any = redis.Redis.from_url(settings.REDIS_URL).xadd(stream, {"c": payload})
    consumer.dead_letter(clickstream.Entry(entry_id.decode(), payload.encode()), "test reason")


@pytest.mark.redis
def test_the_privacy_rules_reach_the_dead_letter_stream(stream: str) -> None:
    link = make_link()
    _dead_letter(stream, _payload(link.tracking_id, days_ago=800, session="sess_ancient"))
    _dead_letter(stream, _payload(link.tracking_id, days_ago=100, session="sess_old"))
    _dead_letter(stream, _payload(link.tracking_id, days_ago=1, ip="198.51.100.1"))
    _dead_letter(stream, _payload(link.tracking_id, days_ago=1, session="sess_recent"))

    run_command("anonymize_clicks")
    run_command("purge_clicks")
    run_command("erase", "--ip", "198.51.100.1")

    entries = _dead_letters(stream)
    assert len(entries) == 2
    # A rewritten entry is appended anew: the anonymized one comes last.
    recent, anonymized = (json.loads(entry["payload"]) for entry in entries)
    assert anonymized["t"] == link.tracking_id and "sid" not in anonymized
    assert not {"ip", "ua"} & anonymized.keys() and "client_ip" not in anonymized["sig"]
    assert (recent["ip"], recent["sid"]) == (VISITOR_IP, "sess_recent")
    assert {entry["reason"] for entry in entries} == {"test reason"}


# --- The referrer: the same rule for the page a link was opened from ------------------------


@pytest.mark.parametrize(
    ("referrer", "stored"),
    [
        ("https://mail.google.com/", "https://mail.google.com/"),
        (
            "https://www.indeed.com/viewjob?jk=1&from=serp",
            "https://www.indeed.com/viewjob?jk=1&from=serp",
        ),
        (
            "https://crm.example.com/inbox?email=alice%40example.com&tab=2",
            "https://crm.example.com/inbox?tab=2",
        ),
        (
            "https://app.example.com/cb#access_token=abc&state=ok",
            "https://app.example.com/cb#state=ok",
        ),
        ("https://bob:hunter2@intranet.example.com/page", "https://intranet.example.com/page"),
        ("https://example.com/reset?token=abc", "https://example.com/reset"),
    ],
)
def test_the_referrer_keeps_no_address_or_credential(referrer: str, stored: str) -> None:
    link = make_link()
    Client(HTTP_REFERER=referrer).get(f"/track/{link.tracking_id}")
    services.record_click(tracking_id=link.tracking_id, referrer_url=referrer)
    assert set(LinkClick.objects.values_list("referrer_url", flat=True)) == {stored}


def test_the_referrer_never_reaches_the_queued_click_with_a_secret() -> None:
    link = make_link()
    request = RequestFactory().get("/track/x", HTTP_REFERER="https://x.example/?to=a@b.example")
    captured = capture.capture_request(request, link=_resolved(link.tracking_id))
    assert captured.fields["referrer_url"] == "https://x.example/"
