"""Link clicks: read-only, filtered by classification, source and date."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter, SimpleListFilter
from django.contrib.admin.utils import quote
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from tracking.admin.common import (
    EstimatedCountPaginator,
)
from tracking.models import (
    ClickSource,
    LinkClick,
)

# --- Clicks ---------------------------------------------------------------------------------


class ClickSourceFilter(SimpleListFilter):
    """The seed's sources as fixed choices: listing distinct values would scan every click."""

    title = "click source"
    parameter_name = "click_source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ClickSource.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(click_source=value) if value else queryset


@admin.register(LinkClick)
class LinkClickAdmin(admin.ModelAdmin):
    list_display = (
        "clicked_at",
        "link",
        "link_function",
        "classification",
        "click_source",
        "ip_address",
        "session_id",
        "device_type",
        "browser",
    )
    list_filter = ("classification", ClickSourceFilter, ("clicked_at", DateFieldListFilter))
    search_fields = ("tracking__tracking_id", "session_id")
    search_help_text = "An exact tracking id or session id."
    list_select_related = ("tracking",)
    ordering = ("-clicked_at",)
    list_per_page = 100
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Link", ordering="tracking_id")
    def link(self, obj: LinkClick) -> str:
        url = reverse("admin:tracking_trackedlink_change", args=[quote(obj.tracking_id)])
        return format_html('<a href="{}">{}</a>', url, obj.tracking_id)

    @admin.display(description="Function", ordering="tracking__link_function")
    def link_function(self, obj: LinkClick) -> str:
        return obj.tracking.link_function

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LinkClick], search_term: str
    ) -> tuple[QuerySet[LinkClick], bool]:
        # Exact matches use the tracking id and session indexes; a substring search
        # (Django's default) would scan every click.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(tracking_id=term) | Q(session_id=term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Clicks are evidence; only a superuser erases them (privacy requests).
        return bool(request.user.is_superuser)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # Clicks have no dependent rows: count them rather than list thousands on the page.
        count = objs.count() if isinstance(objs, QuerySet) else len(objs)
        perms = set() if self.has_delete_permission(request) else {"link clicks"}
        return [f"{count} clicks"], {"link clicks": count}, perms, []
