"""The outcomes page, its CSV export and the application page's quick status change.

The page renders its tables in the HTML and hands its charts their data through ``json_script``
(no extra round trip: the figures come from one pass over the period's applications). Each
attribution table shows its :data:`ATTRIBUTION_ROWS_SHOWN` rows with the most credit and says how
many there are in all; the CSV export (and the API) carry every row.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from analytics import outcomes
from analytics.filters import FilterError, Filters, parse
from analytics.selection import Period
from analytics.views import VIEW_APPLICATIONS, _page, cached, staff_required
from tracking import periods, services
from tracking.exports import csv_response
from tracking.models import JobApplication

CHANGE_APPLICATIONS = "tracking.change_jobapplication"
MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based (40/20/40)",
}
STAGE_LABELS = {
    "applications": "Applications sent",
    "opened": "Opened by a person",
    "responded": "Responded",
    "interview": "Interview",
    "offer": "Offer",
}
CSV_TABLES = ("funnel", "link_functions", "sources", "variants", "attribution", "follow_up")
# The rows of each attribution table the page shows, those with the most credit: thousands of
# links would make a page nobody reads (and its slowest part); the CSV has them all.
ATTRIBUTION_ROWS_SHOWN: Final = 50
# "Showing 50 of 6,666 links": the plural of each dimension's label.
DIMENSION_PLURALS: Final = {
    "link_function": "link functions",
    "click_source": "click sources",
    "link": "links",
    "job": "jobs",
    "company": "companies",
    "utm_campaign": "UTM campaigns",
    "utm_source": "UTM sources",
    "utm_medium": "UTM media",
}
_RATE_TABLES = {
    "link_functions": ("link_function", "by_link_function"),
    "sources": ("click_source", "by_click_source"),
    "variants": ("variant", "by_variant"),
}


def _model(request: HttpRequest) -> str:
    model = request.GET.get("model", "").strip() or "linear"
    if model not in outcomes.MODELS:
        raise FilterError("model", f"model must be one of {', '.join(outcomes.MODELS)}.")
    return model


def _report(f: Filters, model: str, *, rows: int | None = None) -> dict[str, Any]:
    """The report of the period and model; ``rows``: the attribution rows shown per table."""
    return cached(
        f,
        f"outcomes-{model}-{rows or 'all'}",
        lambda: outcomes.outcomes_report(
            Period(f.start, f.end), model=model, attribution_rows=rows
        ),
    )


@staff_required(VIEW_APPLICATIONS)
def outcomes_page(request: HttpRequest) -> HttpResponse:
    try:
        model = _model(request)
    except FilterError as exc:
        return _page_error(request, exc)

    def build(f: Filters) -> dict[str, Any]:
        report = _report(f, model, rows=ATTRIBUTION_ROWS_SHOWN)
        funnel = [{**row, "label": STAGE_LABELS[row["stage"]]} for row in report["funnel"]]
        charts = {
            "funnel": {
                "labels": [row["label"] for row in funnel],
                "counts": [row["count"] for row in funnel],
            },
            "functions": {
                "labels": [row["link_function"] for row in report["by_link_function"]],
                "opened": [row["opened"] for row in report["by_link_function"]],
                "interview": [row["interview"] for row in report["by_link_function"]],
            },
            "attribution": {
                "labels": [row["link_function"] for row in report["attribution"]["link_function"]],
                "credit": [row["credit"] for row in report["attribution"]["link_function"]],
            },
        }
        return {
            "report": report,
            "funnel": funnel,
            "charts": charts,
            "model": model,
            "models": MODEL_LABELS.items(),
            "model_label": MODEL_LABELS[model],
            "dimensions": [
                _attribution_table(report, dimension) for dimension in outcomes.DIMENSIONS
            ],
            "csv_tables": CSV_TABLES,
            "small_sample": outcomes.SMALL_SAMPLE,
            "follow_up_days": outcomes.FOLLOW_UP_DAYS,
        }

    return _page(request, "analytics/outcomes.html", build)


def _attribution_table(report: dict[str, Any], dimension: str) -> dict[str, Any]:
    """The attribution table of ``dimension``: the report's rows (most credit first, at most
    :data:`ATTRIBUTION_ROWS_SHOWN`) as HTML, and how many rows there are in all."""
    shown = report["attribution"][dimension][:ATTRIBUTION_ROWS_SHOWN]
    total = report["attribution_totals"][dimension]
    return {
        "dimension": dimension,
        "label": dimension.replace("_", " "),
        "plural": DIMENSION_PLURALS.get(dimension, dimension.replace("_", " ")),
        "rows": _attribution_cells(shown, dimension),
        "shown": len(shown),
        "total": total,
        "total_text": f"{total:,}",
    }


def _attribution_cells(rows: list[dict[str, Any]], dimension: str) -> SafeString:
    """Attribution rows of ``dimension`` (value, credit to two places, conversions), escaped and
    joined here rather than by a template loop per cell."""
    return format_html_join(
        "",
        '<tr><td>{}</td><td class="num" data-credit>{}</td><td class="num">{}</td></tr>',
        ((row[dimension], _two_places(row["credit"]), row["conversions"]) for row in rows),
    )


def _two_places(value: float) -> str:
    """As the ``floatformat:2`` filter writes it (half up), without its cost per call."""
    return str(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _page_error(request: HttpRequest, exc: FilterError) -> HttpResponse:
    return render(request, "analytics/error.html", {"error": exc}, status=400)


@staff_required(VIEW_APPLICATIONS, json=True)
def outcomes_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """One table of the outcomes page as CSV (``table=funnel|link_functions|sources|…``)."""
    try:
        f = parse(request.GET)
        model = _model(request)
        table = request.GET.get("table", "funnel")
        if table not in CSV_TABLES:
            raise FilterError("table", f"table must be one of {', '.join(CSV_TABLES)}.")
    except FilterError as exc:
        return JsonResponse(exc.as_dict(), status=400)
    report = _report(f, model)
    header, *rows = _csv_rows(report, table)
    name = f"linktrack-outcomes-{table}-{f.first.isoformat()}-{f.last.isoformat()}.csv"
    response = csv_response(header, rows, filename=name)
    response["Cache-Control"] = "no-store"
    return response


def _csv_rows(report: dict[str, Any], table: str) -> list[list[Any]]:
    if table == "funnel":
        return [["stage", "count", "rate"]] + [
            [row["stage"], row["count"], _blank(row["rate"])] for row in report["funnel"]
        ]
    if table in _RATE_TABLES:
        key, name = _RATE_TABLES[table]
        data = report[name]
        return [[key, "opened", "interview", "rate", "small_sample"]] + [
            [row[key], row["opened"], row["interview"], row["rate"], row["small_sample"]]
            for row in data
        ]
    if table == "attribution":
        rows: list[list[Any]] = [["model", "stage", "dimension", "value", "credit", "conversions"]]
        for dimension in outcomes.DIMENSIONS:
            for row in report["attribution"][dimension]:
                rows.append(
                    [
                        report["model"],
                        report["stage"],
                        dimension,
                        row[dimension],
                        row["credit"],
                        row["conversions"],
                    ]
                )
        return rows
    columns = ["application_id", "job", "company", "status", "sent_at", "days_waiting"]
    return [columns] + [[row[c] for c in columns] for row in report["follow_up"]]


def _blank(value: Any) -> Any:
    return "" if value is None else value


# --- Quick status change --------------------------------------------------------------------


@user_passes_test(lambda user: user.is_active and user.is_staff)
def application_status_change(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    """The application page's quick status change: through the service, back to the page.

    The rights are checked before the method, so that a caller without them learns nothing more.
    """
    if not request.user.has_perms((VIEW_APPLICATIONS, CHANGE_APPLICATIONS)):
        raise PermissionDenied(f"Your account lacks the permission {CHANGE_APPLICATIONS}.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    application = get_object_or_404(JobApplication, pk=application_id)
    raw_when = request.POST.get("changed_at", "").strip()
    changed_at = parse_datetime(raw_when) if raw_when else None
    if changed_at is not None and changed_at.tzinfo is None:
        # A datetime-local field: the wall clock of the dashboard's time zone.
        changed_at = changed_at.replace(tzinfo=periods.local_tz())
    try:
        if raw_when and changed_at is None:
            raise services.ValidationFailed(
                "changed_at must be a date and time.", field="changed_at"
            )
        services.change_application_status(
            application_id=application.pk,
            status=request.POST.get("status", ""),
            changed_at=changed_at,
            note=request.POST.get("note", ""),
            changed_by=f"user:{request.user.get_username()}",
        )
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Status changed.")
    return redirect(reverse("analytics:application-detail", args=[application.pk]))
