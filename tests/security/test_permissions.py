"""The permission matrix: every principal against every API endpoint and dashboard page.

The endpoints are read from the URLconf, so a new route without a row here fails
``test_every_endpoint_is_in_the_matrix``. Each row says which key scopes serve it and which of the
admin's model permissions a session needs; the expected status of every principal follows from
that, and the rows that return clicks also say where visitors' personal fields appear.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from notifications.models import Webhook
from tests.factories import (
    key_client,
    make_application,
    make_job,
    make_key,
    make_link,
    make_user,
    make_visitor_click,
)
from tracking.admin import API_SCOPES
from tracking.api.auth import SCOPES
from tracking.management.commands import create_api_key
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

MODELS = ("trackedlink", "linkclick", "job", "jobapplication")
VIEW = frozenset(f"tracking.view_{model}" for model in MODELS)
EVERY = frozenset(
    f"tracking.{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in MODELS
)
LINK = "lt_matrix"
SESSION = "sess-matrix-7f3a"
IP = "203.0.113.77"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) MatrixBrowser/1.0"


# --- Principals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    name: str
    kind: str  # anonymous, user, key
    staff: bool = False
    superuser: bool = False
    perms: frozenset[str] = frozenset()
    scopes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name

    @property
    def sees_personal_data(self) -> bool:
        if self.kind == "key":
            return "clicks:read" in self.scopes
        return self.superuser or "tracking.view_linkclick" in self.perms


PRINCIPALS = [
    Principal("anonymous", "anonymous"),
    Principal("non-staff", "user"),
    Principal("staff-without-permissions", "user", staff=True),
    Principal("staff-view-only", "user", staff=True, perms=VIEW),
    Principal(
        "staff-view-links-not-clicks",
        "user",
        staff=True,
        perms=VIEW - {"tracking.view_linkclick"},
    ),
    Principal("staff-every-permission", "user", staff=True, perms=EVERY),
    Principal("superuser", "user", staff=True, superuser=True, perms=EVERY),
    *(Principal(f"key-{scope}", "key", scopes=(scope,)) for scope in SCOPES),
]


def client_for(principal: Principal) -> Client:
    if principal.kind == "key":
        return key_client(make_key(list(principal.scopes), name=principal.name))
    client = Client()
    if principal.kind == "user":
        user = make_user(principal.name, staff=principal.staff, superuser=principal.superuser)
        codenames = [perm.partition(".")[2] for perm in principal.perms]
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="tracking", codename__in=codenames)
        )
        client.force_login(user)
    return client


# --- Endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    route: str  # namespaced URL name
    method: str
    path: str  # formatted with the world's ids
    ok: int
    scopes: tuple[str, ...] = ()  # any one serves a key; none: keys are refused
    perms: tuple[str, ...] = ()  # a session's model permissions
    body: dict[str, Any] | None = None
    superuser: bool = False  # the admin's rule: deleting a link's clicks
    public: bool = False
    personal: str | None = None  # where clicks appear: results, timeline, csv, html
    fields: tuple[str, ...] = ("ip_address", "session_id", "user_agent")

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def dashboard(self) -> bool:
        return self.route.startswith(("analytics:", "notifications:"))

    def expected(self, principal: Principal) -> int:
        if self.public:
            return self.ok
        if self.dashboard:
            if principal.kind != "user" or not principal.staff:
                return 302  # to the login
        elif principal.kind == "anonymous":
            return 401
        elif principal.kind == "key":
            return self.ok if set(self.scopes) & set(principal.scopes) else 403
        if not principal.staff:
            return 403
        if principal.superuser:
            return self.ok
        if not set(self.perms) <= principal.perms or self.superuser:
            return 403
        return self.ok


READ_LINKS, WRITE_LINKS = ("links:read",), ("links:write",)
CLICK_ROWS = ("links:read", "clicks:read")
V, A, C, D = "tracking.view_", "tracking.add_", "tracking.change_", "tracking.delete_"
WEBHOOKS = ("webhooks:write",)
NV, NA, NC, ND = (f"notifications.{action}_" for action in ("view", "add", "change", "delete"))
NEW_LINK = {"original_url": "https://example.org/cv", "link_function": "Resume", "link_type": "x"}
DASHBOARD_QUERY = "?days=30"

ENDPOINTS = [
    # Seed 001
    Endpoint("api:link-create", "POST", "/api/link-tracking/create", 201, WRITE_LINKS,
             (A + "trackedlink",), NEW_LINK),
    Endpoint("api:record-click", "POST", "/api/link-tracking/record-click", 201,
             ("clicks:write",), (A + "linkclick",), {"tracking_id": LINK}),
    Endpoint("api:record-clicks", "POST", "/api/link-tracking/record-clicks", 200,
             ("clicks:write",), (A + "linkclick",), {"clicks": [{"tracking_id": LINK}]}),
    Endpoint("api:link-essentials", "GET", f"/api/link-tracking/links/{LINK}", 200, READ_LINKS,
             (V + "trackedlink",)),
    Endpoint("api:application-links", "POST",
             "/api/link-tracking/applications/{application}/links", 200, WRITE_LINKS,
             (A + "trackedlink",), {}),
    Endpoint("api:link-analytics", "GET", f"/api/link-tracking/analytics/{LINK}", 200,
             ("analytics:read",), (V + "trackedlink",), personal="timeline",
             fields=("ip_address", "session_id")),
    Endpoint("api:job-summary", "GET", "/api/link-tracking/jobs/{job}/summary", 200,
             ("analytics:read",), (V + "trackedlink", V + "job")),
    Endpoint("api:report", "GET", "/api/link-tracking/report", 200, ("analytics:read",),
             (V + "trackedlink",)),
    Endpoint("api:outcomes", "GET", "/api/link-tracking/outcomes?model=time_decay", 200,
             ("analytics:read",), (V + "trackedlink", V + "jobapplication")),
    # Resources
    Endpoint("api:link-list", "GET", "/api/v1/links", 200, READ_LINKS, (V + "trackedlink",)),
    Endpoint("api:link-list", "POST", "/api/v1/links", 201, WRITE_LINKS, (A + "trackedlink",),
             NEW_LINK),
    Endpoint("api:link-detail", "GET", f"/api/v1/links/{LINK}", 200, READ_LINKS,
             (V + "trackedlink",)),
    Endpoint("api:link-detail", "PATCH", f"/api/v1/links/{LINK}", 200, WRITE_LINKS,
             (C + "trackedlink",), {"description": "changed"}),
    Endpoint("api:link-detail", "DELETE", f"/api/v1/links/{LINK}", 204, WRITE_LINKS,
             (D + "trackedlink",), superuser=True),  # it has a click
    Endpoint("api:link-deactivate", "POST", f"/api/v1/links/{LINK}/deactivate", 200,
             WRITE_LINKS, (C + "trackedlink",)),
    Endpoint("api:link-rules", "GET", f"/api/v1/links/{LINK}/rules", 200, READ_LINKS,
             (V + "trackedlink",)),
    Endpoint("api:link-rules", "PUT", f"/api/v1/links/{LINK}/rules", 200, WRITE_LINKS,
             (C + "trackedlink",), {"rules": []}),
    Endpoint("api:link-clicks", "GET", f"/api/v1/links/{LINK}/clicks", 200, CLICK_ROWS,
             (V + "linkclick",), personal="results"),
    Endpoint("api:click-list", "GET", "/api/v1/clicks", 200, CLICK_ROWS, (V + "linkclick",),
             personal="results"),
    Endpoint("api:job-list", "GET", "/api/v1/jobs", 200, READ_LINKS, (V + "job",)),
    Endpoint("api:job-list", "POST", "/api/v1/jobs", 201, WRITE_LINKS, (A + "job",),
             {"title": "Engineer"}),
    Endpoint("api:job-detail", "GET", "/api/v1/jobs/{job}", 200, READ_LINKS, (V + "job",)),
    Endpoint("api:job-detail", "PATCH", "/api/v1/jobs/{job}", 200, WRITE_LINKS, (C + "job",),
             {"location": "Remote"}),
    # The job has an application: the admin asks for the right to delete it too.
    Endpoint("api:job-detail", "DELETE", "/api/v1/jobs/{job}", 204, WRITE_LINKS,
             (D + "job", D + "jobapplication")),
    Endpoint("api:application-list", "GET", "/api/v1/applications", 200, READ_LINKS,
             (V + "jobapplication",)),
    Endpoint("api:application-list", "POST", "/api/v1/applications", 201, WRITE_LINKS,
             (A + "jobapplication",), {"job_id": "{job}"}),
    Endpoint("api:application-detail", "GET", "/api/v1/applications/{application}", 200,
             READ_LINKS, (V + "jobapplication",)),
    Endpoint("api:application-detail", "PATCH", "/api/v1/applications/{application}", 200,
             WRITE_LINKS, (C + "jobapplication",), {"status": "submitted"}),
    Endpoint("api:application-detail", "DELETE", "/api/v1/applications/{application}", 204,
             WRITE_LINKS, (D + "jobapplication",)),
    Endpoint("api:application-status-history", "GET",
             "/api/v1/applications/{application}/status-history", 200, READ_LINKS,
             (V + "jobapplication",)),
    Endpoint("api:application-status-history", "POST",
             "/api/v1/applications/{application}/status-history", 201, WRITE_LINKS,
             (C + "jobapplication",), {"status": "submitted", "note": "Sent by e-mail"}),
    # Webhook endpoints (the notifications app): one scope reads and writes them; sessions need
    # the admin's notifications permissions, which the tracking-only principals lack.
    Endpoint("api:webhook-list", "GET", "/api/v1/webhooks", 200, WEBHOOKS, (NV + "webhook",)),
    Endpoint("api:webhook-list", "POST", "/api/v1/webhooks", 201, WEBHOOKS, (NA + "webhook",),
             {"url": "https://hooks.example.com/linktrack"}),
    Endpoint("api:webhook-detail", "GET", "/api/v1/webhooks/{webhook}", 200, WEBHOOKS,
             (NV + "webhook",)),
    Endpoint("api:webhook-detail", "PATCH", "/api/v1/webhooks/{webhook}", 200, WEBHOOKS,
             (NC + "webhook",), {"description": "CRM"}),
    Endpoint("api:webhook-detail", "DELETE", "/api/v1/webhooks/{webhook}", 204, WEBHOOKS,
             (ND + "webhook",)),
    # The schema describes the API to anyone; it holds no data.
    Endpoint("api:schema", "GET", "/api/schema/", 200, public=True),
    Endpoint("api:docs", "GET", "/api/docs/", 200, public=True),
    # Dashboard
    Endpoint("analytics:overview", "GET", "/dashboard/", 200, perms=(V + "trackedlink", V + "job")),
    Endpoint("analytics:activity", "GET", "/dashboard/activity/", 200,
             perms=(V + "trackedlink", V + "job")),
    Endpoint("analytics:activity-feed", "GET", "/dashboard/activity.json", 200,
             perms=(V + "trackedlink", V + "job")),
    Endpoint("analytics:job-detail", "GET", "/dashboard/jobs/{job}/", 200,
             perms=(V + "trackedlink", V + "job")),
    Endpoint("analytics:link-detail", "GET", f"/dashboard/links/{LINK}/", 200,
             perms=(V + "trackedlink",), personal="html", fields=("session_id",)),
    Endpoint("analytics:application-detail", "GET", "/dashboard/applications/{application}/",
             200, perms=(V + "trackedlink", V + "jobapplication"), personal="html",
             fields=("session_id",)),
    Endpoint("analytics:outcomes", "GET", "/dashboard/outcomes/", 200,
             perms=(V + "trackedlink", V + "jobapplication")),
    Endpoint("analytics:outcomes-csv", "GET", "/dashboard/outcomes.csv", 200,
             perms=(V + "trackedlink", V + "jobapplication")),
    # A form's target: POST only (tests/test_outcomes_page.py), the rights checked first.
    Endpoint("analytics:application-status-change", "GET",
             "/dashboard/applications/{application}/status/", 405,
             perms=(V + "jobapplication", C + "jobapplication")),
    # The one-click verdict correction: POST only (tests/test_verdict_corrections.py).
    Endpoint("analytics:click-verdict", "GET", "/dashboard/clicks/{click}/verdict/", 405,
             perms=(V + "trackedlink", C + "linkclick")),
    Endpoint("analytics:export-csv", "GET", "/dashboard/export.csv", 200,
             perms=(V + "trackedlink",), personal="csv", fields=("ip_address", "session_id")),
    # E-mail alert settings: the admin's right to change them.
    Endpoint("notifications:alert-settings", "GET", "/dashboard/alerts/", 200,
             perms=("notifications.change_alertsettings",)),
    *(
        Endpoint(f"analytics:chart-{name}", "GET", f"/dashboard/charts/{name}.json", 200,
                 perms=(V + "trackedlink",))
        for name in ("daily", "functions", "sources", "countries", "devices", "classifications",
                     "hour-of-week")
    ),
]  # fmt: skip

# Routes that are no endpoint of their own: the API's JSON 404 for every other path.
NOT_ENDPOINTS = {"api:not-found"}


def routes() -> Iterator[tuple[str, str]]:
    """Every (namespaced route name, HTTP method) the URLconf serves under the API and dashboard."""

    def walk(patterns: list[Any], namespace: str | None) -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace in {
                "api",
                "analytics",
                "notifications",
            }:
                yield f"{namespace}:{pattern.name}", pattern.callback

    for route, callback in walk(get_resolver().url_patterns, None):
        if route in NOT_ENDPOINTS:
            continue
        if getattr(callback, "actions", None):  # a viewset route
            methods = list(callback.actions)
        elif getattr(callback, "cls", None):  # an APIView
            cls = callback.cls
            methods = [m for m in cls.http_method_names if m not in {"head", "options"}]
            methods = [m for m in methods if hasattr(cls, m)]
        else:  # the dashboard's function views answer GET only
            methods = ["get"]
        for method in methods:
            yield route, method.upper()


def test_every_endpoint_is_in_the_matrix() -> None:
    served = set(routes())
    listed = {(e.route, e.method) for e in ENDPOINTS}
    assert served - listed == set(), "endpoints missing from the permission matrix"
    assert listed - served == set(), "matrix rows for endpoints that do not exist"
    assert len(listed) == len(ENDPOINTS), "a route and method listed twice"


# --- The world and the calls ----------------------------------------------------------------


@pytest.fixture
def world() -> dict[str, str]:
    """A job with an application and a link of both, clicked once by a known visitor."""
    job = make_job(company_name="Acme")
    application = make_application(job)
    link = make_link(tracking_id=LINK, job=job, application=application)
    click = make_visitor_click(
        link, days_ago=0.01, ip_address=IP, session_id=SESSION, user_agent=AGENT
    )
    webhook = Webhook.objects.create(url="https://hooks.example.com/crm")
    return {
        "job": str(job.id),
        "application": str(application.id),
        "webhook": str(webhook.id),
        "click": str(click.pk),
    }


def call(client: Client, endpoint: Endpoint, world: dict[str, str]) -> Any:
    path = endpoint.path.format(**world)
    if endpoint.dashboard:
        path += DASHBOARD_QUERY
    method = getattr(client, endpoint.method.lower())
    if endpoint.body is None:
        return method(path)
    body = {k: v.format(**world) if isinstance(v, str) else v for k, v in endpoint.body.items()}
    return method(path, body, content_type="application/json")


# Every principal against every endpoint; the public schema (slow to build, the same for all)
# against one principal of each kind.
CASES = [
    pytest.param(principal, endpoint, id=f"{principal}-{endpoint}")
    for endpoint in ENDPOINTS
    for principal in PRINCIPALS
    if not endpoint.public or principal.name in {"anonymous", "non-staff", "key-links:read"}
]


@pytest.mark.parametrize(("principal", "endpoint"), CASES)
def test_each_principal_gets_what_its_rights_allow(
    principal: Principal, endpoint: Endpoint, world: dict[str, str]
) -> None:
    response = call(client_for(principal), endpoint, world)
    expected = endpoint.expected(principal)
    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if expected == 302:
        assert response["Location"].startswith(reverse("admin:login"))
    elif expected == 403 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert (body["error"]["code"] if endpoint.route.startswith("api:") else body["code"]) == (
            "permission_denied"
        )
    elif expected == endpoint.ok and endpoint.personal:
        shown = personal_fields_shown(endpoint, response)
        wanted = set(endpoint.fields) if principal.sees_personal_data else set()
        assert shown == wanted


def personal_fields_shown(endpoint: Endpoint, response: Any) -> set[str]:
    """Which personal fields of the world's click the response reveals."""
    if endpoint.personal == "csv":
        content = b"".join(response.streaming_content).decode()
        header = next(csv.reader(io.StringIO(content)))
        shown = {name for name in endpoint.fields if name in header}
        assert (IP in content) == ("ip_address" in shown)
        assert (SESSION in content) == ("session_id" in shown)
        return shown
    if endpoint.personal == "html":
        html = response.content.decode()
        return {"session_id"} if SESSION in html else set()
    body = response.json()
    rows = body["results"] if endpoint.personal == "results" else body["click_timeline"]
    assert len(rows) == 1
    values = {"ip_address": IP, "session_id": SESSION, "user_agent": AGENT}
    shown = {name for name in ("ip_address", "session_id", "user_agent") if name in rows[0]}
    assert all(rows[0][name] == values[name] for name in shown)
    assert not ({IP, SESSION, AGENT} - {values[n] for n in shown}) & set(map(str, rows[0].values()))
    return shown


