# Copyright (c) jclreid contributors. All rights reserved.
"""Procedural pedestrians written in the Market-1501 layout.

Each identity has fixed attributes (skin, hair, top colour and pattern,
bottom colour and type, shoes, bag and its side, logo, body shape). Each
image draws a viewpoint (front, back, side: a backpack shows from the back
and the side, a logo only from the front), a pose jitter and, from its
camera, a background family, illumination, colour cast, blur, noise and
person scale; some images get an occluder. Colours come from small palettes
shared by all identities, so no single colour identifies a person, and the
camera style is strong enough that raw pixels group images by camera.

Everything is drawn from one ``numpy.random.RandomState(seed)`` in a fixed
order, so the same arguments give byte-identical files.
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

# BGR palettes.
SKIN = [(173, 196, 241), (141, 176, 224), (105, 146, 198), (72, 106, 150),
        (50, 73, 105)]
HAIR = [(20, 20, 20), (30, 50, 90), (60, 100, 160), (140, 140, 140),
        (40, 40, 110)]
CLOTH = [(40, 40, 200), (200, 60, 40), (40, 160, 40), (40, 200, 220),
         (230, 230, 230), (35, 35, 35), (150, 60, 150), (0, 120, 240),
         (120, 120, 120), (150, 150, 40), (90, 60, 140), (180, 130, 60)]
SHOES = [(20, 20, 20), (230, 230, 230), (40, 70, 120), (60, 60, 160)]
TOP_PATTERNS = ('plain', 'hstripes', 'vstripes', 'twotone')
BOTTOM_TYPES = ('trousers', 'shorts', 'skirt')
BAGS = ('none', 'backpack', 'shoulder')
VIEWS = ('front', 'back', 'side')
BACKGROUNDS = ('gradient', 'tiles', 'texture', 'stripes', 'grass', 'road')


def _colour(rng: np.random.RandomState, palette) -> Tuple[int, int, int]:
    base = np.array(palette[rng.randint(len(palette))], dtype=np.float64)
    base = base + rng.uniform(-12, 12, 3)
    return tuple(int(v) for v in np.clip(base, 0, 255))


def sample_identity(rng: np.random.RandomState) -> dict:
    """Draw the fixed attributes of one identity."""
    top = _colour(rng, CLOTH)
    return dict(
        skin=_colour(rng, SKIN),
        hair=_colour(rng, HAIR),
        long_hair=bool(rng.rand() < 0.35),
        top=top,
        top2=_colour(rng, CLOTH),
        top_pattern=TOP_PATTERNS[rng.randint(len(TOP_PATTERNS))],
        stripe_period=int(rng.randint(3, 6)),
        bottom=_colour(rng, CLOTH),
        bottom_type=BOTTOM_TYPES[rng.randint(len(BOTTOM_TYPES))],
        shoes=_colour(rng, SHOES),
        bag=BAGS[rng.randint(len(BAGS))],
        bag_colour=_colour(rng, CLOTH),
        bag_side=int(rng.choice([-1, 1])),
        logo=bool(rng.rand() < 0.5),
        logo_colour=_colour(rng, CLOTH),
        width=float(rng.uniform(0.85, 1.2)),
        height=float(rng.uniform(0.92, 1.04)),
    )


def sample_camera(rng: np.random.RandomState, cam: int) -> dict:
    """Draw the style of one camera."""
    return dict(
        background=BACKGROUNDS[cam % len(BACKGROUNDS)],
        bg1=tuple(int(v) for v in rng.randint(30, 226, 3)),
        bg2=tuple(int(v) for v in rng.randint(30, 226, 3)),
        brightness=float(rng.uniform(0.8, 1.2)),
        cast=rng.uniform(0.85, 1.15, 3),
        blur=float(rng.uniform(0.0, 1.2)),
        noise=float(rng.uniform(2.0, 8.0)),
        scale=float(rng.uniform(0.78, 0.95)),
    )


def _background(rng, cam: dict, h: int, w: int) -> np.ndarray:
    c1 = np.array(cam['bg1'], np.float32)
    c2 = np.array(cam['bg2'], np.float32)
    jitter = rng.uniform(-15, 15, 3).astype(np.float32)
    c1, c2 = c1 + jitter, c2 + jitter
    kind = cam['background']
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    if kind == 'gradient':
        img = c1 * (1 - ys) + c2 * ys + 0 * xs
    elif kind == 'tiles':
        size = int(rng.randint(8, 14))
        off = int(rng.randint(size))
        yy, xx = np.mgrid[0:h, 0:w]
        checker = (((yy + off) // size + (xx + off) // size) % 2)[..., None]
        img = np.where(checker == 1, c1, c2).astype(np.float32)
        img = img * (0.8 + 0.2 * ys)
    elif kind == 'texture':
        small = rng.uniform(0, 1, (h // 8 + 1, w // 8 + 1, 1))
        noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        img = c1 + (c2 - c1) * np.clip(noise, 0, 1)[..., None].reshape(
            h, w, 1)
    elif kind == 'stripes':
        period = int(rng.randint(10, 18))
        off = int(rng.randint(period))
        band = (((np.arange(w) + off) // (period // 2)) % 2)[None, :, None]
        img = np.where(band == 1, c1, c2) * np.ones((h, 1, 1), np.float32)
    elif kind == 'grass':
        green = np.array([60, 150, 70], np.float32) * 0.5 + c1 * 0.5
        noise = rng.normal(0, 18, (h, w, 1)).astype(np.float32)
        img = green + noise + (c2 - green) * 0.3 * ys
    else:  # road
        img = np.ones((h, w, 1), np.float32) * (c1 * 0.3 + 100)
        lane = int(rng.randint(w // 4, 3 * w // 4))
        img[:, max(0, lane - 1):lane + 2] = 230
    return np.array(np.broadcast_to(img, (h, w, 3)), dtype=np.float32)


def _rect(img, x0, y0, x1, y1, colour):
    cv2.rectangle(img, (int(round(x0)), int(round(y0))),
                  (int(round(x1)), int(round(y1))), colour, -1)


class _Body:
    """Where the parts of one person go on the canvas (pixels). Placing it
    makes the only random draws of the drawing, in a fixed order."""

    def __init__(self, img: np.ndarray, rng, ident: dict, view: str,
                 scale: float) -> None:
        h, w = img.shape[:2]
        self.view = view
        self.ph = ph = h * scale * ident['height']  # person height
        self.cx = cx = w / 2 + rng.uniform(-0.08, 0.08) * w  # centre column
        self.y0 = y0 = (h - ph) * rng.uniform(0.2, 0.9)  # top row
        self.side = side = view == 'side'
        # -1 (left) or 1 (right) in side view, else 1.
        self.facing = facing = int(rng.choice([-1, 1])) if side else 1
        self.tw = ph * (0.2 if side else 0.32) * ident['width']  # torso
        self.head_r = head_r = ph * 0.07
        self.head_c = (cx + (facing * head_r * 0.2 if side else 0),
                       y0 + ph * 0.085)
        self.spread = rng.uniform(0.0, 0.05) * ph  # of the legs
        self.t0, self.t1 = y0 + ph * 0.16, y0 + ph * 0.52  # torso top, bottom
        self.arm_w = ph * 0.065


def _paint_long_hair(img: np.ndarray, b: _Body, ident: dict) -> None:
    """Hair behind the head (drawn first: the body covers it)."""
    if ident['long_hair'] and b.view != 'front':
        _rect(img, b.head_c[0] - b.head_r, b.head_c[1],
              b.head_c[0] + b.head_r, b.y0 + b.ph * 0.28, ident['hair'])


def _paint_legs(img: np.ndarray, b: _Body, ident: dict) -> None:
    """Legs, shorts, shoes and skirt."""
    cx, tw, ph, side, facing = b.cx, b.tw, b.ph, b.side, b.facing
    spread = b.spread
    leg_top, leg_bot = b.y0 + ph * 0.5, b.y0 + ph * 0.94
    leg_w = tw * (0.42 if not side else 0.6)
    if side:
        legs = [cx - spread, cx + spread]
    else:
        legs = [
            cx - tw / 2 + leg_w / 2 - spread, cx + tw / 2 - leg_w / 2 + spread
        ]
    btype = ident['bottom_type']
    for lx in legs:
        _rect(img, lx - leg_w / 2, leg_top, lx + leg_w / 2, leg_bot,
              ident['skin'] if btype != 'trousers' else ident['bottom'])
        if btype == 'shorts':
            _rect(img, lx - leg_w / 2, leg_top, lx + leg_w / 2,
                  leg_top + (leg_bot - leg_top) * 0.4, ident['bottom'])
        _rect(img, lx - leg_w / 2 - (facing * ph * 0.02 if side else 0),
              leg_bot - ph * 0.035, lx + leg_w / 2 +
              (facing * ph * 0.02 if side else 0), leg_bot, ident['shoes'])
    if btype == 'skirt':
        pts = np.array([[cx - tw / 2, leg_top], [cx + tw / 2, leg_top],
                        [cx + tw * 0.75, b.y0 + ph * 0.72],
                        [cx - tw * 0.75, b.y0 + ph * 0.72]], np.int32)
        cv2.fillPoly(img, [pts], ident['bottom'])


def _paint_side_backpack(img: np.ndarray, b: _Body, ident: dict) -> None:
    """A backpack behind the torso in side view."""
    if ident['bag'] == 'backpack' and b.side:
        _rect(img, b.cx - b.facing * b.tw * 0.5 - b.facing * b.tw * 0.55,
              b.y0 + b.ph * 0.19, b.cx - b.facing * b.tw * 0.5,
              b.y0 + b.ph * 0.45, ident['bag_colour'])


def _paint_arm(img: np.ndarray, b: _Body, ident: dict, ax: float) -> None:
    """One arm centred on column ``ax``: sleeve, then bare forearm."""
    _rect(img, ax - b.arm_w / 2, b.t0 + b.ph * 0.01, ax + b.arm_w / 2,
          b.t0 + b.ph * 0.17, ident['top'])
    _rect(img, ax - b.arm_w / 2, b.t0 + b.ph * 0.17, ax + b.arm_w / 2,
          b.t0 + b.ph * 0.31, ident['skin'])


def _paint_torso(img: np.ndarray, b: _Body, ident: dict) -> None:
    """Torso with its pattern, and the arms (beside it from the front and
    the back, over it from the side)."""
    cx, tw, t0, t1 = b.cx, b.tw, b.t0, b.t1
    if not b.side:
        for s in (-1, 1):
            _paint_arm(img, b, ident, cx + s * (tw / 2 + b.arm_w / 2))
    _rect(img, cx - tw / 2, t0, cx + tw / 2, t1, ident['top'])
    pattern = ident['top_pattern']
    period = max(2, int(ident['stripe_period'] * b.ph / 60))
    if pattern == 'hstripes':
        for y in np.arange(t0, t1, 2 * period):
            _rect(img, cx - tw / 2, y, cx + tw / 2, min(y + period - 1, t1),
                  ident['top2'])
    elif pattern == 'vstripes':
        for x in np.arange(cx - tw / 2, cx + tw / 2, 2 * period):
            _rect(img, x, t0, min(x + period - 1, cx + tw / 2), t1,
                  ident['top2'])
    elif pattern == 'twotone':
        _rect(img, cx - tw / 2, (t0 + t1) / 2, cx + tw / 2, t1,
              ident['top2'])
    if b.side:
        _paint_arm(img, b, ident, cx + b.facing * tw * 0.1)


def _paint_accessories(img: np.ndarray, b: _Body, ident: dict) -> None:
    """View-dependent accessories: logo, backpack straps or back, shoulder
    bag."""
    cx, tw, t0, t1, view = b.cx, b.tw, b.t0, b.t1, b.view
    if view == 'front' and ident['logo']:
        r = max(2, int(tw * 0.18))
        cv2.circle(img, (int(cx), int(t0 + (t1 - t0) * 0.3)), r,
                   ident['logo_colour'], -1)
    if ident['bag'] == 'backpack':
        if view == 'back':
            _rect(img, cx - tw * 0.4, t0 + b.ph * 0.03, cx + tw * 0.4,
                  t0 + (t1 - t0) * 0.85, ident['bag_colour'])
        elif view == 'front':
            for s in (-1, 1):
                _rect(img, cx + s * tw * 0.3 - 1, t0, cx + s * tw * 0.3 + 1,
                      t0 + (t1 - t0) * 0.5, ident['bag_colour'])
    elif ident['bag'] == 'shoulder':
        bag_side = ident['bag_side'] * (-1 if view == 'back' else 1)
        if b.side:
            bag_side = 0
        bx = cx + bag_side * (tw / 2 + b.arm_w * 0.8)
        bw = tw * 0.45
        _rect(img, bx - bw / 2, b.y0 + b.ph * 0.42, bx + bw / 2,
              b.y0 + b.ph * 0.58, ident['bag_colour'])
        cv2.line(img, (int(cx - bag_side * tw / 3), int(t0)),
                 (int(bx), int(b.y0 + b.ph * 0.42)), ident['bag_colour'],
                 max(1, int(b.ph / 60)))


def _paint_head(img: np.ndarray, b: _Body, ident: dict) -> None:
    """Head and hair (all hair from the back)."""
    centre = (int(b.head_c[0]), int(b.head_c[1]))
    cv2.circle(img, centre, int(b.head_r), ident['skin'], -1)
    cv2.ellipse(img, (int(b.head_c[0]), int(b.head_c[1] - b.head_r * 0.2)),
                (int(b.head_r * 1.05), int(b.head_r * 0.85)), 0, 180, 360,
                ident['hair'], -1)
    if b.view == 'back':
        cv2.circle(img, centre, int(b.head_r), ident['hair'], -1)


def _draw_person(img: np.ndarray, rng, ident: dict, view: str,
                 scale: float) -> None:
    """Paint one person, part by part, back to front."""
    body = _Body(img, rng, ident, view, scale)
    _paint_long_hair(img, body, ident)
    _paint_legs(img, body, ident)
    _paint_side_backpack(img, body, ident)
    _paint_torso(img, body, ident)
    _paint_accessories(img, body, ident)
    _paint_head(img, body, ident)


def render_person(rng: np.random.RandomState, ident: dict, cam: dict,
                  img_size: Tuple[int, int]) -> np.ndarray:
    """Render one image (BGR uint8, ``img_size`` = (H, W))."""
    h, w = img_size
    H, W = 2 * h, 2 * w  # draw at twice the size, then downsample
    img = _background(rng, cam, H, W)
    view = VIEWS[rng.randint(3)]
    scale = cam['scale'] * rng.uniform(0.95, 1.05)
    _draw_person(img, rng, ident, view, scale)
    if rng.rand() < 0.15:  # occluder: a pole, a car, another passer-by
        ow = rng.uniform(0.15, 0.5) * W
        oh = rng.uniform(0.2, 0.45) * H
        ox = rng.uniform(-0.1, 1.0) * W - ow / 2
        oy = H - oh if rng.rand() < 0.6 else rng.uniform(0, H - oh)
        _rect(img, ox, oy, ox + ow, oy + oh, _colour(rng, CLOTH))
    img = img * cam['brightness'] * rng.uniform(0.92, 1.08)
    img = img * cam['cast'][None, None, :]
    if cam['blur'] > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), cam['blur'] * 2)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    img = img + rng.normal(0, cam['noise'], img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _write(path: str, img: np.ndarray, quality: int) -> None:
    ok = cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f'could not write {path!r}')


def generate_persons(out_dir: str,
                     num_train_ids: int = 100,
                     num_test_ids: int = 100,
                     num_cameras: int = 6,
                     img_size: Tuple[int, int] = (64, 32),
                     images_per_camera: Tuple[int, int] = (2, 3),
                     cameras_per_id: Tuple[int, int] = (2, 4),
                     num_distractors: int = 50,
                     seed: int = 0,
                     jpeg_quality: int = 95) -> Dict[str, int]:
    """Write a synthetic re-ID dataset in the Market-1501 layout.

    Train identities are ``1..num_train_ids``, test identities follow; the
    query holds one image per (test identity, camera), the gallery the other
    images of the test identities plus ``num_distractors`` distractors
    (pid ``0000``).

    Args:
        out_dir (str): Folder to write ``bounding_box_train``, ``query``
            and ``bounding_box_test`` into (created).
        num_train_ids (int): Training identities. Defaults to 100.
        num_test_ids (int): Test identities. Defaults to 100.
        num_cameras (int): Cameras. Defaults to 6.
        img_size (tuple[int, int]): (H, W) of the images. Defaults to
            (64, 32).
        images_per_camera (tuple[int, int]): Inclusive range of images of
            an identity in one camera (a query image is added for test
            identities). Defaults to (2, 3).
        cameras_per_id (tuple[int, int]): Inclusive range of cameras an
            identity appears in (at least 2). Defaults to (2, 4).
        num_distractors (int): Gallery distractors. Defaults to 50.
        seed (int): Random seed. Defaults to 0.
        jpeg_quality (int): JPEG quality. Defaults to 95.

    Returns:
        dict: Number of images per folder.
    """
    if num_cameras < 2 or cameras_per_id[0] < 2:
        raise ValueError('every identity must be seen by >= 2 cameras '
                         f'(num_cameras={num_cameras}, '
                         f'cameras_per_id={cameras_per_id})')
    if num_cameras > 9:
        raise ValueError('the Market-1501 name pattern holds cameras 1-9, '
                         f'got num_cameras={num_cameras}')
    rng = np.random.RandomState(seed)
    cams = [sample_camera(rng, c) for c in range(num_cameras)]
    dirs = dict(
        train=osp.join(out_dir, 'bounding_box_train'),
        query=osp.join(out_dir, 'query'),
        gallery=osp.join(out_dir, 'bounding_box_test'))
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    counts = dict(train=0, query=0, gallery=0)
    frame = 0

    def emit(split: str, pid: int, cam_idx: int, ident: dict) -> None:
        nonlocal frame
        frame += 1
        img = render_person(rng, ident, cams[cam_idx], img_size)
        name = f'{pid:04d}_c{cam_idx + 1}s1_{frame:06d}_00.jpg'
        _write(osp.join(dirs[split], name), img, jpeg_quality)
        counts[split] += 1

    total_ids = num_train_ids + num_test_ids
    for pid in range(1, total_ids + 1):
        ident = sample_identity(rng)
        n_cams = rng.randint(cameras_per_id[0],
                             min(cameras_per_id[1], num_cameras) + 1)
        cam_ids = sorted(rng.choice(num_cameras, n_cams, replace=False))
        is_train = pid <= num_train_ids
        for c in cam_ids:
            n_img = rng.randint(images_per_camera[0],
                                images_per_camera[1] + 1)
            if is_train:
                for _ in range(n_img):
                    emit('train', pid, c, ident)
            else:
                emit('query', pid, c, ident)
                for _ in range(n_img):
                    emit('gallery', pid, c, ident)
    for _ in range(num_distractors):
        emit('gallery', 0, int(rng.randint(num_cameras)),
             sample_identity(rng))
    return counts
