"""The outcomes page, its CSV export, and the application page's status timeline and quick change."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from analytics import outcome_views
from tests.factories import logged_in_client, make_user
from tests.outcome_fixture import world
from tests.test_csp import assert_only_own_scripts
from tracking.models import ApplicationStatusHistory

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, used by name


def rows_of(html: str, table: str) -> str:
    start = html.index(f'data-table="{table}"')
    return html[start : html.index("</table>", start)]


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_page_shows_the_funnel_and_follow_ups(admin_client: Client, world: Any) -> None:
    response = admin_client.get(reverse("analytics:outcomes"))
    assert response.status_code == 200
    html = response.content.decode()
    funnel = rows_of(html, "funnel")
    for stage, count in (("applications", 4), ("opened", 2), ("responded", 2), ("interview", 1)):
        assert f'data-stage="{stage}"><td>' in funnel
        assert f'data-stage="{stage}">' in funnel and f"data-count>{count}<" in funnel
    follow_up = rows_of(html, "follow-up")
    assert reverse("analytics:application-detail", args=[world["apps"][2].pk]) in follow_up
    assert str(world["apps"][3].pk) not in follow_up
    assert "(small sample)" in rows_of(html, "link-functions")
    assert 'id="outcome-charts"' in html
    assert_only_own_scripts(response)


def test_the_model_picker_changes_the_credit(admin_client: Client, world: Any) -> None:
    def credits(model: str) -> str:
        html = admin_client.get(reverse("analytics:outcomes") + f"?model={model}").content.decode()
        return rows_of(html, "attribution-link_function")

    assert "0.67" in credits("linear") and "0.33" in credits("linear")
    assert "0.80" in credits("position_based") and "0.20" in credits("position_based")
    assert "Resume" not in credits("first_touch")


def test_a_bad_model_is_a_400_naming_it(admin_client: Client) -> None:
    response = admin_client.get(reverse("analytics:outcomes") + "?model=u_shaped")
    assert response.status_code == 400
    assert "model must be one of" in response.content.decode()


def test_each_table_exports_as_csv(admin_client: Client, world: Any) -> None:
    url = reverse("analytics:outcomes-csv")
    rows = csv_rows(admin_client.get(url + "?days=30&table=attribution&model=linear"))
    assert rows[0] == ["model", "stage", "dimension", "value", "credit", "conversions"]
    assert ["linear", "interview", "link_function", "LinkedIn", "0.6667", "1"] in rows
    lines = csv_rows(admin_client.get(url + "?table=funnel"))
    assert lines[1:3] == [["applications", "4", "1.0"], ["opened", "2", "0.5"]]
    assert admin_client.get(url + "?table=secrets").status_code == 400


def test_each_attribution_table_shows_its_top_rows_and_says_how_many_in_all(
    admin_client: Client, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outcome_views, "ATTRIBUTION_ROWS_SHOWN", 1)
    html = admin_client.get(reverse("analytics:outcomes") + "?model=linear").content.decode()
    functions = rows_of(html, "attribution-link_function")
    assert "LinkedIn" in functions and "0.67" in functions  # the most credit
    assert "Resume" not in functions
    note = html[html.index('data-rows-shown="attribution-link_function"') :]
    assert note.startswith(
        'data-rows-shown="attribution-link_function">Showing 1 of 2 link functions'
    )
    assert "table=attribution" in note[: note.index("</p>")]
    assert 'data-rows-shown="attribution-company"' not in html  # one company: nothing left out
    rows = csv_rows(admin_client.get(reverse("analytics:outcomes-csv") + "?table=attribution"))
    functions_csv = [row[3] for row in rows if row[2] == "link_function"]
    assert functions_csv == ["LinkedIn", "Resume"]


def test_the_attribution_tables_say_nothing_of_a_cap_below_it(
    admin_client: Client, world: Any
) -> None:
    html = admin_client.get(reverse("analytics:outcomes")).content.decode()
    assert "Resume" in rows_of(html, "attribution-link_function")
    assert "data-rows-shown" not in html


# --- Application page -----------------------------------------------------------------------


def test_the_application_page_shows_the_timeline_and_changes_the_status(
    admin_client: Client, world: Any
) -> None:
    app3 = world["apps"][2]
    page = reverse("analytics:application-detail", args=[app3.pk])
    html = admin_client.get(page).content.decode()
    assert 'data-status-change="submitted"' in html
    assert "data-status-form" in html
    response = admin_client.post(
        reverse("analytics:application-status-change", args=[app3.pk]),
        {"status": "reviewing", "note": "Portal says in review", "changed_at": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == page
    row = ApplicationStatusHistory.objects.filter(application=app3).latest("changed_at")
    assert (row.from_status, row.to_status, row.note, row.changed_by) == (
        "submitted",
        "reviewing",
        "Portal says in review",
        "user:admin",
    )
    html = admin_client.get(page).content.decode()
    assert 'data-status-change="reviewing"' in html
    assert "Status changed." in html


def test_a_refused_change_is_explained_and_writes_nothing(admin_client: Client, world: Any) -> None:
    app3 = world["apps"][2]
    url = reverse("analytics:application-status-change", args=[app3.pk])
    response = admin_client.post(url, {"status": "submitted"}, follow=True)
    assert "already submitted" in response.content.decode()
    response = admin_client.post(
        url, {"status": "reviewing", "changed_at": "yesterday"}, follow=True
    )
    assert "changed_at must be a date and time." in response.content.decode()
    assert ApplicationStatusHistory.objects.filter(application=app3).count() == 1


def test_a_viewer_sees_the_timeline_but_no_form_and_cannot_post(world: Any) -> None:
    viewer = make_user("viewer")
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_trackedlink", "view_jobapplication"])
    )
    client = logged_in_client(viewer)
    app3 = world["apps"][2]
    html = client.get(reverse("analytics:application-detail", args=[app3.pk])).content.decode()
    assert 'data-status-change="submitted"' in html
    assert "data-status-form" not in html
    url = reverse("analytics:application-status-change", args=[app3.pk])
    assert client.post(url, {"status": "reviewing"}).status_code == 403
    assert ApplicationStatusHistory.objects.filter(application=app3).count() == 1
