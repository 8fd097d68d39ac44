from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, include, path, reverse
from django.utils import timezone

from linktrack.urls import urlpatterns as project_urlpatterns
from tests.factories import (
    build_click,
    logged_in_client,
    make_application,
    make_clicks,
    make_job,
    make_link,
    make_tracking_staff,
)
from tracking import linkcache, services
from tracking.admin import common as admin_module
from tracking.models import APIKey, Job, JobApplication, LinkClick, ProfileLink, TrackedLink

pytestmark = pytest.mark.django_db


def _page(request: object, key: object) -> HttpResponse:
    return HttpResponse("dashboard")


# Used by the tests marked ``urls``: the dashboard's URL names, as the dashboard app declares them.
dashboard_patterns = (
    [
        path("jobs/<uuid:job_id>/", _page, name="job-detail"),
        path("applications/<uuid:application_id>/", _page, name="application-detail"),
        path("links/<str:tracking_id>/", _page, name="link-detail"),
    ],
    "analytics",
)
urlpatterns = [
    *[p for p in project_urlpatterns if "dashboard" not in str(getattr(p, "pattern", ""))],
    path("dashboard/", include(dashboard_patterns)),
]


@pytest.fixture
def job() -> Job:
    return make_job(posting_url="https://careers.example.com/jobs/42")


@pytest.fixture
def application(job: Job) -> JobApplication:
    return make_application(job, contact_name="Jane Recruiter")


def make_links(count: int, *, job: Job, application: JobApplication) -> list[str]:
    ids = []
    for n in range(count):
        link = make_link(
            job=job,
            application=application,
            original_url=f"https://example.com/profile/{n}",
            link_function="LinkedIn" if n % 2 else "Portfolio",
            description=f"Link {n}",
        )
        ids.append(link.tracking_id)
        make_clicks(
            [
                build_click(link, session_id=f"s{n}", classification=classification)
                for classification in ("human", "scanner")
            ]
        )
    return ids


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


# --- Every page answers, with a bounded number of queries -------------------------------------


CHANGELISTS = [
    "admin:tracking_trackedlink_changelist",
    "admin:tracking_linkclick_changelist",
    "admin:tracking_job_changelist",
    "admin:tracking_jobapplication_changelist",
    "admin:tracking_profilelink_changelist",
    "admin:tracking_apikey_changelist",
]


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelists_make_as_many_queries_for_30_links_as_for_3(
    admin_client: Client, job: Job, application: JobApplication, url_name: str
) -> None:
    make_links(3, job=job, application=application)
    ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/x")
    few = count_queries(admin_client, reverse(url_name))

    for n in range(9):
        other_job = make_job(title=f"Job {n}")
        other_app = make_application(other_job)
        make_links(3, job=other_job, application=other_app)
        ProfileLink.objects.create(link_function=f"Site{n}", url=f"https://example.com/{n}")
        APIKey.objects.create_key(name=f"key {n}", scopes=["links:read"])
    assert TrackedLink.objects.count() == 30

    assert count_queries(admin_client, reverse(url_name)) == few


