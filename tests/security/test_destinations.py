"""Hostile destination URLs: each gets its verdict from the service and the API, and a redirect
only ever sends a browser to a public host, read the way a browser reads it."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess

import pytest
from django.test import Client
from django.utils.encoding import iri_to_uri

from tests.factories import key_client, make_key
from tests.security.cases import ACCEPTED, ALL_CASES, REPORTED, Case
from tests.support import error_of, post_json
from tracking import hosts, services
from tracking.models import LinkClick, TrackedLink

NODE = shutil.which("node")


def _case_id(case: Case) -> str:
    return ascii(case.url[:70])


def _message(code: str) -> str:
    if code == "too_long":
        return f"The URL is longer than {services.URL_MAX} characters."
    return hosts.MESSAGES[code]


def _serialised(host: hosts.Host) -> str:
    return f"[{host.compressed}]" if isinstance(host, ipaddress.IPv6Address) else str(host)


ACCEPTED_CASES = [case for case in ALL_CASES if case.verdict == ACCEPTED]
# Through the API: the reported forms and every third case, leaving out what the JSON field
# itself refuses before the service sees it (NUL characters, more than 1000 characters).
API_SAMPLE = REPORTED + [
    case
    for case in ALL_CASES[::3]
    if "\x00" not in case.url and len(case.url.strip()) <= services.URL_MAX
]


def test_the_table_is_large_and_covers_every_refusal() -> None:
    assert len(ALL_CASES) >= 200
    assert len({case.url for case in ALL_CASES}) == len(ALL_CASES)
    assert {case.verdict for case in ALL_CASES} == {ACCEPTED, "too_long", *hosts.MESSAGES}


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_the_service_gives_each_destination_its_verdict(case: Case) -> None:
    if case.verdict == ACCEPTED:
        assert services.validate_destination_url(case.url) == case.url.strip()
        assert _serialised(hosts.check_destination(case.url.strip()).host) == case.host
        return
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.validate_destination_url(case.url)
    assert excinfo.value.field == "original_url"
    assert excinfo.value.message == _message(case.verdict)


@pytest.mark.parametrize("url", [case.url for case in REPORTED])
def test_hex_and_mixed_forms_of_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(services.ValidationFailed, match="private, loopback or reserved"):
        services.validate_destination_url(url)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://0x7f.0x1:8080/admin", "127.0.0.1"),
        ("http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", "169.254.169.254"),
        ("http://192.168.0.0x1/", "192.168.0.1"),
        ("http://127.0.0.0x1/", "127.0.0.1"),
        ("http://0x.0x/", "0.0.0.0"),  # noqa: S104 - an address read, never bound
    ],
)
def test_the_reported_forms_are_read_as_browsers_read_them(url: str, address: str) -> None:
    assert hosts.parse_destination(url).host == ipaddress.ip_address(address)


@pytest.mark.parametrize("case", ACCEPTED_CASES, ids=_case_id)
def test_the_redirect_header_names_the_host_that_was_judged(case: Case) -> None:
    # Django writes the Location header through iri_to_uri, which percent-encodes non-ASCII and a
    # few other characters; a browser decodes them again in the host, to the same host.
    location = iri_to_uri(case.url.strip())
    assert _serialised(hosts.parse_destination(location).host) == case.host


@pytest.mark.django_db
@pytest.mark.parametrize("case", API_SAMPLE, ids=_case_id)
def test_the_create_endpoint_agrees_and_redirects_only_to_public_hosts(case: Case) -> None:
    body = {"original_url": case.url, "link_function": "portfolio", "link_type": "website"}
    response = post_json(key_client(make_key()), "/api/link-tracking/create", body)
    if case.verdict != ACCEPTED:
        assert response.status_code == 400, response.content
        error = error_of(response)
        assert error["code"] == "invalid"
        assert error["fields"] == {"original_url": [_message(case.verdict)]}
        assert not TrackedLink.objects.exists()
        return
    assert response.status_code == 201, response.content
    redirect = Client().get(f"/track/{response.json()['tracking_id']}")
    assert redirect.status_code == 302
    destination = hosts.parse_destination(redirect["Location"])
    assert _serialised(destination.host) == case.host
    hosts.judge_host(destination.host)  # raises DestinationRefused for a non-public host


@pytest.mark.skipif(
    NODE is None,
    reason="needs Node.js, whose URL class is a WHATWG URL parser: apt-get install -y nodejs",
)
def test_every_host_we_read_is_the_host_a_whatwg_url_parser_reads() -> None:
    """Cross-check against an independent implementation of the standard (Node's ``URL``).

    Where both read a host they must read the same one; where the standard fails, we refuse. We
    may refuse more than a browser does (user information, IDNA 2008 rules), never less.
    """
    urls = [case.url.strip() for case in ALL_CASES]
    script = (
        "const urls = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(urls.map(u => { try { return new URL(u).hostname }"
        " catch (e) { return null } })));"
    )
    assert NODE is not None
    run = subprocess.run(
        [NODE, "-e", script], input=json.dumps(urls), capture_output=True, text=True, check=True
    )
    browser_hosts = json.loads(run.stdout)
    disagreements = []
    for case, browser_host in zip(ALL_CASES, browser_hosts, strict=True):
        try:
            ours = hosts.parse_destination(case.url.strip()).host
        except hosts.DestinationRefused:
            continue
        if browser_host is None:
            disagreements.append((case.url, _serialised(ours), None))
        elif isinstance(ours, str):
            if ours != browser_host:
                disagreements.append((case.url, ours, browser_host))
        elif ours != ipaddress.ip_address(browser_host.strip("[]")):
            disagreements.append((case.url, _serialised(ours), browser_host))
    assert disagreements == []
    refused_by_browser = [
        case.url for case, host in zip(ALL_CASES, browser_hosts, strict=True) if host is None
    ]
    assert refused_by_browser
    assert all(case.verdict != ACCEPTED for case in ALL_CASES if case.url in refused_by_browser)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://0x7f.0x1:8080/admin", 404),
        ("http://[::ffff:7f00:1]/", 404),
        ("http://nas.lan/", 404),
        ("http://evil.com\\@good.com/", 404),
        # Refused today by the stricter IDNA 2008 rules, yet a public name: it keeps working.
        ("http://i\u2764.ws/", 302),
    ],
)
def test_a_stored_destination_is_judged_again_before_a_redirect(url: str, status: int) -> None:
    # Rows written by plain SQL, or accepted under older rules, never reach the service checks.
    TrackedLink.objects.create(
        tracking_id="lt_stored",
        original_url=url,
        redirect_url="https://links.example.com/track/lt_stored",
        link_function="portfolio",
        link_type="website",
    )
    response = Client().get("/track/lt_stored")
    assert response.status_code == status
    assert LinkClick.objects.count() == (1 if status == 302 else 0)
