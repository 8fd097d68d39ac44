"""Shared pieces of the admin pages: dashboard links, copy buttons, the estimating pager."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from tracking import services

# Above this many rows the click list's pager shows PostgreSQL's estimate instead of counting.
ESTIMATE_COUNT_ABOVE = 10_000


# --- Shared pieces --------------------------------------------------------------------------


def dashboard_url(url_name: str, arg: object) -> str | None:
    """The dashboard page of a job, application or link; None when the dashboard is not mounted."""
    try:
        return reverse(url_name, args=[arg])
    except NoReverseMatch:
        return None


def dashboard_link(url_name: str, arg: object) -> str:
    """A link to the dashboard page of a job, application or link; nothing if there is none."""
    url = dashboard_url(url_name, arg)
    return format_html('<a href="{}">Dashboard</a>', url) if url else ""


def copy_button(text: str) -> SafeString:
    """The value with a button copying it (``static/js/copy_buttons.js``; no inline script)."""
    return format_html(
        '<code>{}</code> <button type="button" class="button" data-copy-text="{}">Copy</button>',
        text,
        text,
    )


class EstimatedCountPaginator(Paginator):
    """A paginator that takes PostgreSQL's row estimate when a list is large.

    ``COUNT(*)`` over millions of clicks reads every matching row on each page view. The planner's
    estimate (``EXPLAIN``, from the table statistics) costs a millisecond and is close enough for
    a pager; below ``ESTIMATE_COUNT_ABOVE`` rows, and on other databases, the count is exact.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet):
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                # Django's own compiled SQL, with its parameters passed separately.
                sql, params = queryset.order_by().values("pk").query.sql_with_params()
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                    plan = cursor.fetchone()[0]
                if isinstance(plan, str):
                    plan = json.loads(plan)
                estimate = int(plan[0]["Plan"]["Plan Rows"])
                if estimate > ESTIMATE_COUNT_ABOVE:
                    return estimate
        return super().count


class DatalistInput(forms.TextInput):
    """A text input suggesting the standard values while still accepting custom ones."""

    def __init__(self, options: Iterable[str], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options = list(options)

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id', name)}_options"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((o,) for o in self.options))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


def _report_service_error(
    form: forms.BaseForm, exc: services.ServiceError, fields: dict[str, str]
) -> None:
    """Show a service error on the form field it names (or on the form as a whole)."""
    field = fields.get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)
