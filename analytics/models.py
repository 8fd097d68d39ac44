"""Daily rollups of ``link_clicks``, so dashboard aggregates cost days x links rather than clicks.

``manage.py rollup_clicks`` fills them for whole local days (``TIME_ZONE``) before today and records
in :class:`RollupState` up to which day they are complete and in which time zone. Queries read the
rollups for whole days inside that range and raw clicks for everything else (today, partial days,
or all days when the rollups are missing or were built for another time zone), so numbers stay
equal to a computation over the raw clicks.

Rollup rows point at their link without a database constraint: a system deleting links with plain
SQL must not be blocked by them. Queries join the link table, so rows of a deleted link are ignored
and the next run removes them. Their link column has no index of its own: each table's composite
index starts with it, and every further index on a random key is one more random page written per
row a run inserts (the cost of an incremental run once the tables outgrow the database's cache).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from tracking.dbfields import UTCTimestampField
from tracking.models import TrackedLink


class RollupState(models.Model):
    """A single row: rollups hold every local day before ``complete_until`` in ``time_zone``.

    When ``partial_until`` is set, they also hold the day ``complete_until`` itself, up to that
    instant: its clicks before ``partial_until`` are rolled up and the later ones read raw.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    time_zone = models.CharField(max_length=64)
    complete_until = models.DateField(null=True, blank=True)
    partial_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analytics_rollup_state"

    def __str__(self) -> str:
        return f"rollups complete until {self.complete_until} ({self.time_zone})"


