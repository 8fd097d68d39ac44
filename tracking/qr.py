"""QR codes of tracked links (segno): the redirect URL with ``?src=qr``, so scans count as source
``qr``. Sizes and colours are bounded here, so a request cannot ask for a huge image."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Final

import segno

from tracking.services import redirect_url_for

QR_SOURCE: Final = "qr"
SCALE_MAX: Final = 20  # pixels per module: a 25-module code stays under 700 px a side
BORDER_MAX: Final = 10
ERROR_LEVELS: Final = ("L", "M", "Q", "H")
COLOUR_RE: Final = re.compile(r"^#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True, slots=True)
class QROptions:
    scale: int = 8
    border: int = 4
    error: str = "M"
    dark: str = "#000000"
    light: str | None = "#ffffff"  # None: transparent


def qr_target(tracking_id: str) -> str:
    """What the code encodes: the link's redirect URL, marked as scanned from a QR code."""
    return f"{redirect_url_for(tracking_id)}?src={QR_SOURCE}"


def colour(value: str) -> str:
    return value if value.startswith("#") else f"#{value}"


def render_qr(tracking_id: str, *, kind: str, options: QROptions) -> bytes:
    """The code as ``svg`` or ``png`` bytes."""
    code = segno.make(qr_target(tracking_id), error=options.error, boost_error=False)
    out = io.BytesIO()
    code.save(
        out,
        kind=kind,
        scale=options.scale,
        border=options.border,
        dark=options.dark,
        light=options.light,
    )
    return out.getvalue()
