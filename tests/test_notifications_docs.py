"""The signature recipes in docs/notifications.md agree with what linktrack sends."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from notifications.models import new_webhook_secret

DOC = (Path(__file__).resolve().parent.parent / "docs" / "notifications.md").read_text()
BODY = '{"type":"click.person","data":{"tracking_id":"lt_x"}}'
MSG_ID = "msg_0123456789abcdef"


def now() -> dt.datetime:
    # Taken when a test runs, not at collection: the recipe refuses stamps over 5 minutes old.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def test_the_standard_library_recipe_accepts_a_real_signature_and_refuses_a_tampered_one() -> None:
    secret, timestamp = new_webhook_secret(), now()
    signature = Webhook(secret).sign(msg_id=MSG_ID, timestamp=timestamp, data=BODY)
    namespace: dict[str, Any] = {}
    exec(next(b for b in blocks("python") if "def verify" in b), namespace)  # noqa: S102
    verify = namespace["verify"]
    stamp = str(int(timestamp.timestamp()))
    assert verify(secret, BODY.encode(), MSG_ID, stamp, signature) is True
    assert verify(secret, BODY.encode() + b" ", MSG_ID, stamp, signature) is False


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_openssl_recipe_computes_the_same_signature(tmp_path: Path) -> None:
    secret, timestamp = new_webhook_secret(), now()
    stamp = str(int(timestamp.timestamp()))
    recipe = next(b for b in blocks("sh") if "openssl dgst" in b and "body.json" in b)
    recipe = recipe.replace("SECRET='whsec_...'", f"SECRET='{secret}'")
    recipe = recipe.replace("MSG_ID='msg_...'", f"MSG_ID='{MSG_ID}'")
    recipe = recipe.replace("TIMESTAMP='1764000000'", f"TIMESTAMP='{stamp}'")
    (tmp_path / "body.json").write_text(BODY)
    result = subprocess.run(
        ["sh", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    expected = Webhook(secret).sign(msg_id=MSG_ID, timestamp=timestamp, data=BODY)
    assert f"v1,{result.stdout.strip()}" == expected
