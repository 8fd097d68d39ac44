"""Regenerate ``tracking/data/matomo_bots.txt`` from Matomo Device Detector's bot list.

    pip install --no-deps --target /tmp/evalpkgs device-detector==6.5.1
    .venv/bin/python bench/classify_botlist.py /tmp/evalpkgs > tracking/data/matomo_bots.txt

The ``device-detector`` package (a Python port of Matomo's Device Detector) classifies an agent in
1.5-70 ms of CPU with the ``regex`` module, far over the classifier's budget, and pulls in three
compiled dependencies. Only its bot list (``regexes/upstream/bots.yml``) is needed: this script
writes its patterns, one a line, for :mod:`tracking.useragents` to run on RE2 in linear time.
Patterns with a look-behind or an inner look-ahead, which RE2 cannot run, are written as comments
so that the file says what it leaves out.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracking.useragents import not_followed_by

# A look-ahead on a plain word inside a pattern, e.g. ``zeal(?!ot)``: RE2 spells it out.
_INNER_LOOKAHEAD = re.compile(r"\(\?!(?P<word>[A-Za-z0-9]+)\)")


def re2_ready(pattern: str) -> str | None:
    """The pattern without constructs RE2 lacks, or None if it cannot be kept exactly."""
    pattern = _INNER_LOOKAHEAD.sub(lambda m: not_followed_by(m["word"]), pattern)
    if "(?<" in pattern.replace("(?<P", "") or "(?!" in pattern or "(?=" in pattern:
        return None
    return pattern


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/evalpkgs")
    source = root / "device_detector" / "regexes" / "upstream" / "bots.yml"
    version = (
        next(root.glob("device_detector-*.dist-info")).name.split("-")[1].removesuffix(".dist")
    )
    entries = yaml.safe_load(source.read_text())
    print("# Bot user-agent patterns of Matomo Device Detector (regexes/bots.yml), one a line.")
    print("#")
    print("# Source: https://github.com/matomo-org/device-detector, regexes/bots.yml, as shipped")
    print(f"# in the PyPI package device-detector {version} (device_detector/regexes/upstream/")
    print(f"# bots.yml), extracted on {dt.date.today().isoformat()} by bench/classify_botlist.py.")
    print("# Licence: LGPL-3.0-or-later (c) Matomo and contributors; this file is a verbatim")
    print("# extract (inner look-aheads spelt out for RE2), redistributable under that licence.")
    print("#")
    print(
        "# Each pattern is searched case-insensitively after a boundary, as Device Detector does:"
    )
    print("# (?:^|[^A-Z0-9_-]|[^A-Z0-9-]_|sprd-|MZ-)(?:pattern). Lines starting with '#' are")
    print("# comments; '# left out:' lines are patterns RE2 cannot run (look-behinds).")
    for entry in entries:
        pattern = entry["regex"]
        ready = re2_ready(pattern)
        if ready is None:
            print(f"# left out: {pattern}")
        else:
            print(ready)


if __name__ == "__main__":
    main()