def test_the_link_list_shows_click_figures_from_one_query(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    make_links(3, job=job, application=application)

    with CaptureQueriesContext(connection) as context:
        response = admin_client.get(reverse("admin:tracking_trackedlink_changelist"))

    body = response.content.decode()
    assert body.count('<td class="field-automated">1</td>') == 3
    assert len(re.findall(r'<td class="field-people"><a href="[^"]+"[^>]*>1</a></td>', body)) == 3
    link_selects = [q for q in context.captured_queries if 'FROM "link_tracking"' in q["sql"]]
    assert len([q for q in link_selects if "link_clicks" in q["sql"]]) == 1


def test_change_pages_answer(admin_client: Client, job: Job, application: JobApplication) -> None:
    tracking_id = make_links(1, job=job, application=application)[0]
    click = LinkClick.objects.first()
    assert click is not None
    profile = ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/x")
    key, _ = APIKey.objects.create_key(name="reader", scopes=["links:read"])
    pages: list[tuple[str, Any]] = [
        ("admin:tracking_trackedlink_change", tracking_id),
        ("admin:tracking_linkclick_change", click.pk),
        ("admin:tracking_job_change", job.pk),
        ("admin:tracking_jobapplication_change", application.pk),
        ("admin:tracking_profilelink_change", profile.pk),
        ("admin:tracking_apikey_change", key.pk),
    ]
    for url_name, pk in pages:
        assert admin_client.get(reverse(url_name, args=[quote(pk)])).status_code == 200, url_name
    for url_name in CHANGELISTS:
        add = url_name.replace("changelist", "add")
        expected = 403 if "linkclick" in url_name else 200
        assert admin_client.get(reverse(add)).status_code == expected, add


def test_job_and_application_pages_list_their_links(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    tracking_id = make_links(1, job=job, application=application)[0]
    for url in (
        reverse("admin:tracking_job_change", args=[quote(job.pk)]),
        reverse("admin:tracking_jobapplication_change", args=[quote(application.pk)]),
    ):
        body = admin_client.get(url).content.decode()
        assert tracking_id in body
        assert "https://example.com/profile/0" in body


# --- Creating and changing links goes through the service --------------------------------------


def link_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "tracking_id": "",
        "original_url": "https://linkedin.com/in/steve-glen",
        "link_function": "LinkedIn",
        "link_type": "profile",
        "job": "",
        "application": "",
        "description": "Professional LinkedIn profile",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_adding_a_javascript_url_shows_the_validation_error(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"),
        link_form(original_url="javascript:alert(document.cookie)"),
    )

    assert response.status_code == 200
    assert "Only http and https URLs can be tracked." in response.content.decode()
    assert not TrackedLink.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"original_url": "http://127.0.0.1/admin"}, "private, loopback or reserved"),
        ({"original_url": "https://links.example.com/track/x"}, "would loop"),
        ({"link_function": "Linked In"}, "link_function must be letters"),
        ({"tracking_id": "has space"}, "Use letters, digits"),
    ],
)
def test_adding_a_link_applies_the_service_rules(
    admin_client: Client, overrides: dict[str, object], message: str
) -> None:
    response = admin_client.post(reverse("admin:tracking_trackedlink_add"), link_form(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TrackedLink.objects.exists()


def test_an_application_of_another_job_is_refused(
    admin_client: Client, application: JobApplication
) -> None:
    other_job = make_job(title="Other")
    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"),
        link_form(job=str(other_job.pk), application=str(application.pk)),
    )

    assert "The application belongs to a different job." in response.content.decode()
    assert not TrackedLink.objects.exists()


def test_adding_a_link_creates_it_through_the_service(
    admin_client: Client, admin_user: object, application: JobApplication
) -> None:
    # A lookup before creation caches "unknown"; the service's invalidation must clear it.
    assert linkcache.resolve_link("lt_admin_made") is None

    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"),
        link_form(tracking_id="lt_admin_made", application=str(application.pk)),
    )

    assert response.status_code == 302
    link = TrackedLink.objects.get()
    assert link.tracking_id == "lt_admin_made"
    assert link.redirect_url == "https://links.example.com/track/lt_admin_made"
    assert link.job_id == application.job_id  # taken from the application
    assert link.created_by == "admin"
    resolved = linkcache.resolve_link("lt_admin_made")
    assert resolved is not None and resolved.original_url == "https://linkedin.com/in/steve-glen"


def test_a_generated_tracking_id_is_used_when_none_is_given(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:tracking_trackedlink_add"), link_form())

    link = TrackedLink.objects.get()
    assert link.tracking_id.startswith("lt_") and len(link.tracking_id) == 19
    assert response["Location"] == reverse("admin:tracking_trackedlink_changelist")


def test_a_link_added_inactive_stays_inactive(admin_client: Client) -> None:
    data = link_form()
    del data["is_active"]
    admin_client.post(reverse("admin:tracking_trackedlink_add"), data)

    assert TrackedLink.objects.get().is_active is False


def test_a_taken_tracking_id_is_refused(admin_client: Client) -> None:
    services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile",
        tracking_id="lt_taken",
    )  # fmt: skip
    response = admin_client.post(
        reverse("admin:tracking_trackedlink_add"), link_form(tracking_id="lt_taken")
    )

    assert "already exists" in response.content.decode()
    assert TrackedLink.objects.count() == 1


