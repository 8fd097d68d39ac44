from __future__ import annotations

import pytest
from django.core.management import CommandError

from analytics.selection import Selection
from tests.factories import make_application, make_job, make_link, make_visitor_click
from tests.support import run_command
from tracking import linkcache
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    return run_command("erase", *args)


def remaining_click_ids() -> set[object]:
    return set(LinkClick.objects.values_list("pk", flat=True))


@pytest.fixture
def job() -> Job:
    return make_job()


@pytest.fixture
def other_job() -> Job:
    return make_job(title="Data Analyst", company_name="Fabrikam")


def test_erasing_an_application_removes_its_clicks_and_nothing_else(job: Job) -> None:
    application = make_application(job)
    other_application = make_application(job)
    link = make_link(job=job, application=application)
    other_link = make_link(job=job, application=other_application)
    unrelated = make_link()
    for target in (link, link, other_link, unrelated):
        make_visitor_click(target)
    kept = remaining_click_ids() - set(link.clicks.values_list("pk", flat=True))

    output = run("--application", str(application.id))

    assert "Deleted 2 clicks and 0 links" in output
    assert remaining_click_ids() == kept
    assert TrackedLink.objects.count() == 3
    assert JobApplication.objects.filter(pk=application.pk).exists()


def test_erasing_a_job_covers_links_tied_to_it_directly_or_through_an_application(
    job: Job, other_job: Job
) -> None:
    application = make_application(job)
    direct = make_link(job=job)
    through_application = make_link(application=application)
    elsewhere = make_link(job=other_job)
    make_visitor_click(direct)
    make_visitor_click(through_application)
    kept = make_visitor_click(elsewhere)

    output = run("--job", str(job.id))

    assert "Deleted 2 clicks and 0 links" in output
    assert remaining_click_ids() == {kept.pk}
    assert Job.objects.filter(pk=job.pk).exists()


def test_erasing_an_ip_address_removes_that_visitors_clicks_on_every_link() -> None:
    first, second = make_link(), make_link()
    make_visitor_click(first, ip_address="2001:db8::1")
    make_visitor_click(second, ip_address="2001:db8::1")
    kept = make_visitor_click(first, ip_address="203.0.113.7")

    # The address is matched in its normal form, however it is typed.
    output = run("--ip", "2001:DB8:0::1")

    assert "Deleted 2 clicks" in output
    assert remaining_click_ids() == {kept.pk}


def test_erasing_a_session_removes_only_that_sessions_clicks() -> None:
    link = make_link()
    make_visitor_click(link, session_id="sess_abc123")
    kept = make_visitor_click(link, session_id="sess_xyz789")

    assert "Deleted 1 clicks" in run("--session", "sess_abc123")
    assert remaining_click_ids() == {kept.pk}


def test_several_options_erase_everything_matching_any_of_them() -> None:
    link = make_link()
    make_visitor_click(link, session_id="sess_a", ip_address="203.0.113.1")
    make_visitor_click(link, session_id="sess_b", ip_address="203.0.113.2")
    kept = make_visitor_click(link, session_id="sess_c", ip_address="203.0.113.3")

    assert "Deleted 2 clicks" in run("--session", "sess_a", "--ip", "203.0.113.2")
    assert remaining_click_ids() == {kept.pk}


def test_include_links_deletes_the_applications_links_and_their_clicks(job: Job) -> None:
    application = make_application(job)
    doomed = [make_link(application=application), make_link(application=application)]
    kept_link = make_link(job=job)
    for link in doomed:
        make_visitor_click(link)
    kept = make_visitor_click(kept_link)
    # The redirect has the link cached: erasure must drop it from the cache too.
    assert linkcache.resolve_link(doomed[0].tracking_id) is not None

    output = run("--application", str(application.id), "--include-links")

    assert "Deleted 2 clicks and 2 links" in output
    assert list(TrackedLink.objects.values_list("pk", flat=True)) == [kept_link.pk]
    assert remaining_click_ids() == {kept.pk}
    assert linkcache.resolve_link(doomed[0].tracking_id) is None


def test_dry_run_prints_the_counts_and_changes_nothing(job: Job) -> None:
    application = make_application(job)
    link = make_link(application=application)
    make_visitor_click(link)
    make_visitor_click(link)

    output = run("--application", str(application.id), "--include-links", "--dry-run")

    assert "Would delete 2 clicks and 1 links" in output
    assert LinkClick.objects.count() == 2
    assert TrackedLink.objects.count() == 1


def test_a_second_run_finds_nothing_left(job: Job) -> None:
    make_visitor_click(make_link(job=job))
    run("--job", str(job.id))
    assert "Deleted 0 clicks and 0 links" in run("--job", str(job.id))


def test_large_erasures_run_in_batches_with_progress() -> None:
    link = make_link()
    for _ in range(7):
        make_visitor_click(link, session_id="sess_big")

    output = run("--session", "sess_big", "--batch-size", "3")

    assert "deleted clicks 3/7" in output and "deleted clicks 7/7" in output
    assert LinkClick.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Name a job, an application, an IP address or a session"),
        (("--job", "not-a-uuid"), "--job: job_id is not a valid UUID"),
        (("--application", "42"), "--application: application_id is not a valid UUID"),
        (("--ip", "999.1.1.1"), "--ip: ip_address is not a valid"),
        (
            ("--ip", "203.0.113.7", "--include-links"),
            "--include-links: include_links applies to a job",
        ),
    ],
)
def test_it_refuses_requests_it_cannot_read(args: tuple[str, ...], message: str) -> None:
    make_visitor_click(make_link())
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run(*args)
    assert LinkClick.objects.count() == 1


def test_erasing_a_session_removes_it_from_the_analytics_rollups_at_once(job: Job) -> None:
    from django.core.management import call_command

    from analytics import queries
    from analytics.models import MonthlyLinkSession

    link = make_link(job=job)
    make_visitor_click(link, days_ago=3, session_id="sess_erase_me")
    make_visitor_click(link, days_ago=3, session_id="sess_keep")
    call_command("rollup_clicks", verbosity=0)
    assert MonthlyLinkSession.objects.filter(session_id="sess_erase_me").exists()

    output = run("--session", "sess_erase_me")

    assert "Deleted 1 clicks" in output
    assert "Rollups complete until" in output
    assert not MonthlyLinkSession.objects.filter(session_id="sess_erase_me").exists()
    totals = queries.click_totals(Selection.of(job_id=job.id, include_automated=True))
    assert (totals["total_clicks"], totals["unique_sessions"]) == (1, 1)
