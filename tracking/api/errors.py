"""One JSON error shape for the whole API.

Every error body is ``{"error": {"code": ..., "message": ..., "fields": {name: [messages]}}}``:
DRF validation and parse errors, authentication and permission failures, 404/405/406/413/415,
rate limits (429, with ``Retry-After``) and the service layer's :class:`ServiceError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError, IntegrityError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from tracking.api.parsers import RequestTooLarge
from tracking.services import ServiceError, describe_database_error

logger = logging.getLogger(__name__)

_SERVICE_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "not_found": status.HTTP_404_NOT_FOUND,
    "link_inactive": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
}


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with a concurrent change; retry it."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; retry shortly."
    default_code = "unavailable"


def error_body(
    code: str, message: str, fields: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"clicks.0.tracking_id": ["…"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            out.update(_flatten(value, name))
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
            elif value:
                out.setdefault(prefix or "non_field_errors", []).append(str(value))
    elif isinstance(detail, list):
        if detail:
            out[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif detail:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _first_code(detail: Any, default: str) -> str:
    if isinstance(detail, exceptions.ErrorDetail):
        return str(detail.code or default)
    if isinstance(detail, Mapping):
        for value in detail.values():
            return _first_code(value, default)
    if isinstance(detail, list) and detail:
        return _first_code(detail[0], default)
    return default


def validation_error(detail: Any) -> dict[str, Any]:
    """The ``error`` object for DRF validation errors; the message names the first bad field."""
    fields = _flatten(detail)
    first_field, messages = next(iter(fields.items()), ("", ["Invalid input."]))
    if first_field in {"", "non_field_errors"}:
        message = messages[0]
    else:
        message = f"{first_field}: {messages[0]}"
    return {"code": "invalid", "message": message, "fields": fields}


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every handled error leaves in the one shape."""
    # Imported here: rest_framework.views reads the REST_FRAMEWORK settings, which name this module.
    from rest_framework.views import set_rollback

    headers: dict[str, str] = {}
    if isinstance(exc, ServiceError):
        set_rollback()
        code = exc.code
        fields = {exc.field: [exc.message]} if exc.field else {}
        message = exc.message
        if exc.field and exc.field not in message:
            message = f"{exc.field}: {message}"
        return Response(
            error_body(code, message, fields),
            status=_SERVICE_STATUS.get(code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, OperationalError):
        logger.exception("database unavailable during an API request")
        exc = ServiceUnavailable()
    elif isinstance(exc, IntegrityError):
        # A concurrent write got there first (e.g. the same id created twice at once).
        # Described without its detail, which quotes the row (a reported click's IP, …).
        logger.warning("integrity error during an API request: %s", describe_database_error(exc))
        exc = ConflictError()
    elif isinstance(exc, DataError):
        # Input that slipped past validation must not surface as a 500.
        logger.warning("database rejected API input: %s", describe_database_error(exc))
        exc = exceptions.ValidationError("The database rejected this input.")
    if not isinstance(exc, exceptions.APIException):
        return None

    # DRF's view sets ``auth_header`` on 401s (from the first authentication class).
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait)))
    if isinstance(exc, exceptions.MethodNotAllowed) and context.get("view") is not None:
        headers["Allow"] = ", ".join(context["view"].allowed_methods)

    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        body = {"error": validation_error(detail)}
    else:
        code = _first_code(detail, exc.default_code)
        if isinstance(exc, exceptions.Throttled):
            code = "rate_limited"
        body = error_body(code, str(detail) if isinstance(detail, str) else str(exc.default_detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


# Exempt: a mistyped POST must get this JSON 404, not Django's HTML CSRF page; nothing changes here.
@csrf_exempt
def api_not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Catch-all under ``/api/``: unknown paths get the JSON 404, never an HTML page."""
    message = f"No API endpoint at {request.path}."
    alternative = request.path[:-1] if request.path.endswith("/") else request.path + "/"
    try:
        match = resolve(alternative)
    except Resolver404:
        match = None
    if match is not None and match.func is not api_not_found:
        message += f" Did you mean {alternative}?"
    return JsonResponse(error_body("not_found", message), status=404)
