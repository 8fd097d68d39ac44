"""Building the daily rollups (see :mod:`analytics.models`). Run by ``manage.py rollup_clicks``.

Each run, in one transaction: rebuild every day before today whose raw totals no longer match its
rollup (late clicks from the buffered writer or an external domain, purged or classified clicks;
the product's own changes that keep a day's totals, a reclassification or an anonymization, ask
for their days: :mod:`analytics.receivers`), ``refresh_days`` more whatever they hold, mark every day
before today as complete, and roll up today's clicks older than ``ANALYTICS_ROLLUP_LAG_SECONDS``
(recorded as ``RollupState.partial_until``; later ones are read raw): for the links clicked since
the last run only, when nothing else of today changed (:func:`_links_clicked_since`). Everything
is rebuilt when ``TIME_ZONE`` changed. Rows are produced by ``INSERT … SELECT`` inside the
database, so a run costs one pass over the affected clicks.

Click counts hold classified clicks only: a click still unclassified (stored by plain SQL, until
the classification pass judges it) is counted from ``link_clicks`` by every query, and its day is
rebuilt once it is classified (:func:`analytics.receivers.refresh_after_classification`).
Sessions hold every click, an unclassified one among the sessions that are not people's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone

from analytics import (
    outcome_click_days,
    outcome_extend,
    outcome_summaries,
    rangeclicks,
    rollup_months,
    session_sketches,
)
from analytics.insert_select import replace_select
from analytics.models import (
    DailyGroupClicks,
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    DailySessionSketch,
    Dimension,
    MonthlyLinkClicks,
    MonthlyLinkSession,
    OutcomeSummary,
    OutcomeValue,
    RollupState,
    ScopeKind,
)
from analytics.selection import AUTOMATED, HUMAN, local_midnight, local_tz, next_month
from analytics.sources import as_date
from tracking.dbfields import UTCTimestampField
from tracking.models import Classification, LinkClick, TrackedLink

# The rollups never reach back further than this: a click with an absurd time (the year 2,
# stored by plain SQL or before reported times were checked) must not make a full run walk
# every day since, inside the transaction that holds the rollup lock. Such clicks are counted
# raw; the analytics ranges start on this day too.
ROLLUP_FIRST_DAY = dt.date(2000, 1, 1)

KEY_COLUMNS = {"day_": "day", "tracking_id_": "tracking_id"}
COUNT_COLUMNS = {"human_clicks": "human_clicks", "automated_clicks": "automated_clicks"}
DAILY_MODELS: list[type[Any]] = [
    DailyLinkClicks,
    DailyGroupClicks,
    DailyLinkBreakdown,
    DailyScopeSessions,
    DailySessionSketch,
]
ROLLUP_MODELS: list[type[Any]] = [*DAILY_MODELS, MonthlyLinkClicks, MonthlyLinkSession]
# The breakdowns' value column: NULL where a click has no value (no source, no country…).
VALUE = frozenset({"value"})
# Rows written anew go in day order (see replace_select).
DAY_ORDER = ("day_",)


@dataclass
class RollupResult:
    rebuilt_days: list[dt.date] = field(default_factory=list)
    full_rebuild: bool = False
    complete_until: dt.date | None = None
    partial_until: dt.datetime | None = None
    outcome_applications: int = 0

    def summary(self) -> str:
        """One line for a command's output: how far the rollups reach and what this run did."""
        kind = "full rebuild" if self.full_rebuild else "update"
        today = ""
        if self.partial_until is not None:
            local = self.partial_until.astimezone(local_tz())
            today = f", today until {local:%H:%M:%S} {settings.TIME_ZONE}"
        return (
            f"Rollups complete until {self.complete_until}{today} ({kind}, "
            f"{len(self.rebuilt_days)} day(s) rebuilt, "
            f"{self.outcome_applications} application outcome(s) summarised)."
        )


def _counts() -> dict[str, Count]:
    return {
        "human_clicks": Count("click_id", filter=HUMAN),
        "automated_clicks": Count("click_id", filter=AUTOMATED),
    }


