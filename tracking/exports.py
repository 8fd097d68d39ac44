"""CSV downloads, streamed row by row, with every cell safe to open in a spreadsheet.

The admin's link export and the dashboard's click export both write text that strangers chose
(descriptions, referrers, session ids, user agents). A spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` (and, in some programs, a tab or carriage return) as a formula, so
such a cell is prefixed with an apostrophe and shown as text instead (OWASP "CSV Injection").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """The text of one cell: empty for ``None``, neutralised when it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """A write-only buffer: ``csv.writer`` hands each formatted row back for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_response(
    header: Sequence[str], rows: Iterable[Iterable[object]], *, filename: str
) -> StreamingHttpResponse:
    """A CSV download of ``header`` then ``rows``, streamed so that a large export never sits in
    memory; ``rows`` is consumed only while the response is sent."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow([csv_cell(name) for name in header])
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
