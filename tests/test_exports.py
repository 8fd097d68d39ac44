"""``tracking.exports``: the streamed CSV downloads of the admin and the dashboard."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from tracking.exports import csv_cell, csv_response


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("https://evil.example")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"],
)
def test_a_cell_that_would_start_a_formula_is_exported_as_text(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("", ""), ("a=b", "a=b"), (42, "42"), (-3, "'-3"), (True, "True")],
)
def test_other_cells_keep_their_text(value: object, text: str) -> None:
    assert csv_cell(value) == text


def test_the_response_streams_the_header_then_the_rows_as_a_download() -> None:
    consumed: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(3):
            consumed.append(n)
            yield [n, None, "=1+1"]

    response = csv_response(["n", "empty", "formula"], rows(), filename="numbers.csv")

    assert consumed == []  # nothing is read before the response is sent
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="numbers.csv"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert list(csv.reader(io.StringIO(body))) == [
        ["n", "empty", "formula"],
        ["0", "", "'=1+1"],
        ["1", "", "'=1+1"],
        ["2", "", "'=1+1"],
    ]
