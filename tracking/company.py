""" "Someone at Fabrikam opened it": whether a click came from the network of the job's company.

A company that runs its own network announces it under its own autonomous system, registered in
the company's name: ``MICROSOFT-CORP-MSN-AS-BLOCK`` (AS8075), ``APPLE-ENGINEERING`` (AS714),
``SIEMENS-AS`` (AS15560), ``Deutsche Bank AG`` (AS35004), ``BMW-AG`` (AS8272). The ASN database
gives each click's AS organisation (``as_org``, :mod:`tracking.geo`); when it names the company of
the job the link belongs to, a person at that company very probably opened the link from the
office or the company VPN. That is the strongest evidence a job seeker can get.

How names are compared, and why:

- Both sides are *normalised*: accents folded, lower case, split into words on anything that is
  not a letter or a digit (registry handles use hyphens: ``SIEMENS-AS``), and legal forms and
  registry words dropped (``Inc``, ``GmbH``, ``AG``, ``Corp``, ``AS``, ``Block``…).
- A company name matches when its words appear *as whole words, in order* in the organisation's
  (``Fabrikam`` matches ``FABRIKAM-AS`` and ``Fabrikam, Inc.``, not ``FABRIKAMNET``), or when
  its words written together are one word of the organisation (``Deutsche Bank`` matches
  ``DEUTSCHEBANK``). Whole words keep ``Meta`` from matching ``METANET``.
- The job's :attr:`~tracking.models.Job.company_aliases` add names and domains
  (``fabrikam.com`` stands for ``fabrikam``; ``fabrikam.co.uk`` too), for a company whose network
  is registered under another name (a parent company, an old name).
- Only networks that are no listed kind count (the access networks, ``residential``): a cloud or
  hosting network is rented by anyone (a click from AWS is no Amazon employee), a mail-security
  company's network scans links for its customers, and mobile carriers, privacy relays and
  corporate gateways forward their *customers'* traffic, not their own staff's.

The flag is computed where the click is built (direct mode, the writer, reported clicks, the
geolocate backfill) and stored in ``link_clicks.from_company_network``; it is recomputed for a
job's clicks when the job's names change, and survives anonymisation (which drops ``as_org``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import Q

from tracking.geo import DEFAULT_NETWORK_KIND, NETWORK_KIND_LABELS
from tracking.models import LinkClick, TrackedLink

# Words that say what kind of entity or registration a name is, not which company.
IGNORED_WORDS = frozenset(
    {
        # legal forms
        "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "plc", "corp",
        "corporation", "co", "company", "gmbh", "mbh", "ag", "kg", "kgaa", "se", "sa", "sas",
        "sarl", "srl", "spa", "bv", "nv", "oy", "oyj", "ab", "as", "asa", "aps", "pty", "pte",
        "kk", "the", "and", "of", "group", "holding", "holdings",
        # registry handles
        "asn", "block", "backbone", "autonomous", "system",
    }
)  # fmt: skip
# Second-level labels under a country code (``fabrikam.co.uk``): not the company's name.
_SECOND_LEVEL_LABELS = frozenset({"co", "com", "ac", "or", "ne", "org", "net", "gov", "edu"})
_WORD = re.compile(r"[a-z0-9]+")

Key = tuple[str, ...]


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD.findall(folded.replace("&", " and "))


def _domain_label(text: str) -> str | None:
    """``fabrikam`` for ``fabrikam.com``, ``https://www.fabrikam.co.uk/jobs`` or ``@fabrikam.de``;
    None when ``text`` is no domain."""
    host = text.strip().lower()
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].rsplit("@", 1)[-1]
    if " " in host or "." not in host.strip("."):
        return None
    labels = [label for label in host.split(".") if label][:-1]  # without the top-level domain
    if len(labels) > 1 and labels[-1] in _SECOND_LEVEL_LABELS:
        labels.pop()
    return labels[-1] if labels else None


def name_key(name: str) -> Key:
    """A company name or domain as the words that identify it (empty when none do)."""
    # A domain, even inside a name ("Amazon.com, Inc."), stands for its label.
    pieces = [_domain_label(piece) or piece for piece in re.split(r"[\s,;]+", name) if piece]
    words = _words(" ".join(pieces))
    return tuple(word for word in words if word not in IGNORED_WORDS)


# The click writer asks for the keys of every link of every batch: the jobs repeat.
@functools.lru_cache(maxsize=4096)
def company_keys(company_name: str, aliases: str = "") -> tuple[Key, ...]:
    """The keys of a job's company: its name and each alias (one a line, or comma-separated)."""
    names = [company_name, *re.split(r"[\n,;]", aliases or "")]
    keys: list[Key] = []
    for name in names:
        key = name_key(name)
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def org_matches(as_org: str | None, keys: Iterable[Key]) -> bool:
    """Whether a network organisation's name is one of the company's (see the module's notes)."""
    if not as_org:
        return False
    return _org_matches(as_org, tuple(keys))


