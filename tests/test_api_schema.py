"""The OpenAPI schema: valid, complete, served offline, and obeyed by every endpoint.

The schemathesis run generates requests (valid and invalid) for every operation of the schema
against the WSGI application, with a key holding every scope, and fails on any 5xx or on any
response whose status, content type, headers or body the schema does not describe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_application, make_key, make_link
from tracking import services

SCHEMA_MAX_EXAMPLES = 12

SEED_PATHS = {
    "/api/link-tracking/create": "post",
    "/api/link-tracking/record-click": "post",
    "/api/link-tracking/record-clicks": "post",
    "/api/link-tracking/analytics/{tracking_id}": "get",
    "/api/link-tracking/links/{tracking_id}": "get",
    "/api/link-tracking/jobs/{job_id}/summary": "get",
    "/api/link-tracking/report": "get",
}


@pytest.fixture
def openapi(db: Any) -> dict[str, Any]:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_openapi_3_and_lists_every_endpoint(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.")
    for path, method in SEED_PATHS.items():
        assert method in openapi["paths"][path], path
    for path in (
        "/api/v1/links",
        "/api/v1/links/{tracking_id}",
        "/api/v1/links/{tracking_id}/clicks",
        "/api/v1/links/{tracking_id}/deactivate",
        "/api/v1/clicks",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/applications",
        "/api/v1/applications/{id}",
    ):
        assert path in openapi["paths"], path


def test_every_operation_documents_its_body_its_errors_and_its_auth(
    openapi: dict[str, Any],
) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["ApiKeyAuth"]["description"],
    }
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert {"ApiKeyAuth": []} in operation["security"], where
            responses = operation["responses"]
            assert {"400", "401", "403", "404"} <= set(responses), where
            success = [code for code in responses if code.startswith("2")]
            assert success, where
            for code in success:
                if code != "204":
                    assert "application/json" in responses[code]["content"], where
            if method in {"post", "patch"} and "deactivate" not in path:
                assert "application/json" in operation["requestBody"]["content"], where
                assert {"413", "415"} <= set(responses), where


def test_rate_limited_operations_document_429(openapi: dict[str, Any]) -> None:
    for path in (
        "/api/link-tracking/record-click",
        "/api/link-tracking/record-clicks",
        "/api/link-tracking/analytics/{tracking_id}",
        "/api/link-tracking/jobs/{job_id}/summary",
        "/api/link-tracking/report",
    ):
        operation = openapi["paths"][path][SEED_PATHS[path]]
        assert "Retry-After" in operation["responses"]["429"]["headers"], path
        # The header is documented on the answer, not asked of the client.
        assert all(p["name"] != "Retry-After" for p in operation.get("parameters", [])), path


def test_the_docs_page_needs_no_internet(db: Any) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    script = Client().get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


# --- Schemathesis over the whole schema ------------------------------------------------------


# The schema view touches no database, so the schema can be loaded while tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=SCHEMA_MAX_EXAMPLES,
    deterministic=True,
    with_security_parameters=False,
)


@pytest.fixture
def same_db_connection() -> Iterator[None]:
    """Keep the test's connection open across WSGI requests, as Django's test client does.

    Django closes connections at the end of each request when they are inside a transaction,
    which would close the test transaction itself on PostgreSQL.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def full_key(db: Any, same_db_connection: None) -> str:
    """A key with every scope, and a few rows so that some generated requests find data."""
    application = make_application()
    link = make_link(tracking_id="lt_abc123def456", job=application.job, application=application)
    services.record_click(tracking_id=link.tracking_id, referrer_url="https://gmail.com")
    return make_key()


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    max_examples=SCHEMA_MAX_EXAMPLES,
)
@pytest.mark.django_db
def test_every_endpoint_conforms_to_the_schema_and_never_fails(case: Any, full_key: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {full_key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