class DailyLinkClicks(models.Model):
    """People and automated clicks of one link on one local day."""

    day = models.DateField()
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (tracking, …) index below leads with it
        related_name="+",
    )
    human_clicks = models.PositiveIntegerField()
    automated_clicks = models.PositiveIntegerField()

    class Meta:
        db_table = "analytics_daily_link_clicks"
        constraints = [
            models.UniqueConstraint(fields=["day", "tracking"], name="uniq_daily_link_clicks")
        ]
        indexes = [
            # A link's (or a job's links') days, answered from the index alone on PostgreSQL: a
            # job's rows lie one to a table page (each day's rows are written together).
            models.Index(
                fields=["tracking", "day"],
                name="idx_daily_clicks_link_day",
                include=["human_clicks", "automated_clicks"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} on {self.day}"


class MonthlyLinkClicks(models.Model):
    """People and automated clicks of one link over one local month: the sum of its daily rows
    the rollups hold (in the current month, up to today's rolled part).

    Ranking every link over a period (:func:`analytics.counting.top_by`) reads one of these for
    each month the period covers up to the rollups' end, instead of a row per link and day
    (20,000 links over 30 days: 600,000 rows). Rebuilt with the days they sum.
    """

    month = models.DateField()  # the first day of the local month
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (tracking, month) index below leads with it
        related_name="+",
    )
    human_clicks = models.PositiveIntegerField()
    automated_clicks = models.PositiveIntegerField()

    class Meta:
        db_table = "analytics_monthly_link_clicks"
        constraints = [
            models.UniqueConstraint(fields=["month", "tracking"], name="uniq_monthly_link_clicks")
        ]
        indexes = [
            # A job's or an application's links' months (from the index alone on PostgreSQL).
            models.Index(
                fields=["tracking", "month"],
                name="idx_monthly_clicks_link_month",
                include=["human_clicks", "automated_clicks"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} in {self.month:%Y-%m}"


class DailyGroupClicks(models.Model):
    """People and automated clicks of one local day over the links of one function and job.

    A few rows a day however many links there are: sums over every link (the overview, the
    performance report, the link-function and job figures without a filter) read these rather
    than a row per link and day (:mod:`analytics.counting`). Like the all-link breakdown rows,
    they follow the links' function and job at rollup time, and a link deleted since the last run
    leaves its clicks here until the next one.
    """

    day = models.DateField()
    link_function = models.CharField(max_length=50)
    job_id = models.UUIDField(null=True, blank=True)
    human_clicks = models.PositiveIntegerField()
    automated_clicks = models.PositiveIntegerField()

    class Meta:
        db_table = "analytics_daily_group_clicks"
        indexes = [models.Index(fields=["day"], name="idx_group_clicks_day")]

    def __str__(self) -> str:
        return f"{self.link_function} {self.job_id} on {self.day}"


class Dimension(models.TextChoices):
    SOURCE = "click_source", "Click source"
    CLASSIFICATION = "classification", "Classification"
    DEVICE = "device_type", "Device type"
    BROWSER = "browser", "Browser"
    OS = "os", "Operating system"
    HOUR = "hour", "Local hour"
    COUNTRY = "country_code", "Country"


class DailyLinkBreakdown(models.Model):
    """Clicks on one local day by one value of a dimension (source, device, hour…).

    One row per link, plus one row with no link for all links together: the overview's charts
    then read a few rows per day instead of one per link. Those all-link rows are rebuilt, like the
    others, when a day's raw totals change (links deleted since are dropped at that run).
    """

    day = models.DateField()
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (tracking, …) index below leads with it
        null=True,
        blank=True,
        related_name="+",
    )
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    value = models.CharField(max_length=100, null=True, blank=True)
    human_clicks = models.PositiveIntegerField()
    automated_clicks = models.PositiveIntegerField()

    class Meta:
        db_table = "analytics_daily_link_breakdown"
        indexes = [
            # A chart over all links: one dimension over a range of days.
            models.Index(fields=["dimension", "day"], name="idx_breakdown_dim_day"),
            # The same chart for one link or a job's links, from the index alone on PostgreSQL
            # (a job's 36,000 country rows over three months at 10M clicks lay on 16,000 pages:
            # 89 ms read from the table, 27 ms from the index).
            models.Index(
                fields=["tracking", "dimension", "day"],
                name="idx_breakdown_link_dim_day",
                include=["value", "human_clicks", "automated_clicks"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} on {self.day}: {self.dimension}={self.value}"


class MonthlyLinkSession(models.Model):
    """A session seen on one link in one local month: which days (bit d-1 for day d) and by whom.

    Distinct sessions over a period cannot be added up from daily counts. Counting distinct
    ``session_id`` over these rows, keeping those whose ``days`` overlap the period's days, gives
    the exact figure; there is one row per link, session and month however often it clicked.
    Only days the rollups hold are in ``days`` (today's bit: its sessions before
    ``RollupState.partial_until``).
    """

    month = models.DateField()  # the first day of the local month
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (tracking, …) index below leads with it
        related_name="+",
    )
    session_id = models.CharField(max_length=100)
    human = models.BooleanField()
    days = models.BigIntegerField()

    class Meta:
        db_table = "analytics_monthly_link_session"
        indexes = [
            models.Index(fields=["month"], name="idx_monthly_session_month"),
        ]
        constraints = [
            # One row per link, month, session and kind; also a link's months (its first columns).
            models.UniqueConstraint(
                fields=["tracking", "month", "session_id", "human"], name="uniq_monthly_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} on {self.tracking_id} in {self.month:%Y-%m}"


def _link_of_a_copy() -> models.ForeignKey[Any]:
    """The link of a click copied into a temporary table: no constraint, no index of its own."""
    return models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class RangeClick(models.Model):
    """One click of the days a rollup run rebuilds, as that run's aggregates read it.

    Not a stored table: :mod:`analytics.rangeclicks` fills a temporary table of this shape from
    ``link_clicks`` once per range, with each click's local day and hour worked out once, and the
    range's twenty-odd aggregates read it instead of finding the same clicks in ``link_clicks``
    again each time. It lives for one range of one run.
    """

    click_id = models.UUIDField(primary_key=True)
    tracking = _link_of_a_copy()
    clicked_at = UTCTimestampField()
    day = models.DateField()  # local (TIME_ZONE)
    day_of_month = models.PositiveSmallIntegerField()  # of ``day``
    hour = models.CharField(max_length=2)  # local, as the breakdown rows hold it: '0'…'23'
    session_id = models.CharField(max_length=100, null=True)
    click_source = models.CharField(max_length=50, null=True)
    classification = models.CharField(max_length=20, null=True)
    device_type = models.CharField(max_length=20, null=True)
    browser = models.CharField(max_length=50, null=True)
    os = models.CharField(max_length=50, null=True)
    country_code = models.CharField(max_length=2, null=True)

    class Meta:
        managed = False
        db_table = "analytics_rollup_range_clicks"

    def __str__(self) -> str:
        return f"{self.click_id} on {self.day}"


class OutcomeClick(models.Model):
    """One person click, after its application's sending, of the applications an outcome summary
    batch rebuilds.

    Not a stored table: :mod:`analytics.outcome_clicks` fills a temporary table of this shape from
    ``link_clicks`` once per batch, and the batch's seven reads of those clicks (the click days,
    the first click, what people opened, the variants, the touches) read it instead of finding
    the same clicks in ``link_clicks`` again each time. It lives for one batch.
    """

    click_id = models.UUIDField(primary_key=True)
    tracking = _link_of_a_copy()
    clicked_at = UTCTimestampField()
    click_source = models.CharField(max_length=50, null=True)
    metadata = models.JSONField(null=True, default=dict)

    class Meta:
        managed = False
        db_table = "analytics_outcome_batch_clicks"

    def __str__(self) -> str:
        return f"{self.click_id} at {self.clicked_at}"


class ScopeKind(models.TextChoices):
    ALL = "all", "All links"
    LINK = "link", "One link"
    JOB = "job", "A job's links"
    APPLICATION = "application", "An application's links"


class DailyScopeSessions(models.Model):
    """Distinct sessions on one local day over all links, one link, one job's or one application's.

    Per-day distinct counts for the daily charts; a period's distinct count comes from
    :class:`MonthlyLinkSession` instead. Job and application rows follow the links' job and
    application at rollup time (``rollup_clicks --rebuild`` after moving links between jobs).
    """

    day = models.DateField()
    kind = models.CharField(max_length=12, choices=ScopeKind.choices)
    tracking = models.ForeignKey(
        TrackedLink,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (tracking, …) index below leads with it
        null=True,
        blank=True,
        related_name="+",
    )
    job_id = models.UUIDField(null=True, blank=True)
    application_id = models.UUIDField(null=True, blank=True)
    human_sessions = models.PositiveIntegerField()
    all_sessions = models.PositiveIntegerField()

    class Meta:
        db_table = "analytics_daily_scope_sessions"
        indexes = [
            models.Index(fields=["kind", "day"], name="idx_scope_sessions_kind_day"),
            models.Index(fields=["tracking", "day"], name="idx_scope_sessions_link"),
            models.Index(fields=["job_id", "day"], name="idx_scope_sessions_job"),
            models.Index(fields=["application_id", "day"], name="idx_scope_sessions_app"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} sessions on {self.day}"


class SketchKind(models.TextChoices):
    ALL = "all", "All links"
    FUNCTION = "link_function", "A link function's links"
    JOB = "job_id", "A job's links"


class DailySessionSketch(models.Model):
    """The sessions of one local day over all links, a link function's or a job's, as a
    HyperLogLog sketch (:mod:`analytics.sketches`): people's sessions (``human``) or the others.

    Distinct sessions over a long period of many links cost a read of every session row of the
    period (:class:`MonthlyLinkSession`); the union of the period's daily sketches estimates them
    from a few kilobytes a day. :mod:`analytics.sessions` reads these only when a period's
    sessions are many (``ANALYTICS_EXACT_SESSIONS_UP_TO``); below that every count is exact.
    Rows follow the links' job and function at rollup time, like :class:`DailyScopeSessions`.
    """

    day = models.DateField()
    kind = models.CharField(max_length=20, choices=SketchKind.choices)
    key = models.CharField(max_length=100, null=True, blank=True)  # the function or job id
    human = models.BooleanField()
    # The registers, zlib-compressed (a small day's sketch is mostly empty registers).
    registers = models.BinaryField()

    class Meta:
        db_table = "analytics_daily_session_sketch"
        indexes = [models.Index(fields=["kind", "day"], name="idx_session_sketch_kind_day")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key or ''} sessions on {self.day}"


class OutcomeSummary(models.Model):
    """One application's outcome figures from its person clicks, as of the last rollup run.

    The outcomes page reads these rows (and :class:`OutcomeValue`) instead of the clicks. ``basis``
    is a digest of everything else the figures depend on (sending, stage times, job title and
    company, lookback and half-life): a row whose basis differs from the application's current one
    is rebuilt by the next run. Between runs the read trusts a row whose ``settings`` digest is
    current: saving the application, its status history, its job or its links drops the row
    (:mod:`analytics.receivers`), and the application is read raw until the next run. Built by
    :func:`analytics.outcome_summaries.refresh`; the application is referenced without a database
    constraint, like the other rollups, and rows of deleted applications are dropped at the next run.
    """

    application_id = models.UUIDField(primary_key=True)
    basis = models.CharField(max_length=64)
    first_person_click = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField()
    # What the read needs besides the clicks, as of the build: kept true by dropping the row
    # when the application, its history or its job is saved (:mod:`analytics.receivers`).
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # A digest of the lookback and the half-life the row was built with.
    settings = models.CharField(max_length=64, default="")

    class Meta:
        db_table = "analytics_outcome_summary"

    def __str__(self) -> str:
        return f"outcome summary of {self.application_id}"


class OutcomeValue(models.Model):
    """A dimension value in one application's outcome: opened by a person, or credited for a stage.

    ``stage`` ``opened``: a person opened a link of this function, source or tracking id after the
    sending (``reached_interview`` says whether the application got an interview; the credit
    columns are zero). ``stage`` ``responded``/``interview``/``offer``: the value's share of that
    conversion under each of the five attribution models (zero when it took no part under one).
    """

    application_id = models.UUIDField()
    stage = models.CharField(max_length=12)
    dimension = models.CharField(max_length=20)
    value = models.CharField(max_length=300)
    reached_interview = models.BooleanField(default=False)
    first_touch = models.FloatField(default=0.0)
    last_touch = models.FloatField(default=0.0)
    linear = models.FloatField(default=0.0)
    time_decay = models.FloatField(default=0.0)
    position_based = models.FloatField(default=0.0)
    # The application's sending, as in its summary: the period's rows without a join.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "analytics_outcome_value"
        indexes = [
            # The outcomes page: one stage's rows, summed by dimension value from the index alone
            # (PostgreSQL; the rollup vacuums the table after writing it, so that the index can
            # answer without visiting each row).
            models.Index(
                fields=["stage", "dimension", "value"],
                name="idx_outcome_value_stage",
                include=[
                    "sent_at",
                    "reached_interview",
                    "application_id",
                    "first_touch",
                    "last_touch",
                    "linear",
                    "time_decay",
                    "position_based",
                ],
            ),
            # Rebuilding an application's rows; the applications that opened a link.
            models.Index(fields=["application_id"], name="idx_outcome_value_app"),
            models.Index(fields=["dimension", "value"], name="idx_outcome_value_dim"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.stage}: {self.dimension}={self.value}"


class OutcomeClickDay(models.Model):
    """One application's person clicks on one local day, as they were when its summary was built.

    Written with the summary (:func:`analytics.outcome_summaries.refresh`); an incremental
    ``rollup_clicks`` compares them with the raw clicks of the days it rolls up again and
    summarises again only the applications whose clicks changed
    (:mod:`analytics.outcome_click_days`). ``id_sum_a`` and ``id_sum_b`` add up two 28-bit slices
    of the clicks' ids, so that a click replaced by another on the same day changes them too. The
    application is referenced without a database constraint, like its summary; rows of deleted
    applications are dropped at the next run.
    """

    application_id = models.UUIDField()
    day = models.DateField()
    person_clicks = models.PositiveIntegerField()
    id_sum_a = models.BigIntegerField()
    id_sum_b = models.BigIntegerField()

    class Meta:
        db_table = "analytics_outcome_click_day"
        constraints = [
            # Also serves replacing one application's rows with its summary.
            models.UniqueConstraint(
                fields=["application_id", "day"], name="uniq_outcome_click_day"
            ),
        ]
        indexes = [
            # An incremental run's comparison: the rows of the days it rolls up again.
            models.Index(fields=["day"], name="idx_outcome_click_day_day"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} on {self.day}: {self.person_clicks} person click(s)"
