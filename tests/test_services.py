from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from tests.factories import link_fields, make_application, make_job, make_link
from tracking import services
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> Job:
    return make_job()


@pytest.fixture
def application(job: Job) -> JobApplication:
    return make_application(job)


# --- create_tracked_link --------------------------------------------------------------------


def test_it_creates_a_link_with_a_generated_id_and_redirect_url(
    job: Job, application: JobApplication
) -> None:
    result = services.create_tracked_link(
        **link_fields(job_id=str(job.id), application_id=str(application.id), description="Profile")
    )
    assert re.fullmatch(r"lt_[a-z0-9]{16}", str(result["tracking_id"]))
    assert result["redirect_url"] == f"https://links.example.com/track/{result['tracking_id']}"
    link = TrackedLink.objects.get(pk=result["tracking_id"])
    assert link.original_url == "https://linkedin.com/in/steve-glen"
    assert link.job_id == job.id and link.application_id == application.id
    assert link.created_by == "system" and link.is_active is True
    assert link.redirect_url == result["redirect_url"]
    assert link.created_at is not None and link.created_at.tzinfo is not None


def test_generated_ids_are_unique() -> None:
    ids = {services.create_tracked_link(**link_fields())["tracking_id"] for _ in range(50)}
    assert len(ids) == 50


def test_it_accepts_a_caller_chosen_id_like_the_seed_sample() -> None:
    result = services.create_tracked_link(**link_fields(tracking_id="lt_linkedin_001"))
    assert result["tracking_id"] == "lt_linkedin_001"


def test_it_refuses_a_duplicate_caller_chosen_id() -> None:
    services.create_tracked_link(**link_fields(tracking_id="lt_linkedin_001"))
    with pytest.raises(services.Conflict) as excinfo:
        services.create_tracked_link(**link_fields(tracking_id="lt_linkedin_001"))
    assert excinfo.value.field == "tracking_id"


@pytest.mark.parametrize("bad_id", ["lt linkedin", "lt/../x", "x" * 101, "lt_é", ""])
def test_it_refuses_caller_ids_with_unsafe_characters(bad_id: str) -> None:
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(tracking_id=bad_id))
    assert excinfo.value.field == "tracking_id"


def test_an_application_link_takes_the_applications_job(
    job: Job, application: JobApplication
) -> None:
    result = services.create_tracked_link(**link_fields(application_id=application.id))
    assert result["job_id"] == str(job.id)


def test_it_refuses_an_application_of_another_job(application: JobApplication) -> None:
    other = make_job(title="Other")
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(job_id=other.id, application_id=application.id))
    assert excinfo.value.field == "application_id"


def test_it_refuses_unknown_job_and_malformed_uuid() -> None:
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(job_id=uuid.uuid4()))
    assert excinfo.value.field == "job_id"
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(application_id="not-a-uuid"))
    assert excinfo.value.field == "application_id"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "Only http and https"),
        ("data:text/html,<script>alert(1)</script>", "Only http and https"),
        ("ftp://example.com/file", "Only http and https"),
        ("//evil.example.com", "Only http and https"),
        ("https://user:pass@example.com/", "user name or password"),
        ("https://example.com/\x00", "control"),
        ("https://example.com/a b", "control or space"),
        ("https://exa\tmple.com/", "control"),
        ("http://127.0.0.1/admin", "private, loopback"),
        ("http://10.0.0.5/", "private, loopback"),
        ("http://[::1]/", "private, loopback"),
        ("http://169.254.169.254/latest/meta-data", "private, loopback"),
        ("http://localhost:8000/", "public host name"),
        ("http://intranet/", "public host name"),
        ("http://printer.local/", "public host name"),
        ("https://links.example.com/track/lt_x", "loop"),
        ("https://LINKS.example.com./track/lt_x", "loop"),
        ("https://example.com/" + "a" * 1000, "longer than 1000"),
        ("https://", "no host"),
        ("https://exa_mple.com/", "host name is not valid"),
        ("http://example.com:99999/", "cannot be parsed"),
        ("http://0x7f.0x1:8080/admin", "private, loopback"),
        ("http://2130706433/", "private, loopback"),
        ("http://%31%32%37.0.0.1/", "private, loopback"),
        ("http://[::ffff:7f00:1]/", "private, loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "private, loopback"),
        ("http://metadata.google.internal/", "public host name"),
        ("http://evil.com\\@good.com/", "a backslash ends it"),
        ("http:/\\example.com/", "exactly two slashes"),
        ("", "required"),
    ],
)
def test_it_rejects_unsafe_destination_urls(url: str, message: str) -> None:
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(original_url=url))
    assert excinfo.value.field == "original_url"
    assert message in excinfo.value.message
    assert not TrackedLink.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://linkedin.com/in/steve-glen",
        "http://steveglen.com",
        "https://calendly.com/steve-glen/30min?month=2025-08#top",
        "https://bücher.example/über",
        "https://8.8.8.8/path",
        "https://example.com:8443/x",
        "http://faß.de/",
        "http://[2001:4860:4860::8888]/",
    ],
)
def test_it_accepts_public_http_urls(url: str) -> None:
    assert services.create_tracked_link(**link_fields(original_url=url))["original_url"] == url


