from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from tests.factories import make_application, make_job, make_profile_links
from tracking import services
from tracking.models import Job, JobApplication, ProfileLink, TrackedLink

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def application() -> JobApplication:
    return make_application(make_job(posting_url="https://careers.example.com/jobs/42"))


@pytest.fixture
def package(application: JobApplication) -> dict[str, str]:
    make_profile_links()
    return services.create_job_application_links(application_id=application.pk)


SEED_EMAIL = """{% load tracked_links %}{% tracked_links application as tracked_links %}
<ul>
  <li><a href="{{tracked_links.LinkedIn}}">LinkedIn Profile</a></li>
  <li><a href="{{tracked_links.Calendly}}">Schedule a Meeting</a></li>
</ul>
<p>You can also view the <a href="{{tracked_links.Job_Posting}}">original job posting</a>.</p>
"""


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_the_seed_email_template_renders_the_tracked_urls(
    application: JobApplication, package: dict[str, str]
) -> None:
    html = render(SEED_EMAIL, application=application)

    for function in ("LinkedIn", "Calendly", "Job_Posting"):
        assert f'href="{package[function]}"' in html
    assert "linkedin.com/in/steve-glen" not in html  # the destination never appears


def test_it_accepts_an_application_id(application: JobApplication, package: dict[str, str]) -> None:
    html = render(
        "{% load tracked_links %}{% tracked_links app_id as links %}{{ links.LinkedIn }}",
        app_id=str(application.pk),
    )
    assert html == package["LinkedIn"]


def test_inactive_links_and_other_applications_links_are_left_out(
    application: JobApplication, package: dict[str, str]
) -> None:
    services.set_link_active(tracking_id=package["LinkedIn"].rsplit("/", 1)[1], is_active=False)
    other = make_application(application.job)
    services.create_tracked_link(
        original_url="https://example.com/", link_function="Portfolio", link_type="profile",
        application_id=other.pk,
    )  # fmt: skip

    html = render(
        "{% load tracked_links %}{% tracked_links application as links %}"
        "{% for function, link in links.items %}{{ function }};{% endfor %}",
        application=application,
    )
    assert html == "Calendly;Job_Posting;"


def test_an_unknown_or_missing_application_gives_no_links() -> None:
    html = render(
        "{% load tracked_links %}{% tracked_links app as links %}[{{ links.LinkedIn }}]",
        app="not-a-uuid",
    )
    assert html == "[]"


def test_rendering_reads_only(application: JobApplication, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/x")
    with django_assert_num_queries(1):
        render(SEED_EMAIL, application=application)
    assert not TrackedLink.objects.exists()


def test_a_hostile_description_is_escaped_in_the_email_and_the_snippet(
    application: JobApplication,
) -> None:
    ProfileLink.objects.create(
        link_function="Portfolio", url="https://steveglen.com", description=HOSTILE
    )
    Job.objects.filter(pk=application.job_id).update(title=f"Engineer {HOSTILE}")
    application.refresh_from_db()
    services.create_job_application_links(application_id=application.pk)

    html = render(
        "{% load tracked_links %}{% tracked_links application as links %}"
        "{{ links.Portfolio.description }}|{{ links.Job_Posting.description }}",
        application=application,
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    snippet = render_to_string("tracking/email_snippet.html", {"application": application})
    assert "<script>alert" not in snippet
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in snippet  # preview, plain text
    # The HTML source shows the already escaped email, escaped once more for the textarea.
    assert "&amp;lt;script&amp;gt;" in snippet


def test_the_snippet_holds_html_and_plain_text_emails_with_the_tracked_links(
    application: JobApplication, package: dict[str, str]
) -> None:
    snippet = render_to_string("tracking/email_snippet.html", {"application": application})

    for url in package.values():
        assert f'<a href="{url}">' in snippet  # the HTML email
        assert f": {url}" in snippet  # the plain-text email
    assert "Professional LinkedIn profile" in snippet
    assert "Marketing Manager position at Example Corp" in snippet
    assert 'data-copy-from="rich"' in snippet and 'data-copy-from="text"' in snippet
    assert '<script src="/static/js/copy_buttons.js" defer></script>' in snippet
    assert "<script>" not in snippet  # no inline script (CSP script-src 'self')


def test_the_snippet_takes_the_links_the_page_already_has(
    application: JobApplication, package: dict[str, str]
) -> None:
    snippet = render_to_string(
        "tracking/email_snippet.html",
        {"application": application, "links": {"LinkedIn": package["LinkedIn"]}},
    )

    assert package["LinkedIn"] in snippet
    assert package["Calendly"] not in snippet


def test_the_snippet_ignores_a_links_variable_that_is_not_a_mapping(
    application: JobApplication, package: dict[str, str]
) -> None:
    # A page may hold its own "links" (say, a list of rows); the snippet then reads the package.
    snippet = render_to_string(
        "tracking/email_snippet.html",
        {"application": application, "links": [{"tracking_id": "lt_x"}]},
    )

    assert package["LinkedIn"] in snippet


def test_the_email_can_be_built_from_an_application_id(
    application: JobApplication, package: dict[str, str]
) -> None:
    html = render(
        "{% load tracked_links %}{% tracked_email app_id as email %}{{ email.text }}",
        app_id=str(application.pk),
    )
    assert "Marketing Manager position at Example Corp" in html
    assert f"Professional LinkedIn profile: {package['LinkedIn']}" in html


@pytest.mark.parametrize("which", ["application", "unknown id"])
def test_the_snippet_says_when_there_are_no_links(application: JobApplication, which: str) -> None:
    target = application if which == "application" else "6d0b5a4e-0000-4000-8000-000000000000"
    snippet = render_to_string("tracking/email_snippet.html", {"application": target})

    assert "no tracked links yet" in snippet
    assert "<textarea" not in snippet
