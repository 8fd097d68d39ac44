"""Networks the user adds to the scanner list through SCANNER_NETWORKS_FILE."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tracking import classify


def judge(ip: str) -> classify.Verdict:
    return classify.classify_click(
        http_method="GET",
        user_agent=(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/130.0.0.0 Safari/537.36"
        ),
        has_accept_language=True,
        client_ip=ip,
        clicked_at=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),
        link_created_at=None,
        scanner_window_seconds=10,
    )


def test_the_users_networks_join_the_built_in_ones(tmp_path: Path, settings: Any) -> None:
    extra = tmp_path / "networks.txt"
    extra.write_text("# our gateway vendor\n192.0.2.0/25  # EU scanners\n2001:db8:5::/48\n")
    settings.SCANNER_NETWORKS_FILE = str(extra)
    assert judge("192.0.2.77").reasons == ("scanner_network",)
    assert judge("2001:db8:5::9").classification == "scanner"
    assert judge("40.107.1.1").classification == "scanner"  # the built-in list still counts
    assert judge("192.0.2.200").classification == "human"


def test_without_the_setting_only_the_built_in_networks_count(settings: Any) -> None:
    settings.SCANNER_NETWORKS_FILE = ""
    assert judge("192.0.2.77").classification == "human"


def test_a_line_that_is_no_network_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "networks.txt"
    bad.write_text("192.0.2.0/25\nproofpoint\n")
    with pytest.raises(ValueError, match=r"networks.txt, line 2: not a network: 'proofpoint'"):
        classify.read_networks(bad)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SCANNER_NETWORKS_FILE", "/nonexistent/networks.txt", "must name a readable file"),
        ("OWNER_NETWORKS", "203.0.113.0/24,home", "must be IP addresses or CIDR networks"),
    ],
)
def test_a_bad_network_setting_stops_the_start_up(variable: str, value: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", "import linktrack.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**env, "SECRET_KEY": "x", variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"{variable} {message}" in result.stderr


# Addresses inside each vendor's published blocks (tracking/data/scanner_networks/), and
# ordinary access networks next to them that must stay people.
@pytest.mark.parametrize(
    "ip",
    [
        "40.107.22.5",  # Microsoft Exchange Online Protection
        "66.249.84.213",  # Gmail's image proxy and link checks
        "209.85.218.41",  # Gmail's mail servers
        "2a00:1450:4864:20::131",  # Gmail over IPv6
        "205.139.110.61",  # Mimecast US
        "195.130.217.221",  # Mimecast UK
        "209.222.82.252",  # Barracuda US
        "64.235.150.210",  # Barracuda US
    ],
)
def test_the_vendors_published_networks_are_scanners(ip: str) -> None:
    assert judge(ip).reasons == ("scanner_network",)


@pytest.mark.parametrize("ip", ["66.249.66.1", "86.12.44.9", "2a02:c7c:1234::1", "91.220.43.1"])
def test_neighbouring_networks_stay_people(ip: str) -> None:
    # 66.249.66.1 is Googlebot (a crawler by its agent, not by this list).
    assert judge(ip).classification == "human"


def test_every_vendor_file_cites_its_source_and_date() -> None:
    folder = Path(classify.__file__).parent / "data" / "scanner_networks"
    files = sorted(folder.glob("*.txt"))
    assert {path.stem for path in files} >= {"microsoft", "google", "mimecast", "barracuda"}
    for path in files:
        header = path.read_text()
        assert "Source:" in header, path.name
        assert "https://" in header, path.name
        assert classify.read_networks(path), path.name
