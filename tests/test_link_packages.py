from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from tests.factories import make_application, make_job, make_profile_links
from tracking import services
from tracking.models import Job, JobApplication, ProfileLink, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> Job:
    return make_job(posting_url="https://careers.example.com/jobs/42")


@pytest.fixture
def application(job: Job) -> JobApplication:
    return make_application(job)


@pytest.fixture
def profile_links() -> list[ProfileLink]:
    inactive = ProfileLink.objects.create(
        link_function="GitHub", url="https://github.com/steve-glen", is_active=False
    )
    return [*make_profile_links(), inactive]


def test_it_creates_one_link_per_active_profile_link_plus_the_job_posting(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    package = services.create_job_application_links(application_id=str(application.pk))

    assert list(package) == ["LinkedIn", "Calendly", "Job_Posting"]
    links = {link.link_function: link for link in TrackedLink.objects.all()}
    assert set(links) == {"LinkedIn", "Calendly", "Job_Posting"}
    for function, url in package.items():
        link = links[function]
        assert url == link.redirect_url == f"https://links.example.com/track/{link.tracking_id}"
        assert link.application_id == application.pk and link.job_id == application.job_id
    assert links["LinkedIn"].original_url == "https://linkedin.com/in/steve-glen"
    assert links["LinkedIn"].description == "Professional LinkedIn profile"
    assert links["Calendly"].link_type == "networking"
    assert links["Job_Posting"].original_url == "https://careers.example.com/jobs/42"
    assert links["Job_Posting"].link_type == "job_posting"


def test_a_second_call_returns_the_same_links_and_creates_nothing(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    first = services.create_job_application_links(application_id=application.pk)
    second = services.create_job_application_links(application_id=application.pk)

    assert second == first
    assert TrackedLink.objects.count() == 3


def test_it_creates_only_what_is_missing(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    first = services.create_job_application_links(application_id=application.pk)
    ProfileLink.objects.filter(link_function="GitHub").update(is_active=True)

    second = services.create_job_application_links(application_id=application.pk)

    assert {k: v for k, v in second.items() if k != "GitHub"} == first
    assert "GitHub" in second
    assert TrackedLink.objects.count() == 4


def test_a_deactivated_link_is_replaced_rather_than_reused(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    first = services.create_job_application_links(application_id=application.pk)
    old_id = first["LinkedIn"].rsplit("/", 1)[1]
    services.set_link_active(tracking_id=old_id, is_active=False)

    second = services.create_job_application_links(application_id=application.pk)

    assert second["LinkedIn"] != first["LinkedIn"]
    assert second["Calendly"] == first["Calendly"]


def test_it_adds_apply_now_when_the_job_has_an_apply_url(
    job: Job, application: JobApplication
) -> None:
    job.apply_url = "https://careers.example.com/jobs/42/apply"
    job.save()

    package = services.create_job_application_links(application_id=application.pk)

    assert list(package) == ["Job_Posting", "Apply_Now"]
    link = TrackedLink.objects.get(link_function="Apply_Now")
    assert link.original_url == "https://careers.example.com/jobs/42/apply"
    assert link.link_type == "application"


def test_it_leaves_out_job_urls_that_are_not_known(profile_links: list[ProfileLink]) -> None:
    application = make_application(make_job(title="Analyst"))

    package = services.create_job_application_links(application_id=application.pk)

    assert list(package) == ["LinkedIn", "Calendly"]


def test_functions_narrow_the_package(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    package = services.create_job_application_links(
        application_id=application.pk, functions=["Job_Posting", "LinkedIn"]
    )

    assert list(package) == ["LinkedIn", "Job_Posting"]
    assert TrackedLink.objects.count() == 2


def test_asking_for_a_function_without_a_source_names_it(
    application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.create_job_application_links(
            application_id=application.pk, functions=["LinkedIn", "GitHub", "Apply_Now"]
        )
    assert error.value.field == "functions"
    assert "GitHub, Apply_Now" in error.value.message
    assert not TrackedLink.objects.exists()


@pytest.mark.parametrize("functions", ["LinkedIn", ["bad name"], [1]])
def test_it_rejects_malformed_functions(application: JobApplication, functions: object) -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.create_job_application_links(
            application_id=application.pk,
            functions=functions,  # type: ignore[arg-type]
        )
    assert error.value.field == "functions"


def test_an_unknown_application_is_an_error_naming_the_field() -> None:
    with pytest.raises(services.NotFound) as error:
        services.create_job_application_links(application_id=uuid.uuid4())
    assert error.value.field == "application_id"
    assert error.value.code == "not_found"


@pytest.mark.parametrize("value", ["not-a-uuid", "", None])
def test_a_malformed_application_id_is_an_error_naming_the_field(value: object) -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.create_job_application_links(application_id=value)  # type: ignore[arg-type]
    assert error.value.field == "application_id"


def test_an_untrackable_job_url_fails_the_whole_package(
    job: Job, application: JobApplication, profile_links: list[ProfileLink]
) -> None:
    Job.objects.filter(pk=job.pk).update(posting_url="http://localhost/jobs/42")

    with pytest.raises(services.ValidationFailed) as error:
        services.create_job_application_links(application_id=application.pk)

    assert error.value.field == "posting_url"
    assert "Job_Posting" in error.value.message
    assert not TrackedLink.objects.exists()


# --- Profile link validation ----------------------------------------------------------------


def test_profile_links_follow_the_destination_url_rules() -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.validate_profile_link(
            link_function="Portfolio", link_type="profile", url="javascript:alert(1)"
        )
    assert error.value.field == "url"


@pytest.mark.parametrize("function", ["Job_Posting", "Apply_Now"])
def test_profile_links_cannot_take_the_job_url_functions(function: str) -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.validate_profile_link(
            link_function=function, link_type="profile", url="https://example.com/"
        )
    assert error.value.field == "link_function"


# --- Concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_create_each_link_once(profile_links: list[ProfileLink]) -> None:
    application = make_application(
        make_job(title="Analyst", posting_url="https://careers.example.com/7")
    )
    barrier = threading.Barrier(4)
    results: list[dict[str, str]] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait()
            results.append(services.create_job_application_links(application_id=application.pk))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 4 and all(result == results[0] for result in results)
    assert TrackedLink.objects.filter(application=application).count() == 3
