"""The Blender add-on's image pixels -> PNG (addons/blender/images.py), read back by Pillow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from addons.blender import images


def test_blender_pixels_become_a_png_the_right_way_up() -> None:
    """Blender's bottom-first float rows come out top-first, 8-bit, alpha kept."""
    height, width = 3, 4
    pixels = np.zeros((height, width, 4), np.float32)
    pixels[..., 3] = 1.0
    pixels[0, 0] = (1.0, 0.0, 0.0, 1.0)  # Blender's bottom-left pixel
    pixels[2, 3] = (0.0, 0.0, 1.0, 0.5)  # its top-right one
    png = images.png_from_pixels(pixels.ravel(), width, height)
    got = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert got.shape == (3, 4, 4)
    assert tuple(got[2, 0]) == (255, 0, 0, 255)  # bottom-left, counted from the top
    assert tuple(got[0, 3]) == (0, 0, 255, 128)


def test_a_large_picture_is_sent_at_most_max_side_a_side() -> None:
    width, height = images.MAX_SIDE * 2 + 10, 100
    png = images.png_from_pixels(np.ones(width * height * 4, np.float32), width, height)
    assert max(Image.open(io.BytesIO(png)).size) <= images.MAX_SIDE


def test_pixels_that_do_not_fit_the_size_say_so() -> None:
    with pytest.raises(ValueError, match="12 values for 2 x 2 RGBA pixels"):
        images.png_from_pixels(np.zeros(12, np.float32), 2, 2)
