"""The admin's forms and lists as a first-time user meets them: no fields to fill that the system
fills, jobs and applications found by name, one set of link types, labels and messages that say
what happened."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.factories import make_application, make_job, make_link
from tracking import services
from tracking.models import Job, JobApplication, LinkType, ProfileLink, TrackedLink

pytestmark = pytest.mark.django_db

ADD_PAGES = ["job", "jobapplication", "trackedlink", "profilelink"]
# A job with a posting URL, so that a link package has a Job_Posting link to make.
POSTING_URL = "https://careers.example.com/jobs/42"


def page(client: Client, url: str, **params: Any) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def field_labels(body: str) -> list[str]:
    return re.findall(r"<label[^>]*>([^<]+?):?</label>", body)


@pytest.mark.parametrize("model", ADD_PAGES)
def test_add_forms_have_no_rows_the_system_fills(admin_client: Client, model: str) -> None:
    body = page(admin_client, reverse(f"admin:tracking_{model}_add"))
    labels = field_labels(body)
    assert not {"Id", "Dashboard", "Created at", "Updated at"} & set(labels), labels
    assert 'name="id"' not in body


def test_change_forms_still_show_the_dashboard_and_times(admin_client: Client) -> None:
    application = make_application(make_job(posting_url=POSTING_URL))
    body = page(
        admin_client, reverse("admin:tracking_jobapplication_change", args=[application.pk])
    )
    assert {"Dashboard", "Created at", "Updated at"} <= set(field_labels(body))
    assert 'name="id"' not in body


def test_the_application_add_form_creates_an_application_with_a_generated_id(
    admin_client: Client,
) -> None:
    job = make_job(posting_url=POSTING_URL)
    response = admin_client.post(
        reverse("admin:tracking_jobapplication_add"),
        {
            "job": str(job.pk),
            "status": "submitted",
            "contact_name": "Jane",
            "links-TOTAL_FORMS": "0",
            "links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert JobApplication.objects.get().job == job


def test_job_and_application_on_the_link_form_are_searched_by_title_and_company(
    admin_client: Client,
) -> None:
    job = make_job(title="Data Analyst", company_name="Fabrikam")
    make_application(job, contact_name="Jane")
    make_job(title="Designer", company_name="Tailspin")
    body = page(admin_client, reverse("admin:tracking_trackedlink_add"))
    for name in ("job", "application"):
        assert re.search(rf'<select name="{name}"[^>]*class="admin-autocomplete', body), name

    def search(model: str, term: str) -> list[str]:
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {
                "term": term,
                "app_label": "tracking",
                "model_name": "trackedlink",
                "field_name": model,
            },
        )
        return [item["text"] for item in response.json()["results"]]

    assert search("job", "fabri") == ["Data Analyst at Fabrikam"]
    assert search("application", "analyst") == ["Application to Data Analyst at Fabrikam"]


# --- Link types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "form"),
    [
        (
            "trackedlink",
            {"original_url": "https://steveglen.com/talk", "link_function": "Talk"},
        ),
        ("profilelink", {"url": "https://steveglen.com/talk", "link_function": "Talk"}),
    ],
)
def test_both_link_forms_offer_the_same_types_and_take_ones_own(
    admin_client: Client, model: str, form: dict[str, str]
) -> None:
    body = page(admin_client, reverse(f"admin:tracking_{model}_add"))
    select = body.split('name="link_type_0"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", *LinkType.values, "__other__"]

    data = {**form, "link_type_0": "__other__", "link_type_1": "conference_talk"}
    data.update({"description": "", "is_active": "on", "order": "0"})
    response = admin_client.post(reverse(f"admin:tracking_{model}_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = (TrackedLink if model == "trackedlink" else ProfileLink).objects.get()
    assert saved.link_type == "conference_talk"

    # Shown again as "Other" with the value in the text box.
    # As the admin links it: quoted (an id with "_" and two digits would be unquoted otherwise).
    change = reverse(f"admin:tracking_{model}_change", args=[quote(str(saved.pk))])
    body = page(admin_client, change)
    assert re.search(r'<option value="__other__" selected>', body)
    assert re.search(r'name="link_type_1" value="conference_talk"', body)


def test_other_without_a_value_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_profilelink_add"),
        {
            "link_function": "Talk",
            "url": "https://steveglen.com/talk",
            "link_type_0": "__other__",
            "link_type_1": "",
            "order": "0",
        },
    )
    assert "Type your own value, or choose one from the list." in response.content.decode()
    assert not ProfileLink.objects.exists()


def test_ones_own_link_type_follows_the_identifier_rule(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:tracking_profilelink_add"),
        {
            "link_function": "Talk",
            "url": "https://steveglen.com/talk",
            "link_type_0": "__other__",
            "link_type_1": "two words",
            "order": "0",
        },
    )
    assert "link_type must be letters" in response.content.decode()
    assert not ProfileLink.objects.exists()


def test_url_fields_carry_one_name_each(admin_client: Client) -> None:
    job_labels = field_labels(page(admin_client, reverse("admin:tracking_job_add")))
    assert {"Posting URL", "Apply URL"} <= set(job_labels)
    for model in ("trackedlink", "profilelink"):
        labels = field_labels(page(admin_client, reverse(f"admin:tracking_{model}_add")))
        assert "Destination URL" in labels, model
        assert "URL" not in labels and "Original url" not in labels, model


@pytest.mark.parametrize("model", ["trackedlink", "profilelink"])
def test_every_link_field_explains_itself(admin_client: Client, model: str) -> None:
    body = page(admin_client, reverse(f"admin:tracking_{model}_add"))
    names = re.findall(r'<div class="form-row[^"]*field-(\w+)', body)
    helped = set(re.findall(r'<div class="help" id="id_(\w+?)_helptext"', body))
    assert names and set(names) <= helped | {"link_type"}, (names, helped)
    assert 'id="id_link_type_helptext"' in body or "analytics group links by it" in body


# --- Lists and filters ----------------------------------------------------------------------


def test_the_active_filter_offers_yes_and_no_and_counts_null_as_active(
    admin_client: Client,
) -> None:
    made = [
        make_link(original_url=f"https://steveglen.com/{n}", link_function="Portfolio").tracking_id
        for n in range(3)
    ]
    TrackedLink.objects.filter(pk=made[0]).update(is_active=None)  # as plain SQL may leave it
    TrackedLink.objects.filter(pk=made[1]).update(is_active=False)
    url = reverse("admin:tracking_trackedlink_changelist")

    body = page(admin_client, url)
    assert "By active" in body and "By is active" not in body
    assert "Unknown" not in body
    active = page(admin_client, url, active="yes")
    assert made[0] in active and made[2] in active and made[1] not in active
    inactive = page(admin_client, url, active="no")
    assert made[1] in inactive and made[0] not in inactive


def test_the_link_list_shows_the_columns_a_user_scans(admin_client: Client) -> None:
    make_link(original_url="https://steveglen.com", link_function="Portfolio")
    body = page(admin_client, reverse("admin:tracking_trackedlink_changelist"))
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', body)
    assert headers == [
        "link",
        "function",
        "job_label",
        "people",
        "automated",
        "last_person_click",
    ]


# --- Link packages --------------------------------------------------------------------------


def run_package_action(client: Client, application: JobApplication) -> list[tuple[str, str]]:
    response = client.post(
        reverse("admin:tracking_jobapplication_changelist"),
        {"action": "create_link_package", "_selected_action": [str(application.pk)]},
        follow=True,
    )
    assert response.redirect_chain and response.status_code == 200
    # The page the action leads back to shows (and so consumes) the messages.
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_the_package_message_says_what_was_created_and_skipped_and_why(
    admin_client: Client,
) -> None:
    application = make_application(make_job(posting_url=POSTING_URL))

    messages = run_package_action(admin_client, application)

    texts = " | ".join(text for _level, text in messages)
    assert "created Job_Posting" in texts
    assert "skipped: Apply_Now (the job has no Apply URL)" in texts
    warning = [text for level, text in messages if level == "warning"]
    assert warning and "No active profile links" in warning[0]
    assert f'href="{reverse("admin:tracking_profilelink_add")}"' in warning[0]
    assert "ready for" not in texts


def test_the_package_message_names_links_kept_and_inactive_profile_links(
    admin_client: Client,
) -> None:
    application = make_application(make_job(posting_url=POSTING_URL))
    ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/x")
    ProfileLink.objects.create(link_function="GitHub", url="https://github.com/x", is_active=False)
    run_package_action(admin_client, application)

    [(level, text)] = run_package_action(admin_client, application)

    assert level == "success"
    assert "created no new link" in text
    assert "already there: LinkedIn, Job_Posting" in text
    assert "GitHub (profile link inactive)" in text


# --- Demo data ------------------------------------------------------------------------------


def test_the_demo_data_includes_the_seeds_profile_links_so_packages_work() -> None:
    call_command("load_demo", verbosity=0)
    profiles = list(ProfileLink.objects.order_by("order").values_list("link_function", "url"))
    assert profiles == [
        ("LinkedIn", "https://linkedin.com/in/steve-glen"),
        ("Portfolio", "https://steveglen.com"),
        ("Calendly", "https://calendly.com/steve-glen/30min"),
        ("GitHub", "https://github.com/steve-glen"),
    ]
    application = make_application(Job.objects.filter(posting_url__gt="")[0])
    package = services.create_job_application_links(application_id=application.pk)
    assert {"LinkedIn", "Portfolio", "Calendly", "GitHub", "Job_Posting"} <= set(package)


def test_the_demo_keeps_profile_links_the_user_made() -> None:
    ProfileLink.objects.create(link_function="LinkedIn", url="https://linkedin.com/in/someone")
    call_command("load_demo", verbosity=0)
    assert ProfileLink.objects.get(link_function="LinkedIn").url == (
        "https://linkedin.com/in/someone"
    )
    assert ProfileLink.objects.count() == 4