# --- The rules the matrix stands for, spelled out -------------------------------------------


def test_deleting_a_link_with_clicks_from_a_session_needs_a_superuser(
    world: dict[str, str],
) -> None:
    staff = client_for(Principal("staff", "user", staff=True, perms=EVERY))
    refused = staff.delete(f"/api/v1/links/{LINK}")
    assert refused.status_code == 403
    assert "link clicks" in refused.json()["error"]["message"]
    superuser = client_for(Principal("root", "user", staff=True, superuser=True))
    assert superuser.delete(f"/api/v1/links/{LINK}").status_code == 204


def test_a_staff_session_may_delete_a_link_without_clicks_with_the_delete_permission() -> None:
    make_link(tracking_id="lt_unclicked")
    staff = client_for(Principal("staff", "user", staff=True, perms=frozenset({D + "trackedlink"})))
    assert staff.delete("/api/v1/links/lt_unclicked").status_code == 204


def test_a_view_only_session_reads_but_cannot_create_or_delete(world: dict[str, str]) -> None:
    viewer = client_for(Principal("viewer", "user", staff=True, perms=VIEW))
    assert viewer.get("/api/v1/clicks").status_code == 200
    response = viewer.post("/api/v1/links", NEW_LINK, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Your account lacks the permission tracking.add_trackedlink."
    )
    assert viewer.delete(f"/api/v1/links/{LINK}").status_code == 403