def _build_range(
    first: dt.date,
    last: dt.date,
    until: dt.datetime | None = None,
    source: rangeclicks.Clicks | None = None,
    links: frozenset[str] | None = None,
) -> None:
    """Rebuild the rollups of local days ``first``..``last`` from the raw clicks (before ``until``).

    ``until`` (within ``last``) rolls the last day up in part: its clicks before that instant.
    ``source``: where to read the clicks (their copy when it holds those days). ``links``: only
    these links' rows changed (see :func:`_build_days`).
    """
    start, end = local_midnight(first), local_midnight(last + dt.timedelta(days=1))
    if until is not None:
        end = min(end, until)
    found, clicks = (source or rangeclicks.direct()).between(start, end)
    _build_days(first, last, found, clicks, links)


def _build_days(
    first: dt.date,
    last: dt.date,
    source: rangeclicks.Clicks,
    clicks: QuerySet[Any],
    links: frozenset[str] | None = None,
) -> None:
    """The rollup rows of local days ``first``..``last`` from those days' ``clicks`` (of
    ``source``, whose expressions give their local day and hour).

    ``links``: only these links were clicked since the days' rows were built (today's rolled
    part, extended): the rows of one link (and the session rows of its job and application) are
    built for them alone; the rows over every link, for every click.
    """
    on_days = {"day__gte": first, "day__lte": last}
    # Unclassified clicks are read raw until they are classified (see the module docstring).
    keyed = clicks.filter(classification__isnull=False).annotate(
        day_=source.day, tracking_id_=F("tracking_id")
    )
    # The clicks and rows of one link, of one job, of one application: those touched.
    of_links, link_rows = keyed, Q()
    job_clicks, job_rows = Q(), Q()
    application_clicks, application_rows = Q(), Q()
    if links is not None:
        of_links, link_rows = keyed.filter(tracking_id__in=links), Q(tracking_id__in=links)
        touched = TrackedLink.objects.filter(tracking_id__in=links)
        jobs = touched.filter(job_id__isnull=False).values("job_id")
        applications = touched.filter(application_id__isnull=False).values("application_id")
        job_clicks, job_rows = Q(tracking__job_id__in=jobs), Q(job_id__in=jobs)
        application_clicks = Q(tracking__application_id__in=applications)
        application_rows = Q(application_id__in=applications)

    per_link = (
        of_links.values("day_", "tracking_id_")
        .annotate(**_counts())
        .values("day_", "tracking_id_", "human_clicks", "automated_clicks")
    )
    # No link clicked since: no link's rows (nor its job's or application's) to build again.
    some_links = links is None or bool(links)
    if some_links:
        replace_select(
            DailyLinkClicks,
            per_link,
            {**KEY_COLUMNS, **COUNT_COLUMNS},
            rows=DailyLinkClicks.objects.filter(link_rows, **on_days),
            order=DAY_ORDER,
        )
    # The same clicks per link function and job (sums over every link read these).
    per_group = (
        keyed.annotate(function_=F("tracking__link_function"), job_=F("tracking__job_id"))
        .values("day_", "function_", "job_")
        .annotate(**_counts())
        .values("day_", "function_", "job_", "human_clicks", "automated_clicks")
    )
    replace_select(
        DailyGroupClicks,
        per_group,
        {"day_": "day", "function_": "link_function", "job_": "job_id", **COUNT_COLUMNS},
        rows=DailyGroupClicks.objects.filter(**on_days),
        nullable=frozenset({"job_id"}),
        order=DAY_ORDER,
    )

    dimensions: dict[str, Any] = {
        Dimension.SOURCE: F("click_source"),
        Dimension.CLASSIFICATION: F("classification"),
        Dimension.DEVICE: F("device_type"),
        Dimension.BROWSER: F("browser"),
        Dimension.OS: F("os"),
        Dimension.COUNTRY: F("country_code"),
        # Text, as the value column holds it (and as the rows there are compared with).
        Dimension.HOUR: source.hour,
    }
    breakdowns = DailyLinkBreakdown.objects.filter(**on_days)
    for dimension, expression in dimensions.items():
        of_dimension = breakdowns.filter(dimension=dimension)
        values = keyed.annotate(value_=expression, dimension_=Value(str(dimension)))
        columns = {"value_": "value", "dimension_": "dimension", **COUNT_COLUMNS}
        per_link_rows = (
            of_links.annotate(value_=expression, dimension_=Value(str(dimension)))
            .values("day_", "tracking_id_", "value_", "dimension_")
            .annotate(**_counts())
        )
        if some_links:
            replace_select(
                DailyLinkBreakdown,
                per_link_rows,
                {**KEY_COLUMNS, **columns},
                rows=of_dimension.filter(link_rows, tracking__isnull=False),
                nullable=VALUE,
                order=DAY_ORDER,
            )
        all_links_rows = values.values("day_", "value_", "dimension_").annotate(**_counts())
        all_links = of_dimension.filter(tracking__isnull=True)
        if dimension == Dimension.CLASSIFICATION:
            all_links = all_links.filter(value__isnull=False)  # not the waiting count (below)
        replace_select(
            DailyLinkBreakdown,
            all_links_rows,
            {"day_": "day", **columns},
            rows=all_links,
            nullable=VALUE,
            order=DAY_ORDER,
        )
    # How many of each day's clicks were still unclassified when rolled up: an all-links
    # classification row with no value (classified clicks always have one), its count in
    # ``automated_clicks``. Never read as a figure (unclassified clicks are counted raw); kept so
    # that _mismatched_days notices when they change (classified, purged, erased), which the
    # day's session rows, holding every click, must follow at once.
    waiting = (
        clicks.filter(classification__isnull=True)
        .annotate(day_=source.day, dimension_=Value(str(Dimension.CLASSIFICATION)))
        .values("day_", "dimension_")
        .annotate(
            human_clicks=Value(0, output_field=IntegerField()), automated_clicks=Count("click_id")
        )
    )
    replace_select(
        DailyLinkBreakdown,
        waiting,
        {"day_": "day", "dimension_": "dimension", **COUNT_COLUMNS},
        rows=breakdowns.filter(
            dimension=Dimension.CLASSIFICATION, tracking__isnull=True, value__isnull=True
        ),
        order=DAY_ORDER,
    )

    sessions = {
        "human_sessions": Count("session_id", distinct=True, filter=HUMAN),
        "all_sessions": Count("session_id", distinct=True),
    }
    scopes: list[tuple[ScopeKind, dict[str, Any], dict[str, str], Q, Q]] = [
        (ScopeKind.ALL, {}, {}, Q(), Q()),
        (
            ScopeKind.LINK,
            {"link_key": F("tracking_id")},
            {"link_key": "tracking_id"},
            link_rows,
            link_rows,
        ),
        (
            ScopeKind.JOB,
            {"job_key": F("tracking__job_id")},
            {"job_key": "job_id"},
            job_clicks,
            job_rows,
        ),
        (
            ScopeKind.APPLICATION,
            {"application_key": F("tracking__application_id")},
            {"application_key": "application_id"},
            application_clicks,
            application_rows,
        ),
    ]
    with_session = clicks.filter(session_id__isnull=False).annotate(day_=source.day)
    scope_rows = DailyScopeSessions.objects.filter(**on_days)
    for kind, group, columns, touched_clicks, touched_rows in scopes:
        if kind != ScopeKind.ALL and not some_links:
            continue
        rows = with_session.filter(touched_clicks).annotate(**group)
        for alias in group:
            rows = rows.filter(**{f"{alias}__isnull": False})
        rows = (
            rows.values("day_", *group)
            .annotate(kind_=Value(str(kind)), **sessions)
            .values("day_", *group, "kind_", *sessions)
        )
        replace_select(
            DailyScopeSessions,
            rows,
            {
                "day_": "day",
                "kind_": "kind",
                **columns,
                "human_sessions": "human_sessions",
                "all_sessions": "all_sessions",
            },
            rows=scope_rows.filter(touched_rows, kind=kind),
            order=DAY_ORDER,
        )
    session_sketches.rebuild(first, last, with_session)