def test_changing_a_link_validates_and_invalidates_the_cache(admin_client: Client) -> None:
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/old", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    assert linkcache.resolve_link(tracking_id).original_url == "https://example.com/old"  # type: ignore[union-attr]
    url = reverse("admin:tracking_trackedlink_change", args=[quote(tracking_id)])
    form = link_form(link_function="Portfolio")
    del form["tracking_id"]

    refused = admin_client.post(url, {**form, "original_url": "ftp://example.com/file"})
    assert "Only http and https URLs can be tracked." in refused.content.decode()

    saved = admin_client.post(url, {**form, "original_url": "https://example.com/new"})
    assert saved.status_code == 302
    assert TrackedLink.objects.get().original_url == "https://example.com/new"
    assert linkcache.resolve_link(tracking_id).original_url == "https://example.com/new"  # type: ignore[union-attr]


def test_a_link_with_a_null_active_flag_shows_and_stays_active(admin_client: Client) -> None:
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    TrackedLink.objects.filter(pk=tracking_id).update(is_active=None)  # as plain SQL may leave it
    url = reverse("admin:tracking_trackedlink_change", args=[quote(tracking_id)])

    page = admin_client.get(url).content.decode()
    assert re.search(r'<input type="checkbox" name="is_active" [^>]*\bchecked\b', page)
    form = link_form(link_function="Portfolio", original_url="https://example.com/")
    del form["tracking_id"]
    admin_client.post(url, form)

    assert TrackedLink.objects.get().active is True


def test_the_change_page_shows_the_redirect_url_with_a_copy_button(admin_client: Client) -> None:
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    body = admin_client.get(
        reverse("admin:tracking_trackedlink_change", args=[quote(tracking_id)])
    ).content.decode()

    redirect_url = f"https://links.example.com/track/{tracking_id}"
    assert f'data-copy-text="{redirect_url}"' in body
    assert "/static/js/copy_buttons.js" in body
    assert finders.find("js/copy_buttons.js") is not None
    assert "<script>" not in body.replace('<script src="', "")  # no inline script


def test_deleting_a_link_goes_through_the_service(admin_client: Client) -> None:
    tracking_id = services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    assert linkcache.resolve_link(tracking_id) is not None

    confirm = admin_client.get(
        reverse("admin:tracking_trackedlink_delete", args=[quote(tracking_id)])
    )
    assert confirm.status_code == 200
    admin_client.post(
        reverse("admin:tracking_trackedlink_delete", args=[quote(tracking_id)]), {"post": "yes"}
    )

    assert not TrackedLink.objects.exists()
    assert linkcache.resolve_link(tracking_id) is None


# --- Link actions ---------------------------------------------------------------------------


