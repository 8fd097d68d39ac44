"""Request parsing and content negotiation rules that keep bad input a 4xx."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

# Django's own request body limit (2.5 MB by default) also bounds JSON bodies: a batch of 1000
# clicks of ordinary size is well under it.
FALLBACK_MAX_BODY_BYTES = 2_621_440


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or FALLBACK_MAX_BODY_BYTES


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than {max_body_bytes()} bytes.")


class JSONBodyParser(JSONParser):
    """JSON only, bounded in size, with the cases the standard parser lets through made 4xx.

    Deeply nested documents (RecursionError), NUL characters and unpaired surrogates (which
    PostgreSQL refuses to store) become a 400 here instead of a 500 deeper down.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > max_body_bytes():
                raise RequestTooLarge()
        raw = stream.read(max_body_bytes() + 1) if stream is not None else b""
        if len(raw) > max_body_bytes():
            raise RequestTooLarge()
        encoding = parser_context.get("encoding") or "utf-8"
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise exceptions.ParseError(
                "JSON parse error - the document is nested too deeply."
            ) from None
        except (ValueError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if not _strings_are_storable(data):
            raise exceptions.ParseError(
                "JSON parse error - strings must not contain NUL characters or unpaired surrogates."
            )
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 parses to infinity, which can be neither stored as JSON nor rendered back.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings_are_storable(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not _storable(item):
                return False
        elif isinstance(item, dict):
            for key, value in item.items():
                if not _storable(key):
                    return False
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return True


class JSONFallbackNegotiation(DefaultContentNegotiation):
    """Answer in the view's first format when the client's ``Accept`` matches none (no 406)."""

    def select_renderer(
        self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        renderers = list(renderers)
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotFound:
            raise
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type