def _mismatched_days(until: dt.date) -> set[dt.date]:
    """Days before ``until`` whose raw click totals (people, automated, unclassified) differ
    from their rollup."""
    raw = _raw_totals(until)
    rolled = _rolled_totals(day__gte=ROLLUP_FIRST_DAY, day__lt=until)
    return {day for day in raw.keys() | rolled.keys() if raw.get(day) != rolled.get(day)}


def _rolled_totals(**days: Any) -> dict[dt.date, tuple[int, int, int]]:
    """The rollups' totals of the ``days`` (lookups on ``day``): people and automated clicks, and
    the count of clicks still unclassified when each day was rolled up."""
    rolled: dict[dt.date, tuple[int, int, int]] = {
        as_date(row["day"]): (row["h"], row["a"], 0)
        for row in DailyLinkClicks.objects.order_by()
        .filter(**days)
        .values("day")
        .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
    }
    for day, waiting in (
        DailyLinkBreakdown.objects.order_by()
        .filter(
            **days, tracking__isnull=True, dimension=Dimension.CLASSIFICATION, value__isnull=True
        )
        .values_list("day", "automated_clicks")
    ):
        h, a, _ = rolled.get(as_date(day), (0, 0, 0))
        rolled[as_date(day)] = (h, a, waiting)
    return rolled


