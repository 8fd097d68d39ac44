"""A minimal PNG reader for tests: 1- and 8-bit greyscale and palette images, as a grey matrix a
QR reader takes (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, *, height: int, stride: int, bpp: int) -> list[bytes]:
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        previous = bytes(line)
        rows.append(previous)
    return rows


def grey_pixels(png: bytes) -> tuple[memoryview, int, int]:
    """(a height-by-width memoryview of grey bytes, width, height)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    header = dict(chunks)[b"IHDR"]
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    palette = dict(chunks).get(b"PLTE", b"")
    assert colour_type in (0, 3) and depth in (1, 2, 4, 8), "unsupported PNG for this reader"
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    stride = (width * depth + 7) // 8
    rows = _unfilter(raw, height=height, stride=stride, bpp=max(1, depth // 8))
    pixels = bytearray()
    top = (1 << depth) - 1
    for row in rows:
        for x in range(width):
            bit = x * depth
            value = (row[bit // 8] >> (8 - depth - bit % 8)) & top
            if colour_type == 3:
                r, g, b = palette[value * 3 : value * 3 + 3]
                pixels.append((r * 299 + g * 587 + b * 114) // 1000)
            else:
                pixels.append(value * 255 // top)
    return memoryview(bytes(pixels)).cast("B", shape=[height, width]), width, height