# Clicks repeat their networks and links their jobs: a repeated pair costs a dict lookup instead
# of folding and splitting the organisation's name again (measured: ~38,000 instructions a click
# uncached).
@functools.lru_cache(maxsize=8192)
def _org_matches(as_org: str, keys: tuple[Key, ...]) -> bool:
    words = [word for word in _words(as_org) if word not in IGNORED_WORDS]
    if not words:
        return False
    for key in keys:
        if _contains(words, key) or "".join(key) in words:
            return True
    return False


def _contains(words: Sequence[str], key: Key) -> bool:
    size = len(key)
    return any(tuple(words[i : i + size]) == key for i in range(len(words) - size + 1))


def from_company_network(
    *, as_org: str | None, network_kind: str | None, keys: Sequence[Key]
) -> bool | None:
    """The value stored for a click: None when its network or the job's company is unknown."""
    if not as_org or not keys:
        return None
    return network_kind == DEFAULT_NETWORK_KIND and org_matches(as_org, keys)


# --- Stored clicks --------------------------------------------------------------------------


def mark_click(click: LinkClick, keys: Sequence[Key]) -> None:
    """Set an unsaved click's ``from_company_network`` from its network and the job's keys."""
    click.from_company_network = from_company_network(
        as_org=click.as_org, network_kind=click.network_kind, keys=keys
    )


def keys_of_links(tracking_ids: Iterable[str]) -> dict[str, tuple[Key, ...]]:
    """The company keys of each link's job, in one query (links without a job are left out)."""
    rows = TrackedLink.objects.filter(
        tracking_id__in=set(tracking_ids), job__isnull=False
    ).values_list("tracking_id", "job__company_name", "job__company_aliases")
    return {tracking_id: company_keys(name, aliases) for tracking_id, name, aliases in rows}


def mark_clicks(
    clicks: Iterable[LinkClick], keys: Mapping[str, tuple[Key, ...]] | None = None
) -> None:
    """:func:`mark_click` for several clicks; ``keys`` by tracking id, loaded when not given (one
    query, and none when no click has a network organisation)."""
    clicks = list(clicks)
    if keys is None:
        located = {click.tracking_id for click in clicks if click.as_org}
        keys = keys_of_links(located) if located else {}
    for click in clicks:
        mark_click(click, keys.get(click.tracking_id, ()))


def refresh_job_clicks(job: Any) -> int:
    """Recompute the flag of a job's stored clicks after its names changed; returns how many
    clicks are marked now. Clicks whose network was anonymised away keep their flag."""
    keys = company_keys(job.company_name, job.company_aliases)
    clicks = LinkClick.objects.filter(tracking__job_id=job.pk, as_org__isnull=False)
    if not keys:
        clicks.update(from_company_network=None)
        return 0
    pairs = set(clicks.order_by().values_list("as_org", "network_kind").distinct())
    matching = Q(pk__in=[])
    for as_org, kind in pairs:
        if from_company_network(as_org=as_org, network_kind=kind, keys=keys):
            matching |= Q(as_org=as_org, network_kind=kind)
    marked = clicks.filter(matching).update(from_company_network=True)
    clicks.exclude(matching).update(from_company_network=False)
    return marked


# --- Words for people -----------------------------------------------------------------------


def network_words(*, network_kind: str | None, from_company: bool | None, company: str) -> str:
    """What the dashboard, the activity feed and alerts say of a click's network: the company's
    network when it matched, else the kind of network ("Home or office internet", "Mobile
    network", "Corporate gateway"…); empty when unknown."""
    if from_company:
        return f"{company}'s network" if company else "the company's network"
    return NETWORK_KIND_LABELS.get(network_kind or "", "")


def place_words(*parts: str | None) -> str:
    """``Berlin, Berlin, Germany`` → ``Berlin, Germany``: the known parts, each once, in order."""
    return ", ".join(dict.fromkeys(part for part in parts if part))