def run_action(client: Client, model: str, action: str, pks: Sequence[object]) -> Any:
    return client.post(
        reverse(f"admin:tracking_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )


def test_deactivate_and_activate_actions_change_what_the_redirect_sees(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    ids = make_links(2, job=job, application=application)
    assert linkcache.resolve_link(ids[0]) is not None

    run_action(admin_client, "trackedlink", "deactivate_links", ids)
    assert set(TrackedLink.objects.values_list("is_active", flat=True)) == {False}
    assert linkcache.resolve_link(ids[0]) is None

    run_action(admin_client, "trackedlink", "activate_links", [ids[0]])
    assert TrackedLink.objects.get(pk=ids[0]).is_active is True
    assert TrackedLink.objects.get(pk=ids[1]).is_active is False
    assert linkcache.resolve_link(ids[0]) is not None


def test_csv_export_lists_the_selected_links_with_their_clicks(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    ids = make_links(3, job=job, application=application)
    services.update_tracked_link(tracking_id=ids[0], description='=HYPERLINK("http://x")')

    response = run_action(admin_client, "trackedlink", "export_csv", ids[:2])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert sorted(row["tracking_id"] for row in rows) == sorted(ids[:2])
    first = next(row for row in rows if row["tracking_id"] == ids[0])
    assert first["total_clicks"] == "2" and first["human_clicks"] == "1"
    assert first["redirect_url"] == f"https://links.example.com/track/{ids[0]}"
    assert first["is_active"] == "True"
    last_click = dt.datetime.fromisoformat(first["last_click"])
    assert last_click.tzinfo is not None
    assert abs(timezone.now() - last_click) < dt.timedelta(minutes=5)
    # A formula in a description is exported as text, not run by a spreadsheet.
    assert first["description"] == '\'=HYPERLINK("http://x")'


def test_the_link_list_filters_and_searches(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    ids = make_links(4, job=job, application=application)
    url = reverse("admin:tracking_trackedlink_changelist")

    body = admin_client.get(url, {"link_function": "LinkedIn"}).content.decode()
    assert ids[1] in body and ids[0] not in body
    body = admin_client.get(url, {"q": "profile/2"}).content.decode()
    assert ids[2] in body and ids[1] not in body


# --- Applications ---------------------------------------------------------------------------


def test_the_application_action_creates_the_standard_link_package(
    admin_client: Client, application: JobApplication
) -> None:
    ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/x")

    response = run_action(admin_client, "jobapplication", "create_link_package", [application.pk])
    assert response.status_code == 302
    run_action(admin_client, "jobapplication", "create_link_package", [application.pk])

    assert sorted(TrackedLink.objects.values_list("link_function", flat=True)) == [
        "Job_Posting",
        "LinkedIn",
    ]


# --- Clicks ---------------------------------------------------------------------------------


def test_clicks_cannot_be_added_or_edited(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    make_links(1, job=job, application=application)
    click = LinkClick.objects.first()
    assert click is not None
    change_url = reverse("admin:tracking_linkclick_change", args=[quote(click.pk)])

    assert admin_client.get(reverse("admin:tracking_linkclick_add")).status_code == 403
    page = admin_client.get(change_url).content.decode()
    assert 'name="_save"' not in page
    admin_client.post(change_url, {"session_id": "changed", "click_source": "test"})

    click.refresh_from_db()
    assert click.session_id == "s0" and click.click_source != "test"


@pytest.fixture
def staff_client() -> Client:
    """A staff member holding every tracking permission, but not a superuser."""
    return logged_in_client(make_tracking_staff())


def test_only_superusers_delete_clicks(
    admin_client: Client, staff_client: Client, job: Job, application: JobApplication
) -> None:
    make_links(1, job=job, application=application)
    click = LinkClick.objects.first()
    assert click is not None
    delete_url = reverse("admin:tracking_linkclick_delete", args=[quote(click.pk)])

    assert staff_client.get(delete_url).status_code == 403
    run_action(staff_client, "linkclick", "delete_selected", [click.pk])
    assert LinkClick.objects.filter(pk=click.pk).exists()

    assert admin_client.get(delete_url).status_code == 200
    admin_client.post(delete_url, {"post": "yes"})
    assert not LinkClick.objects.filter(pk=click.pk).exists()


def test_the_click_list_filters_and_searches_exactly(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    ids = make_links(2, job=job, application=application)
    url = reverse("admin:tracking_linkclick_changelist")

    body = admin_client.get(url, {"q": ids[0]}).content.decode()
    assert body.count(f">{ids[0]}</a>") == 2 and ids[1] not in body
    body = admin_client.get(url, {"q": "s1"}).content.decode()
    assert body.count(f">{ids[1]}</a>") == 2 and ids[0] not in body
    body = admin_client.get(url, {"classification__exact": "human"}).content.decode()
    assert body.count('<td class="field-classification">Person</td>') == 2
    assert admin_client.get(url, {"click_source": "direct"}).status_code == 200


@pytest.mark.postgres
def test_the_click_list_estimates_large_counts_on_postgresql(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    tracking_id = make_links(1, job=job, application=application)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO link_clicks (click_id, tracking_id, session_id, classification) "
            "SELECT gen_random_uuid(), %s, 'bulk', 'bot' FROM generate_series(1, 12000)",
            [tracking_id],
        )
        cursor.execute("ANALYZE link_clicks")
    url = reverse("admin:tracking_linkclick_changelist")

    with CaptureQueriesContext(connection) as context:
        body = admin_client.get(url).content.decode()
    shown = int(re.findall(r"(\d+) link clicks", body)[-1])
    assert 10_000 < shown < 14_000
    assert not any("COUNT(" in q["sql"] for q in context.captured_queries)

    # A small filtered list is counted exactly.
    small = admin_client.get(url, {"q": "s0", "classification__exact": "human"})
    assert "1 link click" in small.content.decode()


# --- Dashboard links ------------------------------------------------------------------------


@pytest.mark.urls("tests.test_admin")
def test_jobs_applications_and_links_link_to_their_dashboard_pages(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    tracking_id = make_links(1, job=job, application=application)[0]
    pages: list[tuple[str, Any, str]] = [
        ("job", job.pk, f"/dashboard/jobs/{job.pk}/"),
        ("jobapplication", application.pk, f"/dashboard/applications/{application.pk}/"),
        ("trackedlink", tracking_id, f"/dashboard/links/{tracking_id}/"),
    ]
    for model, pk, dashboard_url in pages:
        listing = admin_client.get(reverse(f"admin:tracking_{model}_changelist"))
        change = admin_client.get(reverse(f"admin:tracking_{model}_change", args=[quote(pk)]))
        assert f'href="{dashboard_url}"' in listing.content.decode(), model
        assert f'href="{dashboard_url}"' in change.content.decode(), model


def test_pages_work_without_the_dashboard(
    admin_client: Client, job: Job, application: JobApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_reverse = admin_module.reverse

    def reverse_without_dashboard(name: str, *args: Any, **kwargs: Any) -> str:
        if name.startswith("analytics:"):
            raise NoReverseMatch(name)
        return real_reverse(name, *args, **kwargs)

    monkeypatch.setattr(admin_module, "reverse", reverse_without_dashboard)
    make_links(1, job=job, application=application)
    for url_name in CHANGELISTS[:4]:
        body = admin_client.get(reverse(url_name)).content.decode()
        assert not re.search(r"/dashboard/(jobs|applications|links)/", body)


# --- Jobs -----------------------------------------------------------------------------------


def test_a_job_url_that_cannot_be_tracked_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_job_add"),
        {
            "title": "Analyst",
            "posting_url": "http://localhost/jobs/1",
            "applications-TOTAL_FORMS": "0",
            "applications-INITIAL_FORMS": "0",
            "links-TOTAL_FORMS": "0",
            "links-INITIAL_FORMS": "0",
        },
    )

    assert "public host name" in response.content.decode()
    assert not Job.objects.exists()


def test_deleting_a_job_detaches_its_links_everywhere(
    admin_client: Client, job: Job, application: JobApplication
) -> None:
    tracking_id = make_links(1, job=job, application=application)[0]
    assert linkcache.resolve_link(tracking_id).job_id == str(job.pk)  # type: ignore[union-attr]

    admin_client.post(reverse("admin:tracking_job_delete", args=[quote(job.pk)]), {"post": "yes"})

    assert not Job.objects.exists()
    link = TrackedLink.objects.get()
    assert link.job_id is None and link.application_id is None
    assert linkcache.resolve_link(tracking_id).job_id is None  # type: ignore[union-attr]


# --- Profile links --------------------------------------------------------------------------


def profile_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "link_function": "Portfolio",
        "link_type": "profile",
        "url": "https://steveglen.com",
        "description": "",
        "is_active": "on",
        "order": "3",
    }
    data.update(overrides)
    return data


def test_a_profile_link_is_saved(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:tracking_profilelink_add"), profile_form())

    assert response.status_code == 302
    assert ProfileLink.objects.get().url == "https://steveglen.com"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "javascript:alert(1)"}, "Only http and https URLs can be tracked."),
        ({"url": "https://localhost/x"}, "public host name"),
        ({"link_function": "Job_Posting"}, "come from the job"),
    ],
)
def test_a_profile_link_follows_the_link_rules(
    admin_client: Client, overrides: dict[str, object], message: str
) -> None:
    response = admin_client.post(
        reverse("admin:tracking_profilelink_add"), profile_form(**overrides)
    )

    assert message in response.content.decode()
    assert not ProfileLink.objects.exists()


# --- API keys -------------------------------------------------------------------------------


def test_creating_an_api_key_shows_it_once(admin_client: Client, admin_user: object) -> None:
    response = admin_client.post(
        reverse("admin:tracking_apikey_add"),
        {"name": "job board", "scopes": ["links:write", "analytics:read"], "expiry_date_0": "",
         "expiry_date_1": ""},
    )  # fmt: skip

    assert response.status_code == 200
    key = APIKey.objects.get()
    assert key.scopes == ["links:write", "analytics:read"]
    assert key.created_by == admin_user
    shown = response.content.decode().split('data-copy-text="')[1].split('"')[0]
    assert shown.startswith(key.prefix + ".")
    assert APIKey.objects.is_valid(shown)
    assert "no-store" in response["Cache-Control"]
    later = admin_client.get(reverse("admin:tracking_apikey_change", args=[quote(key.pk)]))
    assert shown not in later.content.decode()
    assert shown not in str(admin_client.cookies)


def test_an_api_key_needs_a_known_scope(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_apikey_add"), {"name": "x", "scopes": ["everything"]}
    )

    assert "Select a valid choice" in response.content.decode()
    assert not APIKey.objects.exists()


def test_the_revoke_action_revokes_keys(admin_client: Client) -> None:
    key, plain = APIKey.objects.create_key(name="old", scopes=["links:read"])

    run_action(admin_client, "apikey", "revoke_keys", [key.pk])

    key.refresh_from_db()
    assert key.revoked is True
    assert not APIKey.objects.is_valid(plain)


def test_only_this_projects_api_keys_are_in_the_admin(admin_client: Client) -> None:
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert "/admin/tracking/apikey/" in body
    assert "/admin/rest_framework_api_key/" not in body


def test_links_whose_ids_look_like_admin_escapes_open_from_every_list(
    admin_client: Client,
) -> None:
    # The admin escapes "_" in URLs; "lt_2F" unescaped by mistake would become "lt/".
    services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile",
        tracking_id="lt_2F_5F",
    )  # fmt: skip
    services.insert_clicks([services.build_click(tracking_id="lt_2F_5F")])

    clicks = admin_client.get(reverse("admin:tracking_linkclick_changelist")).content.decode()
    href = clicks.split('<td class="field-link"><a href="')[1].split('"')[0]
    page = admin_client.get(href)

    assert page.status_code == 200
    assert "https://links.example.com/track/lt_2F_5F" in page.content.decode()


def test_a_key_made_in_the_admin_works_on_the_api_until_revoked(
    admin_client: Client, application: JobApplication
) -> None:
    response = admin_client.post(
        reverse("admin:tracking_apikey_add"), {"name": "job board", "scopes": ["links:write"]}
    )
    key = response.content.decode().split('data-copy-text="')[1].split('"')[0]
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    url = f"/api/link-tracking/applications/{application.pk}/links"

    assert api.post(url, {}, content_type="application/json").status_code == 200

    run_action(admin_client, "apikey", "revoke_keys", [APIKey.objects.get().pk])
    assert api.post(url, {}, content_type="application/json").status_code == 401
