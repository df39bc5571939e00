"""A procedural porch, seen from the door: sky, street, lawn with a bush, path, steps, walls."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Region:
    """A rectangle in pixels: x, y, width, height."""

    x: int
    y: int
    w: int
    h: int


def texture(rng: np.random.Generator, shape: tuple[int, int], scale: int, amp: float) -> np.ndarray:
    """Smooth random texture (float32, mean 0) at a spatial scale of about `scale` px."""
    small = rng.normal(0, 1, (max(2, shape[0] // scale), max(2, shape[1] // scale)))
    big = cv2.resize(small.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return big * amp


def porch(width: int, height: int, seed: int) -> tuple[np.ndarray, Region]:
    """The background image (BGR uint8) and where its bush is (for the foliage effect)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    fine = texture(rng, (height, width), 3, 10.0)
    coarse = texture(rng, (height, width), 24, 12.0)

    def fill(y0: float, y1: float, colour: tuple[int, int, int], texture: np.ndarray) -> None:
        rows = slice(int(y0 * height), int(y1 * height))
        img[rows] = np.array(colour, np.float32) + texture[rows, :, None]

    fill(0.0, 0.2, (215, 185, 150), coarse * 0.3)  # sky, BGR
    fill(0.2, 0.32, (95, 95, 100), fine * 0.8)  # street
    fill(0.32, 1.0, (60, 140, 75), fine + coarse)  # lawn
    kerb = int(0.32 * height)
    img[kerb - 3 : kerb + 2] = (170, 170, 175)
    # Across the street: houses with windows.
    for i, x0 in enumerate(range(0, width, max(40, width // 6))):
        top = int(height * (0.08 + 0.03 * (i % 3)))
        colour = np.array((120 + 20 * (i % 3), 130, 160 - 15 * (i % 2)), np.float32)
        img[top : int(0.2 * height), x0 + 4 : x0 + width // 7] = colour
        wy = top + (int(0.2 * height) - top) // 3
        img[wy : wy + max(3, height // 60), x0 + 12 : x0 + 24] = (60, 70, 80)
    # The path: a trapezoid narrowing towards the street.
    path = np.array(
        [
            [0.46 * width, 0.32 * height],
            [0.54 * width, 0.32 * height],
            [0.68 * width, 0.86 * height],
            [0.32 * width, 0.86 * height],
        ],
        np.int32,
    )
    path_mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(path_mask, [path], 255)
    stone = np.array((150, 155, 160), np.float32) + fine[..., None] * 1.5
    img[path_mask > 0] = stone[path_mask > 0]
    # Steps and porch floor: planks.
    y_steps = int(0.86 * height)
    img[y_steps:] = np.array((70, 100, 135), np.float32) + fine[y_steps:, :, None]
    for y in range(y_steps, height, max(4, height // 40)):
        img[y : y + 1] -= 35
    # Side walls: brick on the left, the door frame on the right.
    wall = int(0.1 * width)
    img[:, :wall] = np.array((70, 80, 150), np.float32) + fine[:, :wall, None]
    for y in range(0, height, max(6, height // 30)):
        img[y : y + 1, :wall] = (180, 180, 180)
    door = width - int(0.1 * width)
    img[:, door:] = np.array((40, 60, 100), np.float32) + coarse[:, door:, None] * 0.5
    img[:, door : door + 4] = (230, 230, 230)
    # A bush on the lawn, left of the path.
    bush = Region(int(0.14 * width), int(0.36 * height), int(0.16 * width), int(0.18 * height))
    leaves = texture(rng, (bush.h, bush.w), 2, 35.0)
    cy, cx = bush.h / 2, bush.w / 2
    yy, xx = np.mgrid[0 : bush.h, 0 : bush.w]
    inside = ((yy - cy) / (bush.h / 2)) ** 2 + ((xx - cx) / (bush.w / 2)) ** 2 <= 1
    patch = img[bush.y : bush.y + bush.h, bush.x : bush.x + bush.w]
    patch[inside] = np.array((35, 100, 45), np.float32) + leaves[inside][:, None]
    return np.clip(img, 0, 255).astype(np.uint8), bush
