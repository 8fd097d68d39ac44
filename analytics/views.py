"""Dashboard pages (shell templates) and the small JSON endpoints that feed their charts.

Pages render the numbers and tables; each chart is a ``<canvas>`` whose ``data-url`` points at one
endpoint below, with the page's filters in the query string. Aggregates are cached for
``ANALYTICS_CACHE_SECONDS`` (a new click shows up within that time).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import F, Func, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from analytics import queries
from analytics.countries import country_name
from analytics.filters import PRESET_DAYS, FilterError, Filters, parse
from analytics.link_rules import link_controls_context
from analytics.queries.common import UNCLASSIFIED
from analytics.selection import EVERYTHING, Scope, Selection
from tracking import company, geo, periods
from tracking.exports import csv_response
from tracking.models import ApplicationStatus, Classification, Job, JobApplication, TrackedLink
from tracking.stages import stages_reached

T = TypeVar("T")
JOB_LIST_LIMIT = 50
OVERVIEW_LATEST = 5
ACTIVITY_PAGE_SIZE = 50
ACTIVITY_MAX_PAGE = 200  # deeper than this, the click list in the admin is the better tool
View = Callable[..., HttpResponseBase]

CLASSIFICATION_LABELS = {
    **dict(Classification.choices),
    UNCLASSIFIED: "Not classified yet",
}


# The dashboard reads links and their clicks' aggregates: the admin's right to view links. Who
# clicked (IP address, session id) needs the right to view clicks, as in the admin's click list.
VIEW_LINKS = "tracking.view_trackedlink"
VIEW_JOBS = "tracking.view_job"
VIEW_APPLICATIONS = "tracking.view_jobapplication"
VIEW_CLICKS = "tracking.view_linkclick"
# Correcting a click's verdict changes the click: the admin's right to change clicks.
CORRECT_CLICKS = "tracking.change_linkclick"
# The city goes with them: like the IP, it is dropped when a click is anonymised.
PERSONAL_EXPORT_COLUMNS = ("ip_address", "session_id", "city")
HIDDEN = "(hidden)"


def staff_required(*perms: str, json: bool = False) -> Callable[[View], View]:
    """Staff only (anyone else goes to the admin login, ``LOGIN_URL``), holding the admin's model
    permissions ``perms`` and the right to view links (else 403, in JSON for ``json`` views)."""
    required = (VIEW_LINKS, *perms)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perms(required):
                missing = [perm for perm in required if not request.user.has_perm(perm)]
                message = f"Your account lacks the permission {', '.join(missing)}."
                if json:
                    return JsonResponse(
                        {"error": message, "field": None, "code": "permission_denied"},
                        status=403,
                    )
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        staff = user_passes_test(lambda user: user.is_active and user.is_staff)
        return staff(require_GET(guarded))

    return decorate


def shows_personal_data(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(VIEW_CLICKS))


def cached(filters: Filters, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` cached briefly under a key made of the view's name and filters."""
    return cast(
        T, cache.get_or_set(filters.cache_key(name), compute, settings.ANALYTICS_CACHE_SECONDS)
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for ``/favicon.ico`` on pages that name no icon (the admin's, for one)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


# --- Pages ----------------------------------------------------------------------------------


def _page(
    request: HttpRequest, template: str, build: Callable[[Filters], dict[str, Any]]
) -> HttpResponse:
    try:
        filters = parse(request.GET)
    except FilterError as exc:
        return render(request, "analytics/error.html", {"error": exc}, status=400)
    context = build(filters)
    scope = context.pop("scope", {})
    context.update(
        filters=filters,
        presets=PRESET_DAYS,
        chart_query=filters.query(**scope),
        export_query=filters.query(**scope),
        time_zone=settings.TIME_ZONE,
        # The date pickers offer only what the filters accept.
        earliest_date=periods.EARLIEST_DATE,
        latest_date=periods.latest_date(),
        **correction_context(request),
    )
    return render(request, template, context)


def correction_context(request: HttpRequest) -> dict[str, Any]:
    """What the pages' verdict forms need (:mod:`analytics.templatetags.verdicts`)."""
    return {
        "may_correct": request.user.has_perm(CORRECT_CLICKS),
        "me": f"user:{request.user.get_username()}",
    }


@staff_required(VIEW_JOBS)
def overview(request: HttpRequest) -> HttpResponse:
    def build(f: Filters) -> dict[str, Any]:
        return {
            "has_links": TrackedLink.objects.exists(),
            "totals": cached(f, "overview", lambda: queries.overview_totals(f.about(EVERYTHING))),
            "top_jobs": cached(f, "top-jobs", lambda: queries.top_jobs(f.about(EVERYTHING))),
            "top_links": cached(f, "top-links", lambda: queries.top_links(f.about(EVERYTHING))),
            "countries": cached(
                f, "countries", lambda: queries.clicks_by_country(f.about(EVERYTHING))
            ),
            "geo_demo": geo.configured_paths()[2],
            # Not cached: the newest person clicks are the point of the card.
            "latest_person_clicks": queries.latest_clicks(
                limit=OVERVIEW_LATEST, with_city=shows_personal_data(request)
            )[0],
            "jobs": Job.objects.annotate(
                link_count=_count_per_job(TrackedLink),
                application_count=_count_per_job(JobApplication),
            )[:JOB_LIST_LIMIT],
        }

    return _page(request, "analytics/overview.html", build)


def _count_per_job(model: type[TrackedLink] | type[JobApplication]) -> Coalesce:
    """A job's links or applications, counted apart: two ``Count(distinct=True)`` over both
    joins count the product of the two (10,000 applications of 50 jobs made it 6 s). A plain
    ``COUNT`` without ``GROUP BY … LIMIT 1``: PostgreSQL planned that one as a scan of the whole
    table per job (20,000 links of 50 jobs: 98 ms) rather than a look-up in the job's index."""
    rows = model.objects.filter(job_id=OuterRef("pk")).order_by()
    counted = rows.annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _activity_request(request: HttpRequest) -> tuple[bool, int]:
    """``(include_automated, page)`` from ``?automated=1&page=N`` (bad values: the defaults)."""
    include_automated = request.GET.get("automated") in {"1", "true", "on"}
    try:
        page = min(max(int(request.GET.get("page", "1")), 1), ACTIVITY_MAX_PAGE)
    except ValueError:
        page = 1
    return include_automated, page


def _activity(include_automated: bool, page: int, *, with_city: bool) -> dict[str, Any]:
    rows, has_next = queries.latest_clicks(
        include_automated=include_automated,
        offset=(page - 1) * ACTIVITY_PAGE_SIZE,
        limit=ACTIVITY_PAGE_SIZE,
        with_city=with_city,
    )
    return {
        "rows": rows,
        "page": page,
        "has_next": has_next and page < ACTIVITY_MAX_PAGE,
        "has_previous": page > 1,
        "automated": include_automated,
    }


@staff_required(VIEW_JOBS)
def activity(request: HttpRequest) -> HttpResponse:
    """The latest person clicks (and, toggled, the automated ones), refreshed by
    ``static/js/activity.js`` from :func:`activity_feed` every 15 seconds."""
    include_automated, page = _activity_request(request)
    context = _activity(include_automated, page, with_city=shows_personal_data(request))
    return render(request, "analytics/activity.html", {**context, **correction_context(request)})


@staff_required(VIEW_JOBS, json=True)
def activity_feed(request: HttpRequest) -> JsonResponse:
    include_automated, page = _activity_request(request)
    return JsonResponse(_activity(include_automated, page, with_city=shows_personal_data(request)))


def _places(
    selection: Selection,
    company_name: str,
    *,
    personal: bool,
    figures: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Where one job's, application's or link's clicks came from: regions, cities (for users who
    may view clicks: the city is personal data), and the person clicks from the company's own
    network. ``figures`` are a link's click statistics, which hold them already."""
    if figures is None:
        places = queries.clicks_by_places(selection, ["region", "city"] if personal else ["region"])
        figures = {
            "by_region": places["region"],
            "by_city": places.get("city", []),
            "from_company_network": queries.company_network_clicks(selection),
        }
    return {
        "regions": figures["by_region"],
        "cities": figures["by_city"] if personal else None,
        "company": figures["from_company_network"],
        "company_name": company_name,
    }


def _click_place(click: dict[str, Any], company_name: str) -> dict[str, Any]:
    """A timeline click's place and network in words (the city only when it is still shown)."""
    code = click["country_code"]
    return {
        "place": company.place_words(
            click.get("city"), click["region"], country_name(code) if code else None
        ),
        "network": company.network_words(
            network_kind=click["network_kind"],
            from_company=click["from_company_network"],
            company=company_name,
        ),
        "from_company_network": click["from_company_network"] is True,
    }


@staff_required(VIEW_JOBS)
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)

    def build(f: Filters) -> dict[str, Any]:
        summary = queries.job_link_summary(job.pk, f.selection)
        return {
            "job": job,
            "summary": summary,
            "totals": queries.click_totals(f.about(Scope(job_id=job.pk))),
            "applications": queries.application_summaries(job.pk, f.selection),
            "links": queries.links_overview(f.about(Scope(job_id=job.pk))),
            "places": _places(
                f.about(Scope(job_id=job.pk)),
                job.company_name,
                personal=shows_personal_data(request),
            ),
            "scope": {"job": job.pk},
        }

    return _page(request, "analytics/job.html", build)


@staff_required()
def link_detail(request: HttpRequest, tracking_id: str) -> HttpResponse:
    link = get_object_or_404(
        TrackedLink.objects.select_related("job", "application"), pk=tracking_id
    )

    personal = shows_personal_data(request)
    company_name = link.job.company_name if link.job else ""

    def build(f: Filters) -> dict[str, Any]:
        analytics = queries.link_analytics(link.tracking_id, f.selection)
        if analytics is None:  # deleted between the two reads
            raise Http404
        if not personal:
            for click in analytics["click_timeline"]:
                click.update(ip_address=HIDDEN, session_id=HIDDEN, city=None)
            analytics["click_statistics"]["by_city"] = []
        return {
            "link": link,
            "analytics": analytics,
            "stats": analytics["click_statistics"],
            "timeline": [
                {
                    **click,
                    "label": CLASSIFICATION_LABELS.get(click["classification"] or UNCLASSIFIED),
                    **_click_place(click, company_name),
                }
                for click in analytics["click_timeline"]
            ],
            "places": _places(
                f.selection,
                company_name,
                personal=personal,
                figures=analytics["click_statistics"],
            ),
            "scope": {"link": link.tracking_id},
            **link_controls_context(link, analytics["click_statistics"]["by_rule"]),
        }

    return _page(request, "analytics/link.html", build)


@staff_required(VIEW_APPLICATIONS)
def application_detail(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    application = get_object_or_404(JobApplication.objects.select_related("job"), pk=application_id)

    def build(f: Filters) -> dict[str, Any]:
        journey = queries.application_journey(application.pk, f.selection)
        if journey is None:
            raise Http404
        if not shows_personal_data(request):
            # Visits stay told apart, by number rather than by the visitor's session id.
            sessions = [
                *journey["human_sessions"],
                *journey["automated_sessions"],
                *journey["unclassified_sessions"],
            ]
            for number, session in enumerate(sessions, start=1):
                if session["session_id"]:
                    session["session_id"] = f"#{number}"
        history = list(application.status_history.order_by("changed_at", "id"))
        return {
            "application": application,
            "journey": journey,
            "status_history": history,
            "stages": stages_reached([(row.to_status, row.changed_at) for row in history]),
            "statuses": ApplicationStatus.choices,
            "may_change_status": request.user.has_perm("tracking.change_jobapplication"),
            "places": _places(
                f.about(Scope(application_id=application.pk)),
                application.job.company_name,
                personal=shows_personal_data(request),
            ),
            "scope": {"application": application.pk},
        }

    return _page(request, "analytics/application.html", build)


# --- Chart endpoints ------------------------------------------------------------------------


def chart_endpoint(name: str) -> Callable[[Callable[[Filters], dict[str, Any]]], View]:
    """Wrap a chart builder: staff only, filters parsed (400 on bad ones), result cached."""

    def decorate(build: Callable[[Filters], dict[str, Any]]) -> View:
        @staff_required(json=True)
        @wraps(build)
        def view(request: HttpRequest) -> HttpResponse:
            try:
                filters = parse(request.GET)
            except FilterError as exc:
                return JsonResponse(exc.as_dict(), status=400)
            payload = cached(filters, name, lambda: build(filters))
            return JsonResponse(payload)

        return view

    return decorate


def _people_and_automated(
    labels: list[str], rows: list[dict[str, Any]], *, chart_type: str = "bar"
) -> dict[str, Any]:
    datasets = [
        {"label": "People", "data": [r["human_clicks"] for r in rows]},
        {"label": "Automated", "data": [r["automated_clicks"] for r in rows]},
    ]
    # Clicks stored by plain SQL wait a minute for their classification: shown apart meanwhile.
    unclassified = [r.get("unclassified_clicks", 0) for r in rows]
    if any(unclassified):
        datasets.append({"label": CLASSIFICATION_LABELS[UNCLASSIFIED], "data": unclassified})
    return {"type": chart_type, "stacked": True, "labels": labels, "datasets": datasets}


def _payload(chart: dict[str, Any], rows: Any) -> dict[str, Any]:
    total = sum(
        value if isinstance(value, int | float) else value.get("v", 0)
        for dataset in chart["datasets"]
        for value in dataset["data"]
    )
    return {"chart": chart, "rows": rows, "empty": total == 0}


@chart_endpoint("chart-daily")
def chart_daily(f: Filters) -> dict[str, Any]:
    rows = queries.daily_clicks(f.selection)
    return _payload(_people_and_automated([r["date"] for r in rows], rows), rows)


@chart_endpoint("chart-functions")
def chart_functions(f: Filters) -> dict[str, Any]:
    rows = queries.clicks_by_function(
        f.about(Scope(job_id=f.job_id, application_id=f.application_id))
    )
    return _payload(_people_and_automated([r["link_function"] for r in rows], rows), rows)


@chart_endpoint("chart-sources")
def chart_sources(f: Filters) -> dict[str, Any]:
    rows = queries.clicks_by_source(f.selection)
    return _payload(_people_and_automated([r["click_source"] for r in rows], rows), rows)


@chart_endpoint("chart-countries")
def chart_countries(f: Filters) -> dict[str, Any]:
    rows = queries.clicks_by_country(f.selection)
    chart = {
        "type": "choropleth",
        "labels": [r["country_name"] for r in rows],
        "datasets": [
            {
                "label": "Clicks",
                "data": [{"id": r["iso_numeric"], "v": r["total_clicks"]} for r in rows],
            }
        ],
    }
    return _payload(chart, rows)


@chart_endpoint("chart-devices")
def chart_devices(f: Filters) -> dict[str, Any]:
    result = queries.clicks_by_device(f.selection)
    rows = result["device_type"]
    chart = {
        "type": "doughnut",
        "labels": [r["device_type"] for r in rows],
        "datasets": [{"label": "Clicks", "data": [r["total_clicks"] for r in rows]}],
    }
    return _payload(chart, result)


@chart_endpoint("chart-classifications")
def chart_classifications(f: Filters) -> dict[str, Any]:
    rows = queries.clicks_by_classification(f.selection)
    chart = {
        "type": "doughnut",
        "labels": [
            CLASSIFICATION_LABELS.get(r["classification"], r["classification"]) for r in rows
        ],
        "datasets": [{"label": "Clicks", "data": [r["clicks"] for r in rows]}],
    }
    return _payload(chart, rows)


@chart_endpoint("chart-hour-of-week")
def chart_hour_of_week(f: Filters) -> dict[str, Any]:
    grid = queries.clicks_by_hour_of_week(f.selection)
    peak = max((max(day) for day in grid["total_clicks"]), default=0) or 1
    points = [
        # Bubble radius grows with the square root of the count (area ∝ clicks), capped at 12 px.
        {"x": hour, "y": weekday, "r": round(2 + 10 * (count / peak) ** 0.5, 1), "v": count}
        for weekday, day in enumerate(grid["total_clicks"])
        for hour, count in enumerate(day)
        if count
    ]
    chart = {
        "type": "bubble",
        "labels": grid["weekdays"],
        "datasets": [{"label": "Clicks", "data": points}],
    }
    return _payload(chart, grid)


# --- CSV export -----------------------------------------------------------------------------


@staff_required(json=True)
def export_csv(request: HttpRequest) -> HttpResponseBase:
    try:
        f = parse(request.GET)
    except FilterError as exc:
        return JsonResponse(exc.as_dict(), status=400)
    # Without the right to view clicks, the export leaves out the columns that identify visitors.
    hidden = () if shows_personal_data(request) else PERSONAL_EXPORT_COLUMNS
    kept = [i for i, column in enumerate(queries.EXPORT_COLUMNS) if column not in hidden]
    # Referrers and session ids come from strangers: csv_response neutralises formulas.
    rows = ([row[i] for i in kept] for row in queries.selection_rows(f.selection))
    scope = f.tracking_id or f.application_id or f.job_id or "all"
    filename = f"linktrack-clicks-{scope}-{f.first.isoformat()}-{f.last.isoformat()}.csv"
    header = [queries.EXPORT_COLUMNS[i] for i in kept]
    response = csv_response(header, rows, filename=filename)
    response["Cache-Control"] = "no-store"
    return response
