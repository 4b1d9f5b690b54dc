"""Prompt tokens of an image part, by OpenAI's tile rule, and an image's size read from a data URL's header.

OpenAI's rule (platform.openai.com/docs/guides/vision, "Calculating costs"): `detail: low` costs a
fixed base. Otherwise the image is scaled to fit in 2048×2048, then scaled down so its shortest side
is 768 px, and each 512 px tile it needs costs `tile` tokens on top of the base. For gpt-4o and most
models base/tile are 85/170. gpt-4o-mini bills images at 2833/5667 so that its cheaper tokens give the
same price. For the 1024×1024 example the docs work through, the total is 85 + 4×170 = 765.

    >>> image_tokens({"url": "https://example.com/cat.png", "detail": "low"}, "gpt-4o")
    85

Approximations, on purpose:
- the size is known only for base64 `data:` URLs (PNG, GIF, WebP, JPEG headers). For a remote URL,
  or a header we cannot read, we charge `UNKNOWN_SIZE_TILES` tiles: the docs' 1024×1024 example.
- `detail: auto` (and no detail) is counted as `high`. For images up to 512 px that is 1 tile.
- the models OpenAI bills by 32 px patches (gpt-4.1-mini/nano, o4-mini) are counted by tiles too.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from fractions import Fraction

UNKNOWN_SIZE_TILES = 4
"""Tiles charged when the size is unknown: the 1024×1024 image of OpenAI's worked example."""

_DEFAULT_RATES = (85, 170)
# gpt-4o-mini's image token counts are ~33x gpt-4o's: same price per image at a lower price per token.
_MINI_RATES = (2833, 5667)
_MINI = re.compile(r"(?:.*/)?(?:ft:)?gpt-4o-mini(?:[-:]|$)")
_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,", re.IGNORECASE)
_HEADER_CHARS = 65536  # base64 chars decoded to find the size: JPEG's SOF can follow a large EXIF block
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def image_tokens(image_url: Mapping[str, object] | str, model: str) -> int:
    """Prompt tokens of one `image_url` content part's value (`{"url": …, "detail": …}`) for `model`."""
    base, tile = _MINI_RATES if _MINI.match(model.lower()) else _DEFAULT_RATES
    if isinstance(image_url, str):
        url, detail = image_url, "auto"
    else:
        url, detail = str(image_url.get("url") or ""), str(image_url.get("detail") or "auto")
    if detail == "low":
        return base
    size = image_size(url)
    tiles = UNKNOWN_SIZE_TILES if size is None else tile_count(*size)
    return base + tile * tiles


def tile_count(width: int, height: int) -> int:
    """512 px tiles of a `detail: high` image after OpenAI's two downscaling steps."""
    if width <= 0 or height <= 0:
        return 1
    # Fractions, so a side scaled to exactly 1536 px is 3 tiles and not 4 by a float's last bit.
    w, h = Fraction(width), Fraction(height)
    scale = min(Fraction(1), 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(Fraction(1), 768 / min(w, h))
    w, h = w * scale, h * scale
    return max(1, math.ceil(w / 512) * math.ceil(h / 512))


def image_size(url: str) -> tuple[int, int] | None:
    """(width, height) from the header of a base64 `data:image/…` URL; None for anything else."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    start = match.end()
    chunk = url[start : start + _HEADER_CHARS]
    try:
        head = base64.b64decode(chunk[: len(chunk) - len(chunk) % 4])
    except (binascii.Error, ValueError):
        return None
    return _png(head) or _gif(head) or _webp(head) or _jpeg(head)


def _png(head: bytes) -> tuple[int, int] | None:
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR" or len(head) < 24:
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _gif(head: bytes) -> tuple[int, int] | None:
    if head[:6] not in (b"GIF87a", b"GIF89a") or len(head) < 10:
        return None
    return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")


def _webp(head: bytes) -> tuple[int, int] | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    kind = head[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 ":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_SOF:
            return int.from_bytes(head[i + 7 : i + 9], "big"), int.from_bytes(head[i + 5 : i + 7], "big")
        i += 2 + int.from_bytes(head[i + 2 : i + 4], "big")
    return None