@pytest.mark.parametrize("name", ["Custom Function", "x" * 51, "drop;table", ""])
def test_custom_functions_must_be_safe_identifiers(name: str) -> None:
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.create_tracked_link(**link_fields(link_function=name))
    assert excinfo.value.field == "link_function"


def test_custom_function_and_type_names_are_accepted() -> None:
    result = services.create_tracked_link(
        **link_fields(link_function="Speaker_Deck", link_type="talk-slides")
    )
    assert (result["link_function"], result["link_type"]) == ("Speaker_Deck", "talk-slides")


# --- updates --------------------------------------------------------------------------------


def test_deactivating_a_link_makes_clicks_refused() -> None:
    tracking_id = make_link().tracking_id
    services.record_click(tracking_id=tracking_id)
    services.set_link_active(tracking_id=tracking_id, is_active=False)
    with pytest.raises(services.LinkInactive):
        services.record_click(tracking_id=tracking_id)
    services.set_link_active(tracking_id=tracking_id, is_active=True)
    services.record_click(tracking_id=tracking_id)
    assert LinkClick.objects.filter(tracking_id=tracking_id).count() == 2


def test_updating_the_destination_applies_the_url_rules() -> None:
    tracking_id = make_link().tracking_id
    with pytest.raises(services.ValidationFailed):
        services.update_tracked_link(tracking_id=tracking_id, original_url="javascript:alert(1)")
    services.update_tracked_link(tracking_id=tracking_id, original_url="https://example.org/new")
    assert TrackedLink.objects.get(pk=tracking_id).original_url == "https://example.org/new"


def test_redirect_url_cannot_be_changed() -> None:
    tracking_id = make_link().tracking_id
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.update_tracked_link(tracking_id=tracking_id, redirect_url="https://evil.example")
    assert excinfo.value.field == "redirect_url"


def test_deleting_a_link_deletes_its_clicks() -> None:
    tracking_id = make_link().tracking_id
    services.record_click(tracking_id=tracking_id)
    services.delete_tracked_link(tracking_id=tracking_id)
    assert not LinkClick.objects.exists()


# --- record_click ---------------------------------------------------------------------------


def test_it_records_the_seed_example_click() -> None:
    make_link(tracking_id="lt_abc123def456")
    result = services.record_click(
        tracking_id="lt_abc123def456",
        ip_address="192.168.1.100",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        referrer_url="https://gmail.com",
        session_id="sess_xyz789",
        click_source="email",
        metadata={"utm_source": "email", "utm_medium": "application", "utm_campaign": "job_search"},
    )
    click = LinkClick.objects.get(pk=result["click_id"])
    assert click.tracking_id == "lt_abc123def456"
    assert click.ip_address == "192.168.1.100"
    assert click.session_id == "sess_xyz789"
    assert click.click_source == "email"
    assert (click.metadata or {})["utm_campaign"] == "job_search"
    assert abs((click.clicked_at - result["clicked_at"]).total_seconds()) < 0.001


def test_click_ids_are_time_ordered_uuid7() -> None:
    ids = [services.new_click_id() for _ in range(100)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids, key=lambda u: u.bytes[:6])