# Quarter-hours in UTC: every time zone's offset is a whole number of them, so a local day
# starts on one and each lies within one local day.
QUARTER_HOUR = "date_bin('15 minutes', %(expressions)s, TIMESTAMP '2000-01-01')"


def _raw_totals(until: dt.date) -> dict[dt.date, tuple[int, int, int]]:
    """Every local day's raw click totals (people, automated, unclassified) before ``until``.

    The whole table is read, grouped by class (a plain column, where counting with a filter per
    figure evaluates three conditions per click: twice the time at a million clicks) and, on
    PostgreSQL, by quarter-hour in UTC, which is arithmetic; the quarter-hours are put on their
    local day here (converting each click's time to the local time zone took half the statement,
    2 of 4 s at ten million clicks). Both read the ``(classification, clicked_at)`` index alone.
    """
    clicks = LinkClick.objects.order_by().filter(
        clicked_at__gte=local_midnight(ROLLUP_FIRST_DAY), clicked_at__lt=local_midnight(until)
    )
    postgresql = connection.vendor == "postgresql"
    tz = local_tz()
    when: Any = (
        Func(F("clicked_at"), template=QUARTER_HOUR, output_field=UTCTimestampField())
        if postgresql
        else rangeclicks.day_expression()
    )
    rows = clicks.annotate(at_=when).values_list("at_", "classification")
    return _tally(
        (at.astimezone(tz).date() if postgresql else as_date(at), classification, count)
        for at, classification, count in rows.annotate(n=Count("click_id"))
    )


def _tally(
    counted: Iterable[tuple[dt.date, str | None, int]],
) -> dict[dt.date, tuple[int, int, int]]:
    """Clicks counted per day and class, summed per day as (people, automated, unclassified)."""
    totals: dict[dt.date, tuple[int, int, int]] = {}
    for day, classification, count in counted:
        h, a, u = totals.get(day, (0, 0, 0))
        if classification is None:
            u += count
        elif classification == Classification.HUMAN:
            h += count
        else:
            a += count
        totals[day] = (h, a, u)
    return totals


# Past this many links clicked since the last run, today's rows are built for every link.
MAX_LINKS_EXTENDED = 2000


