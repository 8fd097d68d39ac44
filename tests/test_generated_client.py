"""A client generated from the live OpenAPI schema calls the seed endpoints the way an integrator's
would: openapi-python-client reads ``/api/schema/?format=json`` from the running server, and the
generated code creates a link, records a click and reads the link's analytics over HTTP.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.factories import make_key

GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or (
    shutil.which("openapi-python-client")
)
PACKAGE = "linktrack_generated_client"

pytestmark = [
    pytest.mark.skipif(
        GENERATOR is None,
        reason="openapi-python-client is not installed (pip install -r requirements-dev.txt)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[dict[str, ModuleType]]:
    """Generate the client from the schema the live server serves and import its modules."""
    schema_url = f"{live_server.url}/api/schema/?format=json"  # the live server's own http URL
    with urllib.request.urlopen(schema_url, timeout=30) as r:  # noqa: S310
        (tmp_path / "schema.json").write_bytes(r.read())
    # No formatting hooks: the test needs the code, not its layout (and no tool on PATH).
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    assert GENERATOR is not None
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        names = {
            "client": "client",
            "create": "api.link_tracking_seed_001.link_tracking_create",
            "record_click": "api.link_tracking_seed_001.link_tracking_record_click",
            "analytics": "api.link_tracking_seed_001.link_tracking_analytics",
            "models": "models",
        }
        yield {key: importlib.import_module(f"{PACKAGE}.{name}") for key, name in names.items()}
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_a_generated_client_creates_a_link_records_a_click_and_reads_analytics(
    generated: dict[str, ModuleType], live_server: Any
) -> None:
    models = generated["models"]
    client = generated["client"].AuthenticatedClient(
        base_url=live_server.url, token=make_key(), prefix="Api-Key"
    )

    created = generated["create"].sync_detailed(
        client=client,
        body=models.LinkCreateInputRequest(
            original_url="https://linkedin.com/in/steve-glen",
            link_function="LinkedIn",
            link_type="profile",
            description="Professional LinkedIn profile",
        ),
    )
    assert created.status_code == 201, created.content
    link = created.parsed
    assert isinstance(link, models.LinkCreatedOutput)
    assert link.redirect_url.endswith(f"/track/{link.tracking_id}")

    recorded = generated["record_click"].sync_detailed(
        client=client,
        body=models.ClickInputRequest(
            tracking_id=link.tracking_id,
            user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            referrer_url="https://mail.google.com/",
            click_source="email",
            metadata=models.ClickInputRequestMetadataType0.from_dict({"utm_source": "newsletter"}),
        ),
    )
    assert recorded.status_code == 201, recorded.content

    analytics = generated["analytics"].sync(link.tracking_id, client=client)
    assert isinstance(analytics, models.LinkAnalyticsOutput)
    assert analytics.link_info.tracking_id == link.tracking_id
    assert analytics.click_statistics.total_clicks == 1
    [click] = analytics.click_timeline
    # Typed in the schema, so the generated models hand back a mapping and a list of codes.
    assert click.metadata.additional_properties["utm_source"] == "newsletter"
    assert isinstance(click.classification_reasons, list)
    assert all(isinstance(code, str) for code in click.classification_reasons)


def test_a_generated_client_left_on_its_bearer_default_is_told_the_prefix(
    generated: dict[str, ModuleType], live_server: Any
) -> None:
    client = generated["client"].AuthenticatedClient(base_url=live_server.url, token=make_key())
    response = generated["analytics"].sync_detailed("lt_unknown", client=client)
    assert response.status_code == 401
    error = response.parsed
    assert isinstance(error, generated["models"].ErrorOutput)
    assert "use 'Authorization: Api-Key <key>'" in error.error.message
