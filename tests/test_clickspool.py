"""The click spool: durable appends from many processes, each line replayed exactly once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from tracking.clicks import spool as clickspool


def _append_many(directory: str, writer: int, count: int) -> None:
    from django.conf import settings

    settings.CLICK_SPOOL_DIR = Path(directory)
    for n in range(count):
        clickspool.append(json.dumps({"at": 1, "writer": writer, "n": n}))


def test_lines_appended_while_replays_run_are_each_replayed_exactly_once(settings: Any) -> None:
    seen: list[str] = []

    def store(lines: list[str]) -> list[str]:
        seen.extend(lines)
        return []

    context = multiprocessing.get_context("fork")
    appenders = [
        context.Process(target=_append_many, args=(str(settings.CLICK_SPOOL_DIR), w, 300))
        for w in range(4)
    ]
    for process in appenders:
        process.start()
    while any(process.is_alive() for process in appenders):
        clickspool.replay(store)
    for process in appenders:
        process.join()
        assert process.exitcode == 0
    clickspool.replay(store)

    records = [(r["writer"], r["n"]) for r in map(json.loads, seen)]
    assert sorted(records) == [(w, n) for w in range(4) for n in range(300)]
    assert clickspool.status()["spool_bytes"] == 0


def test_a_failed_replay_keeps_the_file_for_the_next_one(settings: Any) -> None:
    clickspool.append('{"at": 1}')

    def database_down(lines: list[str]) -> list[str]:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        clickspool.replay(database_down)
    assert clickspool.status()["spool_bytes"] > 0
    replayed: list[str] = []

    def store(lines: list[str]) -> list[str]:
        replayed.extend(lines)
        return []

    assert clickspool.replay(store) == 1
    assert replayed == ['{"at": 1}']


def test_unreadable_lines_are_kept_aside_not_dropped(settings: Any) -> None:
    clickspool.append('{"at": 1}')
    clickspool.append("garbage")
    assert clickspool.replay(lambda lines: [line for line in lines if line == "garbage"]) == 1
    rejected = list(Path(settings.CLICK_SPOOL_DIR).glob("*.rejected.jsonl"))
    assert [path.read_text() for path in rejected] == ["garbage\n"]
    assert clickspool.status()["spool_bytes"] == 0


def test_a_payload_must_be_one_line() -> None:
    with pytest.raises(ValueError, match="one line"):
        clickspool.append("two\nlines")
