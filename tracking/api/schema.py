"""OpenAPI post-processing: document the shared error responses on every operation."""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/ErrorOutput"}

_COMMON = {
    "400": "Invalid input; `error.fields` names each bad field.",
    "401": "Missing, unknown, revoked or expired API key.",
    "403": "The key lacks the scope, the CSRF check failed, or the user is not staff.",
    "404": "No such object.",
}
_WITH_BODY = {
    "409": "Conflicts with the current state (e.g. inactive link, taken tracking_id).",
    "413": "The request body is too large.",
    "415": "The request body is not JSON.",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOutput" not in components:
        return result
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith("/api/schema"):
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            wanted = dict(_COMMON)
            if method in {"post", "put", "patch", "delete"}:
                wanted.update(_WITH_BODY)
            for code, description in wanted.items():
                operation["responses"].setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result
