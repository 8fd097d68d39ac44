"""Small MaxMind-format databases for the geo tests, written with mmdb-writer.

Addresses come from the documentation ranges (RFC 5737, RFC 3849) so that no real network is
named; the ASNs are real, so that the built-in network list applies to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracking import geo

BERLIN_IP = "198.51.100.23"  # a home line in Berlin
PARIS_IP6 = "2001:db8:1::7"  # an IPv6 line in Paris
CLOUD_IP = "203.0.113.10"  # a cloud provider (AWS)
MAIL_SECURITY_IP = "192.0.2.10"  # an email-security company (Proofpoint)
GATEWAY_IP = "192.0.2.200"  # a corporate secure web gateway (Zscaler)
FABRIKAM_IP6 = "2001:db8:2::10"  # the office network of a company, Fabrikam, with its own AS
FABRIKAM_ASN = 64501  # a documentation ASN (RFC 5398): in no list, so an access network


def _place(country: str, region: str | None, city: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"country": {"iso_code": country, "names": {"en": country}}}
    if region:
        record["subdivisions"] = [{"iso_code": region[:2].upper(), "names": {"en": region}}]
    if city:
        record["city"] = {"names": {"en": city}}
    return record


CITY_NETWORKS: dict[str, dict[str, Any]] = {
    "198.51.100.0/24": _place("DE", "Berlin", "Berlin"),
    "2001:db8:1::/48": _place("FR", "Île-de-France", "Paris"),
    "203.0.113.0/24": _place("US", "Virginia", "Ashburn"),
    "192.0.2.0/25": _place("US", "California", "Sunnyvale"),
    "192.0.2.128/25": _place("CH", "Zurich", "Zurich"),
    "2001:db8:2::/48": _place("DE", "Bavaria", "Munich"),
}
ASN_NETWORKS: dict[str, dict[str, Any]] = {
    "198.51.100.0/24": {
        "autonomous_system_number": 3320,
        "autonomous_system_organization": "Deutsche Telekom AG",
    },
    "2001:db8:1::/48": {
        "autonomous_system_number": 3215,
        "autonomous_system_organization": "Orange S.A.",
    },
    "203.0.113.0/24": {
        "autonomous_system_number": 16509,
        "autonomous_system_organization": "AMAZON-02",
    },
    "192.0.2.0/25": {
        "autonomous_system_number": 26211,
        "autonomous_system_organization": "PROOFPOINT-ASN-US-WEST",
    },
    "192.0.2.128/25": {
        "autonomous_system_number": 22616,
        "autonomous_system_organization": "ZSCALER-SJC1",
    },
    "2001:db8:2::/48": {
        "autonomous_system_number": FABRIKAM_ASN,
        "autonomous_system_organization": "FABRIKAM-EU-AS",
    },
}


def write_city(path: Path, networks: dict[str, dict[str, Any]] | None = None) -> Path:
    geo.write_database(
        path,
        database_type="GeoLite2-City",
        description="test city database",
        networks=CITY_NETWORKS if networks is None else networks,
    )
    return path


def write_asn(path: Path, networks: dict[str, dict[str, Any]] | None = None) -> Path:
    geo.write_database(
        path,
        database_type="GeoLite2-ASN",
        description="test ASN database",
        networks=ASN_NETWORKS if networks is None else networks,
    )
    return path
