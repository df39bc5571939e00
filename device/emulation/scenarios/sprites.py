"""What actors look like: small textured sprites with an alpha mask, scaled per frame; or a real
photograph (`imagery/`, see its README for each one's source and licence), for an actor the
classifier should recognise."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ASPECT = {"person": 0.38, "package": 1.3, "car": 2.4, "animal": 1.6, "insect": 1.0}
REFERENCE = 240  # sprite height in px before scaling
IMAGERY = Path(__file__).parent / "imagery"
PHOTOS = ("astronaut", "chelsea")  # imagery/NAME.jpg


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # BGR uint8
    alpha: np.ndarray  # uint8 0..255, same height and width

    @functools.cached_property
    def weight(self) -> np.ndarray:
        """The alpha as float32 0..1, made once: what cv2.blendLinear takes."""
        return self.alpha.astype(np.float32) * np.float32(1 / 255)


def make(kind: str, colour: tuple[int, int, int], seed: int) -> Sprite:
    rng = np.random.default_rng(seed)
    h = REFERENCE
    w = max(8, int(h * ASPECT[kind]))
    img = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    body = np.array(colour, np.float32)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (h, w)).astype(np.float32), (5, 5), 0)
    if kind == "person":
        cv2.ellipse(alpha, (w // 2, h // 10), (w // 5, h // 11), 0, 0, 360, 255, -1)  # head
        cv2.rectangle(alpha, (w // 8, h // 5), (w - w // 8, h * 3 // 5), 255, -1)  # coat
        cv2.rectangle(alpha, (w // 5, h * 3 // 5), (w // 2 - 2, h - 1), 255, -1)  # legs
        cv2.rectangle(alpha, (w // 2 + 2, h * 3 // 5), (w - w // 5, h - 1), 255, -1)
        img[:] = np.clip(body + texture[..., None], 0, 255).astype(np.uint8)
        img[: h // 5] = (120, 150, 200)  # skin and hair
        img[: h // 25] = (30, 40, 50)
        img[h * 3 // 5 :] = np.clip(np.array((45, 40, 35)) + texture[h * 3 // 5 :, :, None], 0, 255)
        cv2.line(img, (w // 2, h // 5), (w // 2, h * 3 // 5), (20, 20, 20), 2)  # zip
    elif kind == "package":
        alpha[:] = 255
        img[:] = np.clip(np.array((70, 130, 190)) + texture[..., None] * 0.5, 0, 255)
        img[:, w // 2 - w // 16 : w // 2 + w // 16] = (200, 210, 215)  # tape
        cv2.rectangle(img, (0, 0), (w - 1, h - 1), (40, 70, 110), 3)
    elif kind == "car":
        cv2.rectangle(alpha, (0, h // 3), (w - 1, h * 5 // 6), 255, -1)
        cv2.rectangle(alpha, (w // 5, 0), (w * 4 // 5, h // 3), 255, -1)
        img[:] = np.clip(body + texture[..., None] * 0.4, 0, 255).astype(np.uint8)
        img[h // 12 : h // 3, w // 4 : w * 3 // 4] = (60, 50, 40)  # windows
        for cx in (w // 5, w * 4 // 5):
            cv2.circle(alpha, (cx, h * 5 // 6), h // 7, 255, -1)
            cv2.circle(img, (cx, h * 5 // 6), h // 7, (20, 20, 20), -1)
    elif kind == "animal":
        cv2.ellipse(alpha, (w // 2, h // 2), (w * 2 // 5, h // 4), 0, 0, 360, 255, -1)
        cv2.circle(alpha, (w * 7 // 8, h // 3), h // 6, 255, -1)
        cv2.rectangle(alpha, (w // 4, h // 2), (w // 4 + w // 12, h - 1), 255, -1)
        cv2.rectangle(alpha, (w * 2 // 3, h // 2), (w * 2 // 3 + w // 12, h - 1), 255, -1)
        img[:] = np.clip(body + texture[..., None], 0, 255).astype(np.uint8)
    else:  # insect near the lens: a dark, out-of-focus blob
        cv2.ellipse(alpha, (w // 2, h // 2), (w // 3, h // 4), 20, 0, 360, 255, -1)
        alpha[:] = cv2.GaussianBlur(alpha, (0, 0), h / 8)
        img[:] = (25, 25, 25)
    return Sprite(img, alpha)


@functools.cache
def photo(name: str) -> Sprite:
    """A real photograph as a sprite: its own proportions, REFERENCE px tall, edges feathered
    into the scene (a rounded outline rather than a rectangle's hard edges)."""
    image = cv2.imread(str(IMAGERY / f"{name}.jpg"))
    if image is None:
        raise ValueError(f"cannot read the photograph {IMAGERY / name}.jpg")
    h = REFERENCE
    w = max(8, round(image.shape[1] * h / image.shape[0]))
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    alpha = np.zeros((h, w), np.uint8)
    edge = max(2, min(w, h) // 10)
    cv2.rectangle(alpha, (edge, edge), (w - 1 - edge, h - 1), 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), edge / 2)
    alpha[h - edge :] = alpha[h - edge - 1]  # feet (or the bottom edge) on the ground: not faded
    return Sprite(image, alpha)


def aspect(kind: str, image: str | None) -> float:
    """Width over height of an actor's picture."""
    if image is None:
        return ASPECT[kind]
    sprite = photo(image)
    return sprite.alpha.shape[1] / sprite.alpha.shape[0]


def paste(frame: np.ndarray, sprite: Sprite, box: tuple[int, int, int, int]) -> None:
    """Blend `sprite`, scaled to `box` (x, y, w, h in px), into `frame` in place (clipped)."""
    x, y, w, h = box
    if w < 1 or h < 1:
        return
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    # Scale only the part of the sprite that lands in the frame (a close-up is mostly outside).
    sh, sw = sprite.alpha.shape
    sx0, sx1 = (x0 - x) * sw // w, max((x0 - x) * sw // w + 1, -(-(x1 - x) * sw // w))
    sy0, sy1 = (y0 - y) * sh // h, max((y0 - y) * sh // h + 1, -(-(y1 - y) * sh // h))
    size = (x1 - x0, y1 - y0)
    image = cv2.resize(sprite.image[sy0:sy1, sx0:sx1], size, interpolation=cv2.INTER_LINEAR)
    weight = cv2.resize(sprite.weight[sy0:sy1, sx0:sx1], size, interpolation=cv2.INTER_LINEAR)
    roi = frame[y0:y1, x0:x1]
    # One pass in OpenCV instead of float arrays in numpy: a close-up covers the whole frame.
    roi[:] = cv2.blendLinear(image, roi, weight, 1.0 - weight)