def _links_clicked_since(
    state: RollupState, today: dt.date, until: dt.datetime
) -> frozenset[str] | None:
    """The links clicked since the last run rolled today up (until ``state.partial_until``), when
    only their rows of today can have changed: the last run rolled today up too, and today's
    clicks before that instant still add up to what it rolled up (a click stored late, removed
    or classified since changes them: today is then built whole). ``None``: build it whole.

    Today's rolled part is then extended rather than built again (its rows over every link are;
    one link's, job's and application's rows only for those clicked): the last clicks of a busy
    day are a few hundred links' of 20,000.
    """
    before = state.partial_until
    midnight = local_midnight(today)
    if state.complete_until != today or before is None or not midnight < before <= until:
        return None
    clicks = LinkClick.objects.order_by().filter(clicked_at__gte=midnight, clicked_at__lt=before)
    raw = _tally(
        (today, classification, n)
        for classification, n in clicks.values_list("classification").annotate(n=Count("click_id"))
    )
    if raw.get(today, (0, 0, 0)) != _rolled_totals(day=today).get(today, (0, 0, 0)):
        return None
    since = LinkClick.objects.order_by().filter(clicked_at__gte=before, clicked_at__lt=until)
    links = list(since.values_list("tracking_id", flat=True).distinct()[: MAX_LINKS_EXTENDED + 1])
    return None if len(links) > MAX_LINKS_EXTENDED else frozenset(links)


def _summarise_outcomes(
    ranges: list[tuple[dt.date, dt.date]] | None, say: Callable[[str], None]
) -> int:
    """Rebuild the outcome summaries the days rolled up again may have changed (all of them on a
    full rebuild): applications whose person clicks on those days are no longer those their
    summary was built from (:mod:`analytics.outcome_click_days`), and those with no summary or
    one on another basis (:func:`analytics.outcome_summaries.staleness`). A summary that only
    lacks clicks dated since it was built is extended instead (:mod:`analytics.outcome_extend`)."""
    if ranges is None:
        say("summarising the outcomes of every application")
        return outcome_summaries.refresh(progress=say)
    stale = outcome_summaries.staleness(outcome_click_days.changed(ranges))
    extended = outcome_extend.extendable(stale.clicks_changed, ranges)
    rebuilt = stale.rebuild | (stale.clicks_changed.keys() - extended)
    if extended:
        say(f"adding the new clicks to the outcomes of {len(extended)} application(s)")
        outcome_extend.extend({app_id: stale.clicks_changed[app_id] for app_id in extended})
    if rebuilt:
        say(f"summarising the outcomes of {len(rebuilt)} application(s)")
    return outcome_summaries.refresh(rebuilt, progress=say) + len(extended)