@pytest.mark.parametrize(
    ("referrer", "source"),
    [
        (None, "direct"),
        ("", "direct"),
        ("https://gmail.com", "email"),
        ("https://mail.google.com/mail/u/0/", "email"),
        ("https://outlook.office.com/mail/inbox", "email"),
        ("https://outlook.com", "email"),
        ("https://www.linkedin.com/feed/", "linkedin"),
        ("https://linkedin.com", "linkedin"),
        ("https://www.indeed.com/viewjob?jk=1", "indeed"),
        ("https://uk.indeed.com/", "indeed"),
        ("https://links.example.com/dashboard/", "dashboard"),
        ("https://news.ycombinator.com/", "external"),
        ("https://notlinkedin.com/", "external"),
        ("not a url at all", "external"),
    ],
)
def test_click_source_is_detected_from_the_referrer(referrer: str | None, source: str) -> None:
    make_link(tracking_id="lt_src")
    result = services.record_click(tracking_id="lt_src", referrer_url=referrer)
    assert LinkClick.objects.get(pk=result["click_id"]).click_source == source


def test_a_custom_source_overrides_detection_when_safe() -> None:
    make_link(tracking_id="lt_src")
    result = services.record_click(
        tracking_id="lt_src", referrer_url="https://gmail.com", click_source="custom_source"
    )
    assert LinkClick.objects.get(pk=result["click_id"]).click_source == "custom_source"
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.record_click(tracking_id="lt_src", click_source="<script>")
    assert excinfo.value.field == "click_source"


def test_over_long_user_agent_and_referrer_are_truncated_not_rejected() -> None:
    make_link(tracking_id="lt_long")
    result = services.record_click(
        tracking_id="lt_long",
        user_agent="A" * 10_000,
        referrer_url="https://example.com/" + "r" * 5000 + "\x00",
        session_id="s" * 300,
    )
    click = LinkClick.objects.get(pk=result["click_id"])
    assert len(click.user_agent or "") == services.USER_AGENT_MAX
    assert len(click.referrer_url or "") == 1000
    assert len(click.session_id or "") == 100


def test_unknown_and_inactive_links_raise_clear_errors() -> None:
    with pytest.raises(services.NotFound):
        services.record_click(tracking_id="lt_nope")
    with pytest.raises(services.NotFound):
        services.record_click(tracking_id="../../etc/passwd")
    make_link(tracking_id="lt_off")
    services.set_link_active(tracking_id="lt_off", is_active=False)
    with pytest.raises(services.LinkInactive):
        services.record_click(tracking_id="lt_off")
    assert not LinkClick.objects.exists()


def test_invalid_ip_and_metadata_name_the_field() -> None:
    make_link(tracking_id="lt_bad")
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.record_click(tracking_id="lt_bad", ip_address="999.1.1.1")
    assert excinfo.value.field == "ip_address"
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.record_click(tracking_id="lt_bad", metadata=["not", "a", "dict"])  # type: ignore[arg-type]
    assert excinfo.value.field == "metadata"
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.record_click(tracking_id="lt_bad", metadata={f"k{i}": i for i in range(51)})
    assert excinfo.value.field == "metadata"


def test_clicked_at_is_accepted_from_the_past_but_not_the_future() -> None:
    make_link(tracking_id="lt_time")
    past = dt.datetime(2025, 7, 27, 21, 15, 30, tzinfo=dt.UTC)
    result = services.record_click(tracking_id="lt_time", clicked_at=past)
    assert LinkClick.objects.get(pk=result["click_id"]).clicked_at == past
    with pytest.raises(services.ValidationFailed) as excinfo:
        services.record_click(
            tracking_id="lt_time", clicked_at=timezone.now() + dt.timedelta(hours=1)
        )
    assert excinfo.value.field == "clicked_at"


def test_the_same_click_id_twice_stores_one_click() -> None:
    make_link(tracking_id="lt_idem")
    click_id = uuid.uuid4()
    services.record_click(tracking_id="lt_idem", click_id=click_id)
    services.record_click(tracking_id="lt_idem", click_id=str(click_id))
    assert LinkClick.objects.filter(tracking_id="lt_idem").count() == 1


def test_recording_a_click_on_a_cached_link_is_one_insert(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    make_link(tracking_id="lt_fast")
    services.record_click(tracking_id="lt_fast")  # warms the link cache
    with django_assert_num_queries(1):
        services.record_click(tracking_id="lt_fast")
