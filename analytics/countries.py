"""ISO 3166-1 countries: names for the dashboard and the numeric codes world-atlas's map uses.

From ``data/countries.csv`` (generated from the i18n-iso-countries package, cited there).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

_COUNTRIES_FILE = Path(__file__).resolve().parent / "data" / "countries.csv"


@functools.lru_cache(maxsize=1)
def countries() -> dict[str, tuple[str, str]]:
    """``{alpha-2: (numeric code, English name)}``."""
    with _COUNTRIES_FILE.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["alpha2"]: (row["numeric"], row["name"]) for row in rows}


def country_name(code: str | None) -> str:
    if not code:
        return "Unknown"
    known = countries().get(code.upper())
    return known[1] if known else code


def numeric_code(code: str | None) -> str | None:
    known = countries().get(code.upper()) if code else None
    return known[0] if known else None
