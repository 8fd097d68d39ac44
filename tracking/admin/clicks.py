"""Link clicks: read-only but for the verdict, filtered by classification, source and date.

A click's page shows every reason its automatic verdict has, in words, and lets the job seeker
correct the verdict in one click ("This was a person" / "This was a machine"; see
:mod:`tracking.verdicts`); the list does the same for the selected clicks (two actions). Both
need the right to change clicks, which the rest of the page never uses: clicks are evidence.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter, SimpleListFilter
from django.contrib.admin.utils import quote, unquote
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from tracking import classify, services, verdicts
from tracking.admin.common import (
    EstimatedCountPaginator,
)
from tracking.models import (
    ClickSource,
    LinkClick,
    VerdictCorrection,
)

CORRECT_CLICKS = "tracking.change_linkclick"

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
        "reason_codes",
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
    readonly_fields = ("reasons", "verdict")
    actions = ["mark_person", "mark_machine"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:  # type: ignore[override]
        # The reasons in words and the verdict's correction right after the stored reasons.
        fields = [
            name for name in super().get_fields(request, obj) if name not in self.readonly_fields
        ]
        at = fields.index("classification_reasons") + 1 if "classification_reasons" in fields else 0
        return [*fields[:at], *self.readonly_fields, *fields[at:]]

    @admin.display(description="Reasons")
    def reason_codes(self, obj: LinkClick) -> str:
        return ", ".join(obj.classification_reasons or []) or "—"

    @admin.display(description="Why (automatic verdict)")
    def reasons(self, obj: LinkClick) -> SafeString | str:
        codes = list(obj.classification_reasons or [])
        automatic = verdicts.automatic_classification(obj.classification_reasons)
        if not codes:
            return f"No signal fired: {automatic}." if automatic else "Not classified yet."
        items = format_html_join(
            "", "<li><code>{}</code> {}</li>", ((c, classify.reason_label(c)) for c in codes)
        )
        return format_html(
            "<p>Automatic verdict: <strong>{}</strong></p><ul data-reasons>{}</ul>",
            automatic,
            items,
        )

    @admin.display(description="Your correction")
    def verdict(self, obj: LinkClick) -> SafeString:
        # Buttons of the page's own form (it holds the CSRF token), sent to verdict/ instead.
        if obj.classification_correction:
            state = format_html(
                '<span data-corrected="{}">{} (corrected by {} at {})</span> ',
                obj.classification_correction,
                obj.get_classification_correction_display(),
                (obj.corrected_by or "someone").removeprefix("user:"),
                obj.corrected_at,
            )
        else:
            state = format_html("<span>{}</span> ", "None: the automatic verdict counts.")
        action = reverse("admin:tracking_linkclick_verdict", args=[quote(obj.pk)])
        buttons = [
            (value, label)
            for value, label in (*VerdictCorrection.choices, (verdicts.AUTOMATIC, "Undo"))
            if value != obj.classification_correction
            and (value != verdicts.AUTOMATIC or obj.classification_correction)
        ]
        return format_html(
            "{}{}",
            state,
            format_html_join(
                " ",
                '<button type="submit" class="button" formaction="{}" name="verdict" '
                'value="{}" data-verdict="{}">{}</button>',
                ((action, value, value, label) for value, label in buttons),
            ),
        )

    def get_urls(self) -> list[URLPattern]:
        verdict = path(
            "<path:object_id>/verdict/",
            self.admin_site.admin_view(self.verdict_view),
            name="tracking_linkclick_verdict",
        )
        return [verdict, *super().get_urls()]

    def verdict_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST ``verdict=person|machine|automatic`` from a click's page."""
        if not self.has_correct_permission(request):
            return HttpResponse(f"Your account lacks the permission {CORRECT_CLICKS}.", status=403)
        if request.method != "POST":
            return HttpResponse("Corrections are sent with POST.", status=405)
        try:
            services.correct_click_verdict(
                click_id=unquote(object_id),
                verdict=request.POST.get("verdict", ""),
                corrected_by=f"user:{request.user.get_username()}",
            )
        except services.NotFound as exc:
            return HttpResponse(exc.message, status=404)
        except services.ServiceError as exc:
            return HttpResponse(f"{exc.field}: {exc.message}", status=400)
        self.message_user(request, "Verdict saved.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:tracking_linkclick_change", args=[quote(object_id)])
        )

    def has_correct_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(CORRECT_CLICKS))

    def _correct(self, request: HttpRequest, clicks: QuerySet[LinkClick], verdict: str) -> None:
        user = f"user:{request.user.get_username()}"
        for click_id in clicks.values_list("click_id", flat=True)[:1000]:
            services.correct_click_verdict(click_id=click_id, verdict=verdict, corrected_by=user)
        self.message_user(request, "Verdicts corrected.", messages.SUCCESS)

    @admin.action(description="This was a person", permissions=["correct"])
    def mark_person(self, request: HttpRequest, queryset: QuerySet[LinkClick]) -> None:
        self._correct(request, queryset, VerdictCorrection.PERSON)

    @admin.action(description="This was a machine", permissions=["correct"])
    def mark_machine(self, request: HttpRequest, queryset: QuerySet[LinkClick]) -> None:
        self._correct(request, queryset, VerdictCorrection.MACHINE)

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