def run(
    *,
    refresh_days: int = 0,
    rebuild: bool = False,
    verify: bool = True,
    also_days: Iterable[dt.date] = (),
    whole_today: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RollupResult:
    """Bring the rollups up to date (idempotent); see the module docstring. ``also_days``: local
    days to rebuild besides the last ``refresh_days`` (those before today that the rollups hold).
    ``whole_today``: build every link's rows of today's rolled part again, even when only some
    links were clicked since the last run (see :func:`_links_clicked_since`): after a change that
    keeps the clicks' totals (a reclassification, an anonymization)."""
    say = progress or (lambda message: None)
    now = timezone.now()
    today = now.astimezone(local_tz()).date()
    # Today's clicks are rolled up too, up to a moment a little in the past: clicks are stored
    # a moment after they happen (the buffered writer), and those after it are read raw.
    lagged = now - dt.timedelta(seconds=settings.ANALYTICS_ROLLUP_LAG_SECONDS)
    partial_until = lagged if lagged > local_midnight(today) else None
    result = RollupResult(complete_until=today, partial_until=partial_until)
    with transaction.atomic():
        state = RollupState.objects.select_for_update().filter(pk=1).first()
        full = (
            rebuild
            or state is None
            or state.time_zone != settings.TIME_ZONE
            or state.complete_until is None
        )
        days: set[dt.date] = set()
        if full:
            for model in ROLLUP_MODELS:
                model.objects.all().delete()
            earliest = LinkClick.objects.aggregate(first=Min("clicked_at"))["first"]
            first = earliest.astimezone(local_tz()).date() if earliest else today
            first = max(first, ROLLUP_FIRST_DAY)
            result.full_rebuild = True
        else:
            assert state is not None and state.complete_until is not None
            # Anything after today is read raw: drop rows a clock change left there. Today's rows
            # are compared with today's rolled part below and written only where they differ;
            # with nothing of today rolled up yet, today is read raw too and its rows go.
            after = today if partial_until is None else today + dt.timedelta(days=1)
            for model in DAILY_MODELS:
                later = model.objects.filter(day__gte=after)
                if model is DailyLinkBreakdown:  # through its (dimension, day) index
                    later = later.filter(dimension__in=Dimension.values)
                later.delete()
            if state.complete_until > today:
                days.add(today - dt.timedelta(days=1))  # rebuilds this month's session bits
            # A refresh reaching back to an absurd click (the anonymization's oldest) stops at
            # the first day (and a date before the year 1 would not even exist).
            last_complete = min(state.complete_until, today)
            back = min(refresh_days, max(0, (last_complete - ROLLUP_FIRST_DAY).days))
            first = last_complete - dt.timedelta(days=back)
            if verify:
                days |= _mismatched_days(first)
            days |= {day for day in also_days if ROLLUP_FIRST_DAY <= day < last_complete}
        day = first
        while day < today:
            days.add(day)
            day += dt.timedelta(days=1)
        ranges = rollup_months.contiguous(sorted(days | ({today} if partial_until else set())))
        # An incremental run reads the days it refreshes (the last ones, up to today's rolled
        # part) once; an older day found changed is read where it is (analytics.rangeclicks).
        recent = None if full or not ranges else local_midnight(ranges[-1][0])
        with rangeclicks.recent(recent, partial_until or local_midnight(today)) as source:
            for range_first, range_last in rollup_months.contiguous(sorted(days)):
                say(f"rolling up {range_first} .. {range_last}")
                _build_range(range_first, range_last, source=source)
            months = {day.replace(day=1) for day in days}
            if partial_until is not None:
                say(f"rolling up {today} until {partial_until:%H:%M:%S} UTC")
                links = None
                # Asked to rebuild days whatever they hold (refresh_days), today is built whole.
                if not (full or whole_today or refresh_days):
                    assert state is not None
                    links = _links_clicked_since(state, today, partial_until)
                _build_range(today, today, until=partial_until, source=source, links=links)
                months.add(today.replace(day=1))
            # The session bits of the days rebuilt change, and today's and later ones (today's
            # rolled part grows; a day after today holds none): an incremental run rebuilds only
            # those.
            month_end = next_month(today.replace(day=1)) - dt.timedelta(days=1)
            changed = None if full else days | set(rollup_months.days_between(today, month_end))
            for month in sorted(months):
                say(f"rolling up the sessions of {month:%Y-%m}")
                rollup_months.build_sessions(
                    month, partial_until or local_midnight(today), changed, source
                )
            if not full:
                MonthlyLinkClicks.objects.filter(month__gt=today).delete()  # see the days above
            rollup_months.build_clicks(None if full else months | {today.replace(day=1)})
        result.outcome_applications = _summarise_outcomes(None if full else ranges, say)
        RollupState.objects.update_or_create(
            pk=1,
            defaults={
                "time_zone": settings.TIME_ZONE,
                "complete_until": today,
                "partial_until": partial_until,
            },
        )
        result.rebuilt_days = sorted(days)
    if connection.vendor == "postgresql":
        _after_writing(result)
    return result


def _after_writing(result: RollupResult) -> None:
    """Fresh tables have no statistics until autovacuum comes by: plan with real ones at once.
    The outcome summaries are also vacuumed, so that the outcomes page sums them from their index
    alone (rows not yet marked visible would each be read from the table); ``VACUUM`` cannot run
    in a caller's transaction, the statistics alone are gathered then."""
    models_written: list[type[Any]] = []
    if result.full_rebuild:
        models_written += ROLLUP_MODELS
    if result.outcome_applications:
        models_written += [OutcomeSummary, OutcomeValue]
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in models_written:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
