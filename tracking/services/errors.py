"""The errors the write path raises; each maps to one HTTP status in the API
(:mod:`tracking.api.errors`) and names the field it is about."""

from __future__ import annotations

import re
from typing import Any

_QUOTED_INPUT_RE = re.compile(r"^(invalid input [^:]*:).*$")


class ServiceError(Exception):
    """Base of the errors the write path raises; each maps to one HTTP status in the API."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["fields"] = {self.field: [self.message]}
        return body


class ValidationFailed(ServiceError):
    code = "invalid"


class NotFound(ServiceError):
    """No link, job or application has the id given (``field`` names which id)."""

    code = "not_found"


class LinkInactive(ServiceError):
    code = "link_inactive"


class Conflict(ServiceError):
    code = "conflict"


def describe_database_error(exc: BaseException) -> str:
    """A database error for a log line or a stored reason, without the data it was about.

    PostgreSQL puts the row a statement failed on into the error's DETAIL ("Failing row contains
    (…, 203.0.113.7, Mozilla/5.0 …)", "Key (session_id)=(…)"): logged whole, an error would copy
    a visitor's IP address and user agent into the logs. The first line says what went wrong;
    the SQLSTATE says which error it is.
    """
    first_line = str(exc).strip().split("\n", 1)[0][:200]
    # "invalid input syntax for type inet: "…"" quotes the value itself: cut it off.
    first_line = _QUOTED_INPUT_RE.sub(r"\1 …", first_line)
    code = getattr(getattr(exc, "__cause__", None), "sqlstate", None) or getattr(
        exc, "pgcode", None
    )
    kind = type(exc).__name__ + (f" [{code}]" if code else "")
    return f"{kind}: {first_line}" if first_line else kind
