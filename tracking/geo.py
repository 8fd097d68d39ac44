"""Where a click came from: country, region, city and network, from MaxMind-format databases.

The user downloads the databases (GeoLite2-City or DB-IP City Lite, or a Country database, for
``GEOIP_CITY_PATH``; GeoLite2-ASN or DB-IP ASN Lite for ``GEOIP_ASN_PATH``; see docs/geo.md)
and points the settings at them. Without them every click is stored with empty geo fields.

Costs and lifetimes, and why:

- Readers are opened on the first lookup, not at import: a process that never stores a click
  (the dashboard, a management command) never maps the files.
- A file replaced on disk (the monthly refresh) is picked up without a restart: its mtime is
  compared at most every :data:`RELOAD_CHECK_SECONDS`, so the check costs one ``stat`` per few
  minutes, not one per click.
- Lookups are cached per address (:data:`CACHE_SIZE` entries, LRU, emptied when a database is
  reloaded): a scanner or an office opening several links repeats its address, and a cached
  answer costs a dict lookup instead of a tree walk plus geoip2's model objects.
- A missing or corrupt file is logged once (until the file changes) and treated as absent: a
  click is never lost to geodata.

Network kinds come from the ASN, through ``data/asn_networks.csv`` (cited there) and the user's
own ``GEOIP_NETWORKS_PATH`` file in the same format, which wins.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb
from django.conf import settings

from tracking import classify
from tracking.classify import ClickSignals
from tracking.models import LinkClick

logger = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 300.0
# ~300 B an entry (the address, its Location): ~10 MB when full, and room for the distinct
# addresses a writer meets in a while (bench/ingest.py's 20,500; 8,192 entries missed half).
CACHE_SIZE = 32_768

DEMO_CITY_FILE = "demo-city.mmdb"
DEMO_ASN_FILE = "demo-asn.mmdb"
DEMO_DESCRIPTION = "linktrack demo data (made-up locations for the demo clicks)"

_NETWORKS_FILE = Path(__file__).resolve().parent / "data" / "asn_networks.csv"

# What a network kind means for a job seeker (dashboard wording).
NETWORK_KIND_LABELS: dict[str, str] = {
    "residential": "Home or office internet",
    "mobile": "Mobile network",
    "corporate_gateway": "Corporate gateway",
    "private_relay": "Privacy relay",
    "hosting": "Cloud or hosting provider",
    "mail_security": "Email-security company",
}
# Listed networks that forward real people's traffic: a click from them stays a person's.
PEOPLE_FORWARDING_KINDS = frozenset({"mobile", "corporate_gateway", "private_relay"})
# What an ASN absent from every list is taken to be: an access network (home, office, campus).
DEFAULT_NETWORK_KIND = "residential"

GEO_FIELDS = ("country_code", "region", "city", "asn", "as_org", "network_kind")


@dataclass(frozen=True, slots=True)
class Location:
    country_code: str | None = None
    region: str | None = None
    city: str | None = None
    asn: int | None = None
    as_org: str | None = None
    network_kind: str | None = None


NOWHERE = Location()


class _Database:
    """One database file: opened lazily, reopened when its mtime changes."""

    def __init__(self, kind: str, opener: Callable[[str], Any]) -> None:
        self.kind = kind
        self.opener = opener
        self.lock = threading.Lock()
        self.path: Path | None = None
        self.reader: Any = None
        self.mtime_ns: int | None = None
        self.checked_at = float("-inf")
        self.problem: str | None = None

    def current(self, path: Path | None) -> Any:
        now = time.monotonic()
        if path == self.path and now - self.checked_at < RELOAD_CHECK_SECONDS:
            return self.reader
        with self.lock:
            if path == self.path and now - self.checked_at < RELOAD_CHECK_SECONDS:
                return self.reader
            self._refresh(path)
            self.checked_at = now
            return self.reader

    def _refresh(self, path: Path | None) -> None:
        if path is None:
            self._set(None, None, None, None)
            return
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError as exc:
            self._set(path, None, None, f"cannot read {path}: {exc.strerror or exc}")
            return
        if path == self.path and mtime_ns == self.mtime_ns:
            return  # unchanged (or unchanged and still broken: warned already)
        try:
            reader = self.opener(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            self._set(path, None, mtime_ns, f"{path} is not a MaxMind database: {exc}")
            return
        self._set(path, reader, mtime_ns, None)
        logger.info("geo: %s database %s loaded (built %s)", self.kind, path, build_date(reader))

    def _set(
        self,
        path: Path | None,
        reader: Any,
        mtime_ns: int | None,
        problem: str | None,
    ) -> None:
        if problem and problem != self.problem:
            logger.warning("geo: %s; %s fields stay empty until it is fixed", problem, self.kind)
        changed = reader is not self.reader
        # The old reader is not closed: another thread may be inside a lookup on it; it is
        # unmapped when the last reference goes.
        self.path, self.reader, self.mtime_ns, self.problem = path, reader, mtime_ns, problem
        if changed:
            _cached_lookup.cache_clear()


# Networks whose city fields a reader keeps (~400 B an entry: ~3 MB when full). A city database
# holds a few million networks, but the clicks of a while come from far fewer.
NETWORK_CACHE_SIZE = 8192


class _CityReader:
    """A city (or country) database: geoip2's reader, whose models say what a record means, and
    the same file read raw, whose lookup also says which network the record covers.

    Every address of a network has the network's record, so the fields geoip2's models give
    for one address of it are those of all: a new address costs a tree walk (C) instead of a
    model per address (~20 µs). The fields are kept per network (:data:`NETWORK_CACHE_SIZE`,
    oldest out first) for this reader's file only.
    """

    def __init__(self, path: str) -> None:
        self.models = geoip2.database.Reader(path)
        self.tree = maxminddb.open_database(path)
        self.database_type = str(self.models.metadata().database_type)
        self.fields: dict[tuple[int, int, int], dict[str, Any]] = {}

    def metadata(self) -> Any:
        return self.models.metadata()


# City and country records go through geoip2's models. ASN records are read as they are:
# geoip2's ``asn()`` accepts only databases typed "GeoLite2-ASN", while DB-IP's ASN Lite and
# MaxMind's ISP databases hold the same two fields under other type names.
_city_db = _Database("city", _CityReader)
_asn_db = _Database("asn", maxminddb.open_database)


def build_date(reader: Any) -> str:
    epoch = reader.metadata().build_epoch
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).date().isoformat()


def _demo_path(name: str) -> Path | None:
    demo_dir = getattr(settings, "GEOIP_DEMO_DIR", None)
    if not demo_dir:
        return None
    path = Path(demo_dir) / name
    return path if path.exists() else None


def configured_paths() -> tuple[Path | None, Path | None, bool]:
    """``(city, asn, is_demo)``: the configured files, or the demo files ``load_demo`` wrote when
    neither setting is set."""
    city, asn = settings.GEOIP_CITY_PATH, settings.GEOIP_ASN_PATH
    if city or asn:
        return (Path(city) if city else None, Path(asn) if asn else None, False)
    demo_city, demo_asn = _demo_path(DEMO_CITY_FILE), _demo_path(DEMO_ASN_FILE)
    return demo_city, demo_asn, bool(demo_city or demo_asn)


class _Checked:
    """When the files were last looked at, and under which settings (a test, or a reconfigured
    process, changes them): between checks a lookup reads no settings file and makes no stat."""

    key: tuple[Any, ...] | None = None
    next_check = float("-inf")


def _readers() -> tuple[Any, Any]:
    key = (settings.GEOIP_CITY_PATH, settings.GEOIP_ASN_PATH, settings.GEOIP_DEMO_DIR)
    now = time.monotonic()
    if key != _Checked.key or now >= _Checked.next_check:
        city_path, asn_path, _demo = configured_paths()
        _city_db.current(city_path)
        _asn_db.current(asn_path)
        _Checked.key, _Checked.next_check = key, now + RELOAD_CHECK_SECONDS
    return _city_db.reader, _asn_db.reader


# --- Network kinds --------------------------------------------------------------------------


def _read_network_file(path: Path) -> dict[int, str]:
    kinds: dict[int, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.lstrip().startswith("#"))
        for row in rows:
            asn_text, kind = (row.get("asn") or "").strip(), (row.get("kind") or "").strip()
            if not asn_text:
                continue
            if kind not in NETWORK_KIND_LABELS:
                raise ValueError(f"{path}: AS{asn_text} has unknown kind {kind!r}")
            kinds[int(asn_text.upper().removeprefix("AS"))] = kind
    return kinds


@functools.lru_cache(maxsize=4)
def _network_kinds(override: str) -> dict[int, str]:
    kinds = _read_network_file(_NETWORKS_FILE)
    if override:
        try:
            kinds.update(_read_network_file(Path(override)))
        except (OSError, ValueError) as exc:
            logger.warning("geo: GEOIP_NETWORKS_PATH ignored: %s", exc)
    return kinds


def network_kind(asn: int | None) -> str | None:
    """The kind of network an ASN is (``hosting``, ``mail_security``, …), or None without one."""
    if asn is None:
        return None
    return _network_kinds(settings.GEOIP_NETWORKS_PATH).get(asn, DEFAULT_NETWORK_KIND)


# --- Lookups --------------------------------------------------------------------------------


def _city_fields(
    reader: _CityReader, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> dict[str, Any]:
    """geoip2's reading of the address's record (:func:`_model_fields`), once per network."""
    ip = str(address)
    if "City" not in reader.database_type and "Country" not in reader.database_type:
        return _model_fields(reader.models, ip)  # refused as geoip2 refuses it, before a lookup
    record, prefix_len = reader.tree.get_with_prefix_len(ip)
    if record is None:
        return {}  # geoip2's AddressNotFoundError
    # The network's first address identifies it; a prefix longer than the address (not one a
    # tree of this address's version gives) keys the address alone.
    shift = max(0, address.max_prefixlen - prefix_len)
    key = (address.version, prefix_len, int(address) >> shift)
    fields = reader.fields.get(key)
    if fields is None:
        fields = _model_fields(reader.models, ip)
        if len(reader.fields) >= NETWORK_CACHE_SIZE:
            reader.fields.pop(next(iter(reader.fields)), None)
        reader.fields[key] = fields
    return fields


def _model_fields(reader: geoip2.database.Reader, ip: str) -> dict[str, Any]:
    database_type = reader.metadata().database_type
    try:
        if "City" in database_type:
            record = reader.city(ip)
            region = record.subdivisions.most_specific.name
            return {
                "country_code": record.country.iso_code,
                "region": region[:100] if region else None,
                "city": record.city.name[:100] if record.city.name else None,
            }
        return {"country_code": reader.country(ip).country.iso_code}
    except geoip2.errors.AddressNotFoundError:
        return {}


def _asn_fields(reader: maxminddb.Reader, ip: str) -> dict[str, Any]:
    record = reader.get(ip)
    number = record.get("autonomous_system_number") if isinstance(record, dict) else None
    if not isinstance(number, int):
        return {}
    org = record.get("autonomous_system_organization") if isinstance(record, dict) else None
    return {
        "asn": number,
        "as_org": str(org)[:200] if org else None,
        "network_kind": network_kind(number),
    }


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_lookup(ip: str) -> Location:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return NOWHERE
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return NOWHERE
    ip = str(address)
    city_reader, asn_reader = _city_db.reader, _asn_db.reader
    fields: dict[str, Any] = {}
    try:
        if city_reader is not None:
            fields.update(_city_fields(city_reader, address))
        if asn_reader is not None:
            fields.update(_asn_fields(asn_reader, ip))
    except (ValueError, TypeError, maxminddb.InvalidDatabaseError) as exc:
        # A database damaged in a way its metadata did not show: no geo for this click.
        logger.warning("geo: lookup of a click's address failed: %s", exc)
        return NOWHERE
    return Location(**fields) if fields else NOWHERE


def locate(ip: str | None) -> Location:
    """Where an address is, as far as the configured databases know (never raises)."""
    if not ip:
        return NOWHERE
    city_reader, asn_reader = _readers()
    if city_reader is None and asn_reader is None:
        return NOWHERE
    return _cached_lookup(ip)


def locate_into(click: LinkClick, ip: str | None, *, country_only: bool = False) -> Location:
    """Set a click's geo fields from ``ip``; returns the full location (for classification).

    ``country_only`` is for a visitor who asked not to be tracked (Do Not Track / GPC): the row
    keeps the country and nothing finer.
    """
    location = locate(ip)
    click.country_code = location.country_code
    if not country_only:
        click.region = location.region
        click.city = location.city
        click.asn = location.asn
        click.as_org = location.as_org
        click.network_kind = location.network_kind
    return location


def locate_click(click: LinkClick, signals: ClickSignals) -> None:
    """Fill a built (and classified) click's geo fields and add its network's reason.

    The address is the row's, or for a Do-Not-Track click (no IP in the row) the one its signals
    still carry: the visitor's own in the request, or in buffered mode only the /24 (IPv6: /48)
    network it belongs to, which is the smallest block routed on the internet and so has the
    visitor's ASN and country. Such a click keeps the country only.
    """
    location = locate_into(
        click, click.ip_address or signals.client_ip, country_only=click.ip_address is None
    )
    classify.apply_network_kind(click, location.network_kind)


def reset() -> None:
    """Forget the open readers and cached answers (tests, and after changing the settings)."""
    for database in (_city_db, _asn_db):
        with database.lock:
            database.path = database.reader = database.mtime_ns = database.problem = None
            database.checked_at = float("-inf")
    _Checked.key, _Checked.next_check = None, float("-inf")
    _cached_lookup.cache_clear()
    _network_kinds.cache_clear()


# --- Health ---------------------------------------------------------------------------------


def _database_state(database: _Database, path: Path | None) -> dict[str, Any]:
    reader = database.current(path)
    if path is None:
        return {"configured": False}
    if reader is None:
        return {"configured": True, "loaded": False, "problem": database.problem}
    metadata = reader.metadata()
    return {
        "configured": True,
        "loaded": True,
        "database_type": metadata.database_type,
        "build_date": build_date(reader),
    }


def geo_state() -> dict[str, Any]:
    """The databases in use and their build dates, for the full health report. Geodata is
    optional, so a missing database is reported but never makes the service unhealthy."""
    city_path, asn_path, is_demo = configured_paths()
    state: dict[str, Any] = {
        "status": "ok",
        "city": _database_state(_city_db, city_path),
        "asn": _database_state(_asn_db, asn_path),
    }
    if is_demo:
        state["demo"] = True
        state["note"] = DEMO_DESCRIPTION
    return state


# --- Writing databases (demo data, tests) ---------------------------------------------------


def write_database(
    path: Path, *, database_type: str, description: str, networks: dict[str, dict[str, Any]]
) -> None:
    """Write a MaxMind-format database mapping CIDR networks (IPv4 and IPv6) to records shaped
    like MaxMind's (``{"country": {"iso_code": "DE"}, …}`` or ``{"autonomous_system_number": …}``).

    The file is written beside ``path`` and renamed over it, so a process reading the old file
    never sees a half-written one.
    """
    import netaddr  # type: ignore[import-untyped]
    from mmdb_writer import MMDBWriter

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description=description,
    )
    for network, record in networks.items():
        writer.insert_network(netaddr.IPSet([network]), record)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    writer.to_db_file(str(partial))
    partial.replace(path)
