"""The errors the write path raises; each maps to one HTTP status in the API
(:mod:`tracking.api.errors`) and names the field it is about."""

from __future__ import annotations

from typing import Any


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
