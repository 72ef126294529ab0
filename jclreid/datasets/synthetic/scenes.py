# Copyright (c) jclreid contributors. All rights reserved.
"""Procedural aerial scenes written as class folders (the UCM / AID
layout).

Each class is a small procedure (field stripes, tree crowns, waves, roofs,
cars, dunes ...); every image draws a rotation, a scale, a season-like
colour shift and sensor noise. Deterministic from the seed.
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

SCENE_CLASSES = ('baseball_diamond', 'beach', 'desert', 'farmland', 'forest',
                 'parking_lot', 'residential', 'river', 'road', 'water')


def _noise(rng, size: int, cells: int) -> np.ndarray:
    small = rng.uniform(0, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _fill(size, colour) -> np.ndarray:
    return np.ones((size, size, 3), np.float32) * np.array(colour, np.float32)


def _draw_class(rng, name: str, s: int) -> np.ndarray:
    """Draw one scene of class ``name`` on an ``s x s`` BGR float canvas."""
    grass = (60, 140, 80)
    if name == 'farmland':
        img = _fill(s, grass)
        width = int(rng.randint(6, 14))
        palette = [(60, 150, 90), (50, 120, 140), (40, 170, 150),
                   (70, 110, 100)]
        for x in range(0, s, width):
            colour = palette[rng.randint(len(palette))]
            img[:, x:x + width] = colour
            img[:, x:x + 1] *= 0.7
    elif name == 'forest':
        img = _fill(s, (40, 80, 40))
        for _ in range(s * s // 40):
            c = (int(rng.randint(s)), int(rng.randint(s)))
            g = rng.uniform(70, 120)
            cv2.circle(img, c, int(rng.randint(3, 6)), (g * 0.4, g, g * 0.45),
                       -1)
    elif name == 'water':
        img = _fill(s, (140, 90, 40)) + 25 * _noise(rng, s, 6)[..., None]
        for y in range(0, s, int(rng.randint(5, 9))):
            cv2.line(img, (0, y), (s, y + int(rng.randint(-3, 4))),
                     (160, 110, 60), 1)
    elif name == 'beach':
        img = _fill(s, (150, 200, 220))
        xs = np.arange(s)
        shore = (s * 0.5 + s * 0.1 * np.sin(xs / s * 2 * np.pi *
                                            rng.uniform(0.5, 1.5))).astype(int)
        for x in xs:
            img[shore[x]:, x] = (140, 100, 40)
            img[max(shore[x] - 2, 0):shore[x], x] = (230, 230, 230)
    elif name == 'desert':
        img = _fill(s, (120, 180, 210))
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        dunes = np.sin((xx * 0.3 + yy) / s * 2 * np.pi * rng.uniform(2, 4))
        img = img * (0.85 + 0.15 * dunes[..., None])
    elif name == 'residential':
        img = _fill(s, (150, 150, 150))
        step = int(rng.randint(12, 18))
        for y in range(2, s - 6, step):
            for x in range(2, s - 6, step):
                roof = [(60, 60, 170), (90, 90, 90), (80, 110, 160)][
                    rng.randint(3)]
                cv2.rectangle(img, (x, y), (x + step - 6, y + step - 6), roof,
                              -1)
                cv2.circle(img, (x + step - 3, y + 2), 2, grass, -1)
    elif name == 'parking_lot':
        img = _fill(s, (95, 95, 95))
        for y in range(4, s - 6, 10):
            cv2.line(img, (0, y - 2), (s, y - 2), (220, 220, 220), 1)
            for x in range(2, s - 4, 6):
                if rng.rand() < 0.75:
                    car = tuple(int(v) for v in rng.randint(20, 240, 3))
                    cv2.rectangle(img, (x, y), (x + 3, y + 6), car, -1)
    elif name == 'river':
        img = _fill(s, grass) + 20 * _noise(rng, s, 5)[..., None]
        ys = np.arange(s)
        centre = s / 2 + s * 0.2 * np.sin(ys / s * 2 * np.pi *
                                          rng.uniform(0.5, 1.2))
        half = rng.uniform(4, 8)
        for y in ys:
            x0, x1 = int(centre[y] - half), int(centre[y] + half)
            img[y, max(x0, 0):max(x1, 0)] = (130, 90, 50)
    elif name == 'road':
        img = _fill(s, grass) + 25 * _noise(rng, s, 8)[..., None]
        w = int(rng.randint(6, 10))
        c = s // 2
        img[:, c - w:c + w] = (110, 110, 110)
        for y in range(0, s, 8):
            img[y:y + 4, c - 1:c + 1] = (230, 230, 230)
    elif name == 'baseball_diamond':
        img = _fill(s, grass) + 15 * _noise(rng, s, 6)[..., None]
        c = s // 2
        r = int(s * rng.uniform(0.25, 0.35))
        pts = np.array([[c, c - r], [c + r, c], [c, c + r], [c - r, c]],
                       np.int32)
        cv2.fillPoly(img, [pts], (80, 130, 180))
        cv2.circle(img, (c, c), max(2, r // 4), grass, -1)
    else:
        raise ValueError(f'unknown scene class {name!r}')
    return img


def render_scene(rng: np.random.RandomState, name: str,
                 img_size: int) -> np.ndarray:
    """Render one scene (BGR uint8, ``img_size`` square)."""
    big = int(img_size * 1.5)
    img = _draw_class(rng, name, big)
    angle = rng.uniform(0, 360)
    scale = rng.uniform(0.9, 1.3)
    m = cv2.getRotationMatrix2D((big / 2, big / 2), angle, scale)
    img = cv2.warpAffine(img, m, (big, big), borderMode=cv2.BORDER_REFLECT)
    off = (big - img_size) // 2
    img = img[off:off + img_size, off:off + img_size]
    # Season: greens drift to yellow/brown; global illumination.
    season = rng.uniform(0, 1)
    shift = np.array([-25 * season, 10 * season, 40 * season], np.float32)
    greenness = np.clip((img[..., 1] - img[..., 2]) / 80.0, 0, 1)[..., None]
    img = img + greenness * shift
    img = img * rng.uniform(0.8, 1.2) * rng.uniform(0.9, 1.1, 3)
    img = img + rng.normal(0, rng.uniform(2, 8), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def generate_scenes(out_dir: str,
                    classes: Tuple[str, ...] = SCENE_CLASSES,
                    images_per_class: int = 60,
                    img_size: int = 64,
                    seed: int = 0) -> Dict[str, int]:
    """Write synthetic aerial scenes as ``out_dir/<class>/<class>_NNNN.png``.

    Args:
        out_dir (str): Output folder (created).
        classes (tuple[str]): Scene classes, from :data:`SCENE_CLASSES`.
        images_per_class (int): Images per class. Defaults to 60.
        img_size (int): Side of the square images. Defaults to 64.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: Number of images per class.
    """
    unknown = set(classes) - set(SCENE_CLASSES)
    if unknown:
        raise ValueError(f'unknown scene classes {sorted(unknown)}; '
                         f'available: {SCENE_CLASSES}')
    rng = np.random.RandomState(seed)
    counts = {}
    for name in classes:
        folder = osp.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        for i in range(images_per_class):
            img = render_scene(rng, name, img_size)
            path = osp.join(folder, f'{name}_{i:04d}.png')
            if not cv2.imwrite(path, img):
                raise OSError(f'could not write {path!r}')
        counts[name] = images_per_class
    return counts