# --- Attribution: the server says who did it --------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/link-tracking/create", "/api/v1/links"], ids=["seed", "resource"]
)
def test_a_key_cannot_claim_to_be_someone_else(path: str) -> None:
    key = make_key(["links:write"], name="job-bot")
    body = {**NEW_LINK, "created_by": "user:admin"}
    response = key_client(key).post(path, body, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json().get("link", response.json())
    prefix = key.partition(".")[0]
    assert created["created_by"] == f"api-key:job-bot ({prefix})"
    assert TrackedLink.objects.get(pk=created["tracking_id"]).created_by == created["created_by"]


def test_a_session_creates_links_in_its_own_name() -> None:
    client = client_for(Principal("ada", "user", staff=True, perms=frozenset({A + "trackedlink"})))
    body = {**NEW_LINK, "created_by": "system"}
    response = client.post("/api/v1/links", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["created_by"] == "user:ada"


def test_clicks_read_is_offered_and_explained_where_keys_are_made() -> None:
    assert "clicks:read" in dict(API_SCOPES)
    assert "IP address" in dict(API_SCOPES)["clicks:read"]
    assert "clicks:read" in create_api_key.Command.help
    out = StringIO()
    call_command("create_api_key", "--name", "crm", "--scopes", "clicks:read", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key_client(key).get("/api/v1/clicks").status_code == 200
