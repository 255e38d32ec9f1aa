"""An image's pixels -> the PNG bytes a `trace` request carries (Blender ships numpy; no bpy).

Blender keeps an image's pixels as floats, bottom row first; the protocol wants a PNG or JPEG
of at most MAX_SIDE pixels a side. A picture whose own file is a PNG or JPEG is sent as that
file (gpencil.image_bytes); this is for the others (generated, painted, EXR, ...).
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

MAX_SIDE = 2048  # pixels a side sent; the server traces at 1024 anyway
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_pixels(pixels: np.ndarray, width: int, height: int) -> bytes:
    """Blender's flat RGBA floats (0..1, bottom row first) as an 8-bit RGBA PNG, top row first,
    every `step`-th pixel each way so that no side is over MAX_SIDE."""
    if width <= 0 or height <= 0 or pixels.size != width * height * 4:
        raise ValueError(
            f"the image has {pixels.size} values for {width} x {height} RGBA pixels; "
            "reload it in Blender and trace again"
        )
    rgba = np.clip(pixels.reshape(height, width, 4)[::-1], 0.0, 1.0)
    step = math.ceil(max(width, height) / MAX_SIDE)
    rgba = (rgba[::step, ::step] * 255.0 + 0.5).astype(np.uint8)
    h, w = rgba.shape[:2]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgba.reshape(h, w * 4)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (
        PNG_MAGIC
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )
