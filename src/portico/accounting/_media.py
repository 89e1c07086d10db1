"""Token estimates for images and other media parts, from each vendor's published rules.

Image sizes are read from the header of base64 `data:` URLs (PNG, GIF, JPEG); a remote URL is
never fetched, so its size is unknown and a typical 1024x1024 image is assumed.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Final, assert_never

from portico.accounting._families import Family

_HEAD_CHARS: Final = 87_384     # base64 chars for the first 64 KiB, where JPEG's SOF sits
_UNKNOWN: Final = (1024, 1024)


def _decode_head(url: str) -> bytes | None:
    if not url.startswith("data:"):
        return None
    _, _, payload = url.partition(",")
    head = payload[:_HEAD_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        return base64.b64decode(head, validate=False)
    except binascii.Error:
        return None


def _jpeg_size(b: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(b):
        if b[i] != 0xFF:
            return None
        marker = b[i + 1]
        seg_len = struct.unpack(">H", b[i + 2:i + 4])[0]
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return (w, h)
        i += 2 + seg_len
    return None


def image_size(url: str) -> tuple[int, int] | None:
    """(width, height) of a base64 data-URL image, or None when unknown."""
    b = _decode_head(url)
    if b is None:
        return None
    if b[:8] == b"\x89PNG\r\n\x1a\n" and len(b) >= 24:
        w, h = struct.unpack(">II", b[16:24])
        return (w, h)
    if b[:6] in (b"GIF87a", b"GIF89a") and len(b) >= 10:
        w, h = struct.unpack("<HH", b[6:10])
        return (w, h)
    if b[:2] == b"\xff\xd8":
        return _jpeg_size(b)
    return None


def _openai_tiles(w: int, h: int, base: int, per_tile: int) -> int:
    # Fit in 2048x2048, then scale the short side down to 768, count 512px tiles.
    if max(w, h) > 2048:
        r = 2048 / max(w, h)
        w, h = int(w * r), int(h * r)
    if min(w, h) > 768:
        r = 768 / min(w, h)
        w, h = int(w * r), int(h * r)
    return base + per_tile * math.ceil(w / 512) * math.ceil(h / 512)


def _openai_patches(w: int, h: int, multiplier_pct: int) -> int:
    # gpt-4.1-mini/nano, o4-mini: 32px patches, capped at 1536, times a model multiplier.
    patches = math.ceil(w / 32) * math.ceil(h / 32)
    if patches > 1536:
        r = math.sqrt(32 * 32 * 1536 / (w * h))
        patches = min(1536, math.ceil(w * r / 32) * math.ceil(h * r / 32))
    return -(-patches * multiplier_pct // 100)


def _openai_image(model: str, detail: str | None, w: int, h: int) -> int:
    for prefix, mult in (("gpt-4.1-mini", 162), ("gpt-4.1-nano", 246), ("o4-mini", 172)):
        if prefix in model:
            return _openai_patches(w, h, mult)
    base, tile = (2833, 5667) if "gpt-4o-mini" in model else (85, 170)
    if detail == "low":
        return base
    return _openai_tiles(w, h, base, tile)


def image_tokens(family: Family, model: str, url: str, detail: str | None) -> int:
    """Estimated prompt tokens of one image part."""
    w, h = image_size(url) or _UNKNOWN
    w, h = max(w, 1), max(h, 1)
    match family:
        case Family.OPENAI:
            return _openai_image(model.lower(), detail, w, h)
        case Family.ANTHROPIC:
            # Anthropic: tokens ~= w*h/750, long edge scaled to at most 1568 px (~1600 tokens).
            if max(w, h) > 1568:
                r = 1568 / max(w, h)
                w, h = int(w * r), int(h * r)
            return min(1600, math.ceil(w * h / 750))
        case Family.GEMINI:
            # Gemini: 258 tokens if both sides <= 384 px, else 258 per 768x768 tile.
            if w <= 384 and h <= 384:
                return 258
            return 258 * math.ceil(w / 768) * math.ceil(h / 768)
        case Family.OTHER:
            # Pixtral-style 16px patches, capped at a 1024x1024 image.
            return min(4096, math.ceil(w / 16) * math.ceil(h / 16))
        case _:
            assert_never(family)


def audio_tokens(b64_len: int) -> int:
    """OpenAI audio input is ~10 tokens per second; assume 16 kB/s (128 kbit/s) of audio."""
    seconds = (b64_len * 3 // 4) / 16_000
    return max(1, math.ceil(seconds * 10))


def file_tokens(b64_len: int) -> int:
    """A rough document estimate: one token per 4 bytes of file, at least one page image."""
    return max(85, (b64_len * 3 // 4) // 4)
