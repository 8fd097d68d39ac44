"""The burst pre-check's table beside a SQLite database (tracking.clicks.burstmemory): it may let
through too many burst checks, never too few, across processes."""

from __future__ import annotations

import os
from pathlib import Path

from tracking.clicks import burstmemory

NET = "203.0.113.0/24"


def ask(path: Path, tracking_id: str, at: float, *, application_id: str = "app-1") -> bool:
    return burstmemory.possible(
        path,
        application_id=application_id,
        network=NET,
        tracking_id=tracking_id,
        at=at,
        memory=10,
    )


def test_a_second_link_of_the_application_is_a_possible_burst(tmp_path: Path) -> None:
    table = tmp_path / "db.sqlite3-burst"
    assert ask(table, "link-a", 1000.0) is False
    assert ask(table, "link-a", 1000.5) is False  # the same link again: no burst
    assert ask(table, "link-b", 1001.0) is True
    assert ask(table, "link-b", 1001.2) is True  # link-a was opened 0.7 s before
    assert ask(table, "link-b", 1030.0) is False  # long after


def test_other_applications_and_networks_do_not_count(tmp_path: Path) -> None:
    table = tmp_path / "db.sqlite3-burst"
    assert ask(table, "link-a", 1000.0) is False
    assert ask(table, "link-b", 1000.1, application_id="app-2") is False
    assert ask(table, "link-c", 1000.2, application_id="app-3") is False


def test_a_slot_taken_by_another_group_answers_possible(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(burstmemory, "SLOTS", 1)  # every group in one slot
    table = tmp_path / "db.sqlite3-burst"
    assert ask(table, "link-a", 1000.0) is False
    assert ask(table, "link-x", 1000.1, application_id="app-2") is True  # app-1's click is recent
    assert ask(table, "link-a", 1000.2) is True  # app-1 lost its record: possible, not "no"


def test_clicks_out_of_order_are_still_seen(tmp_path: Path) -> None:
    table = tmp_path / "db.sqlite3-burst"
    assert ask(table, "link-b", 1000.5) is False
    assert ask(table, "link-a", 1000.0) is True  # checked later, clicked earlier


def test_another_process_sees_the_clicks(tmp_path: Path) -> None:
    table = tmp_path / "db.sqlite3-burst"
    assert ask(table, "link-a", 1000.0) is False
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        os._exit(0 if ask(table, "link-b", 1000.3) else 1)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert ask(table, "link-b", 1000.4) is True  # the child's click is in the table
