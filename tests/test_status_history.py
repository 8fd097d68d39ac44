"""Status history: every status change of an application is a row, whichever way it was made."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import key_client, make_key
from tracking import services
from tracking.models import ApplicationStatusHistory, Job, JobApplication
from tracking.stages import stages_reached

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> Job:
    return services.create_job(title="Data Engineer", company_name="Initech")


def history(application: JobApplication) -> list[tuple[str, str, str]]:
    rows = ApplicationStatusHistory.objects.filter(application=application).order_by(
        "changed_at", "id"
    )
    return [(row.from_status, row.to_status, row.changed_by) for row in rows]


def test_creating_an_application_records_its_first_status(job: Job) -> None:
    application = services.create_application(
        job_id=job.pk, status="submitted", changed_by="user:ada"
    )
    assert history(application) == [("", "submitted", "user:ada")]


def test_an_update_that_changes_the_status_records_it_and_others_do_not(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    services.update_application(application_id=application.pk, notes="Called them")
    services.update_application(application_id=application.pk, status="reviewing")
    assert history(application) == [("", "submitted", ""), ("submitted", "reviewing", "")]


def test_a_back_dated_change_keeps_when_it_happened(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    ApplicationStatusHistory.objects.filter(application=application).update(
        changed_at=timezone.now() - dt.timedelta(days=10)
    )
    monday = timezone.now() - dt.timedelta(days=2)
    row = services.change_application_status(
        application_id=application.pk, status="interviewed", changed_at=monday, note="Phone call"
    )
    application.refresh_from_db()
    assert application.status == "interviewed"
    assert (row.from_status, row.to_status, row.note, row.changed_at) == (
        "submitted",
        "interviewed",
        "Phone call",
        monday,
    )


@pytest.mark.parametrize(
    ("changed_at", "message"),
    [
        (dt.timedelta(days=1), "changed_at cannot be in the future."),
        (dt.timedelta(days=-30), "changed_at cannot be before the last recorded change"),
    ],
)
def test_a_change_cannot_be_dated_in_the_future_or_before_the_last_one(
    job: Job, changed_at: dt.timedelta, message: str
) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    with pytest.raises(services.ValidationFailed) as error:
        services.change_application_status(
            application_id=application.pk,
            status="reviewing",
            changed_at=timezone.now() + changed_at,
        )
    assert error.value.field == "changed_at"
    assert error.value.message.startswith(message)
    assert len(history(application)) == 1


def test_the_same_status_again_is_refused(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    with pytest.raises(services.ValidationFailed, match="already submitted"):
        services.change_application_status(application_id=application.pk, status="submitted")


def test_a_failed_change_writes_no_row(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    with pytest.raises(services.ValidationFailed):
        services.update_application(
            application_id=application.pk, status="reviewing", contact_email="not an address"
        )
    application.refresh_from_db()
    assert application.status == "submitted"
    assert len(history(application)) == 1


def test_stages_are_reached_once_and_a_later_stage_reaches_the_earlier_ones() -> None:
    t = [dt.datetime(2026, 3, day, tzinfo=dt.UTC) for day in range(1, 6)]
    changes = [
        ("pending", t[0]),
        ("submitted", t[1]),
        ("interviewed", t[2]),
        ("rejected", t[3]),
        ("offered", t[4]),
    ]
    assert stages_reached(changes) == {
        "submitted": t[1],
        "responded": t[2],
        "interview": t[2],
        "offer": t[4],
    }


# --- API ------------------------------------------------------------------------------------


def test_the_api_records_a_back_dated_change_and_lists_the_history(job: Job) -> None:
    sent = timezone.now() - dt.timedelta(days=4)
    application = services.create_application(job_id=job.pk, status="submitted", submitted_at=sent)
    assert ApplicationStatusHistory.objects.get(application=application).changed_at == sent
    key = make_key(["links:read", "links:write"], name="crm")
    client = key_client(key)
    url = f"/api/v1/applications/{application.pk}/status-history"
    when = (timezone.now() - dt.timedelta(hours=3)).replace(microsecond=0)
    response = client.post(
        url,
        {"status": "interviewed", "changed_at": when.isoformat(), "note": "Recruiter call"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["from_status"] == "submitted"
    assert created["changed_by"].startswith("api-key:crm (")
    listed = client.get(url).json()
    assert [(r["from_status"], r["to_status"]) for r in listed] == [
        ("", "submitted"),
        ("submitted", "interviewed"),
    ]
    stages = client.get(f"/api/v1/applications/{application.pk}").json()["stages"]
    assert stages["interview"] == stages["responded"]
    assert dt.datetime.fromisoformat(stages["interview"].replace("Z", "+00:00")) == when
    assert stages["offer"] is None


def test_the_api_names_the_field_of_a_bad_change(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    client = key_client(make_key(["links:write"]))
    response = client.post(
        f"/api/v1/applications/{application.pk}/status-history",
        {"status": "hired"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_a_patch_of_the_status_is_recorded_in_the_callers_name(job: Job) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    key = make_key(["links:write"], name="bot")
    response = key_client(key).patch(
        f"/api/v1/applications/{application.pk}",
        {"status": "rejected"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert history(application)[-1][:2] == ("submitted", "rejected")
    assert history(application)[-1][2].startswith("api-key:bot")


def test_the_application_list_reads_the_stages_of_a_page_in_one_query(job: Job) -> None:
    client = key_client(make_key(["links:read"]))

    def history_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/applications")
        assert all(row["stages"]["submitted"] for row in response.json()["results"])
        return sum("application_status_history" in q["sql"] for q in captured.captured_queries)

    services.create_application(job_id=job.pk, status="submitted")
    assert history_queries() == 1
    for _ in range(4):
        services.create_application(job_id=job.pk, status="submitted")
    assert history_queries() == 1


# --- Admin ----------------------------------------------------------------------------------


def test_the_admin_routes_a_status_change_through_the_service(
    admin_client: Client, admin_user: object, job: Job
) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    url = reverse("admin:tracking_jobapplication_change", args=[quote(application.pk)])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({"job": str(job.pk), "status": "reviewing"})
    for prefix in ("links", "status_history"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert history(application)[-1] == ("submitted", "reviewing", "user:admin")


def test_the_admin_shows_the_history_on_the_application_page(
    admin_client: Client, job: Job
) -> None:
    application = services.create_application(job_id=job.pk, status="submitted")
    services.change_application_status(
        application_id=application.pk, status="reviewing", note="Portal says in review"
    )
    url = reverse("admin:tracking_jobapplication_change", args=[quote(application.pk)])
    assert "Portal says in review" in admin_client.get(url).content.decode()


def test_moving_to_submitted_without_a_sending_time_dates_the_sending(job: Job) -> None:
    application = services.create_application(job_id=job.pk)
    assert application.submitted_at is None
    row = services.change_application_status(application_id=application.pk, status="submitted")
    application.refresh_from_db()
    assert application.submitted_at == row.changed_at
    earlier = timezone.now() - dt.timedelta(days=3)
    other = services.create_application(job_id=job.pk, submitted_at=earlier)
    services.update_application(application_id=other.pk, status="submitted")
    other.refresh_from_db()
    assert other.submitted_at == earlier  # a known sending time stays
