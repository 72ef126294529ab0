# Copyright (c) jclreid contributors. All rights reserved.
"""Image grids with captions and coloured frames, written as PNG.

The one grid drawer of jclreid: ranked lists, contact sheets of groups and
dataset browsers compose their pictures from :func:`make_grid`.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from jclreid.utils.fileio import atomic_write

__all__ = ['make_grid', 'save_png', 'letterbox', 'GREEN', 'RED']

#: BGR colours of a right / wrong match frame.
GREEN = (0, 200, 0)
RED = (0, 0, 230)

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BACKGROUND = 255  # canvas
_PAD = 224  # letterbox bars inside a cell
_TEXT = (0, 0, 0)


def _as_bgr(img: np.ndarray, where: str) -> np.ndarray:
    """Check one cell image: (H, W, 3) or (H, W) uint8 -> (H, W, 3)."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f'make_grid: {where} must be a numpy array (H, W, 3) '
                        f'BGR uint8 or None, got {type(img).__name__}')
    if img.dtype != np.uint8:
        raise TypeError(f'make_grid: {where} must be uint8, got {img.dtype}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] == 0 or \
            img.shape[1] == 0:
        raise ValueError(f'make_grid: {where} must have shape (H, W, 3), '
                         f'got {img.shape}')
    return img


def letterbox(img: np.ndarray, size: Tuple[int, int],
              pad_value: int = _PAD) -> np.ndarray:
    """Resize ``img`` to fit ``size`` keeping its aspect ratio; the rest of
    the cell is filled with ``pad_value``.

    Args:
        img (np.ndarray): (H, W, 3) uint8 image.
        size (tuple[int, int]): Cell ``(h, w)``.
        pad_value (int): Grey level of the bars. Defaults to 224.

    Returns:
        np.ndarray: (h, w, 3) uint8 cell, the image centred.
    """
    cell_h, cell_w = size
    h, w = img.shape[:2]
    scale = min(cell_h / h, cell_w / w)
    new_h = max(1, min(cell_h, int(round(h * scale))))
    new_w = max(1, min(cell_w, int(round(w * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(img, (new_w, new_h), interpolation=interp)
    cell = np.full((cell_h, cell_w, 3), pad_value, np.uint8)
    top, left = (cell_h - new_h) // 2, (cell_w - new_w) // 2
    cell[top:top + new_h, left:left + new_w] = resized
    return cell


def _nested(value, rows: list, name: str) -> list:
    """Check that ``value`` (None or rows of entries) matches ``rows``."""
    if value is None:
        return [[None] * len(r) for r in rows]
    if len(value) != len(rows):
        raise ValueError(f'make_grid: {name} has {len(value)} rows, '
                         f'images have {len(rows)}')
    out = []
    for i, (v, r) in enumerate(zip(value, rows)):
        if v is None:
            v = [None] * len(r)
        if len(v) != len(r):
            raise ValueError(f'make_grid: {name}[{i}] has {len(v)} entries, '
                             f'rows[{i}] has {len(r)} images')
        out.append(list(v))
    return out


def _text_scale(lines: Sequence[str], width: int, base: float) -> float:
    """Largest font scale <= ``base`` (>= 0.3) at which every line fits."""
    scale = base
    while scale > 0.3:
        widest = max(cv2.getTextSize(t, _FONT, scale, 1)[0][0] for t in lines)
        if widest <= width:
            break
        scale -= 0.05
    return max(scale, 0.3)


def _put_lines(canvas: np.ndarray, lines: Sequence[str], x: int, y: int,
               width: int, scale: float, line_h: int) -> None:
    """Draw text lines, left-aligned, clipped at ``width`` pixels."""
    for i, text in enumerate(lines):
        while text and cv2.getTextSize(text, _FONT, scale,
                                       1)[0][0] > width:
            text = text[:-1]
        cv2.putText(canvas, text, (x, y + (i + 1) * line_h - 3), _FONT, scale,
                    _TEXT, 1, cv2.LINE_AA)


def make_grid(rows: Sequence[Sequence[Optional[np.ndarray]]],
              cell_size: Tuple[int, int] = (128, 64),
              captions: Optional[Sequence[Sequence[Optional[str]]]] = None,
              borders: Optional[Sequence[Sequence[Optional[tuple]]]] = None,
              gap: int = 4,
              title: Optional[str] = None) -> np.ndarray:
    """Compose images into one grid picture.

    Every image is letterboxed into a ``cell_size`` cell (aspect ratio
    kept). A border is a frame of ``max(2, min(h, w) // 16)`` pixels drawn
    over the edge of its cell. Captions (``\\n`` separates lines) are
    written under their cell, shrunk or clipped to the cell width. Rows may
    have different lengths; the grid is as wide as the longest.

    Args:
        rows (Sequence[Sequence[np.ndarray | None]]): Rows of (H, W, 3) BGR
            uint8 images ((H, W) grey is accepted); None leaves a cell
            empty.
        cell_size (tuple[int, int]): Cell ``(h, w)`` in pixels. Defaults to
            ``(128, 64)``.
        captions (Sequence[Sequence[str | None]], optional): Same nesting
            as ``rows``. Defaults to None.
        borders (Sequence[Sequence[tuple | None]], optional): Same nesting
            as ``rows``; a BGR colour or None. Defaults to None.
        gap (int): Pixels between cells and around the grid. Defaults to 4.
        title (str, optional): A text line on top. Defaults to None.

    Returns:
        np.ndarray: (H, W, 3) BGR uint8 canvas.

    Raises:
        ValueError: Empty ``rows``, a bad cell size or image shape, or
            captions / borders not nested like ``rows``.
        TypeError: An image that is not a uint8 numpy array.
    """
    rows = [list(r) for r in rows]
    if not rows or not any(rows):
        raise ValueError('make_grid: rows must hold at least one image cell')
    cell_h, cell_w = (int(v) for v in cell_size)
    if cell_h < 4 or cell_w < 4:
        raise ValueError('make_grid: cell_size must be (h, w) >= (4, 4), '
                         f'got {tuple(cell_size)}')
    if gap < 0:
        raise ValueError(f'make_grid: gap must be >= 0, got {gap}')
    captions = _nested(captions, rows, 'captions')
    borders = _nested(borders, rows, 'borders')
    n_cols = max(len(r) for r in rows)

    caption_lines = [[(c.split('\n') if c else []) for c in r]
                     for r in captions]
    max_lines = max((len(c) for r in caption_lines for c in r), default=0)
    all_lines = [t for r in caption_lines for c in r for t in c]
    scale = _text_scale(all_lines, cell_w, 0.4) if all_lines else 0.4
    line_h = cv2.getTextSize('Ag', _FONT, scale, 1)[0][1] + 6
    caption_h = max_lines * line_h
    title_h = 0
    if title:
        title_scale = 0.5
        title_h = cv2.getTextSize(title, _FONT, title_scale,
                                  1)[0][1] + 10

    row_h = cell_h + caption_h
    width = gap + n_cols * (cell_w + gap)
    height = gap + title_h + len(rows) * (row_h + gap)
    canvas = np.full((height, width, 3), _BACKGROUND, np.uint8)
    if title:
        _put_lines(canvas, [title], gap, gap - 3, width - 2 * gap,
                   title_scale, title_h)

    thickness = max(2, min(cell_h, cell_w) // 16)
    for i, row in enumerate(rows):
        top = gap + title_h + i * (row_h + gap)
        for j, img in enumerate(row):
            left = gap + j * (cell_w + gap)
            if img is not None:
                cell = letterbox(_as_bgr(img, f'rows[{i}][{j}]'),
                                 (cell_h, cell_w))
                canvas[top:top + cell_h, left:left + cell_w] = cell
            colour = borders[i][j]
            if colour is not None:
                colour = tuple(int(c) for c in colour)
                if len(colour) != 3:
                    raise ValueError(f'make_grid: borders[{i}][{j}] must be '
                                     f'a BGR triple, got {colour}')
                canvas[top:top + thickness, left:left + cell_w] = colour
                canvas[top + cell_h - thickness:top + cell_h,
                       left:left + cell_w] = colour
                canvas[top:top + cell_h, left:left + thickness] = colour
                canvas[top:top + cell_h,
                       left + cell_w - thickness:left + cell_w] = colour
            if caption_lines[i][j]:
                _put_lines(canvas, caption_lines[i][j], left, top + cell_h,
                           cell_w, scale, line_h)
    return canvas


def save_png(image: np.ndarray, path: str) -> None:
    """Write ``image`` as a PNG file (atomically; parent folders are
    created).

    Args:
        image (np.ndarray): (H, W, 3) BGR or (H, W) grey uint8.
        path (str): Output file; must end with ``.png``.

    Raises:
        ValueError: ``path`` does not end with ``.png``.
        OSError: The image cannot be encoded or the file cannot be written;
            the message names ``path``.
    """
    path = str(path)
    if not path.lower().endswith('.png'):
        raise ValueError(f'save_png: output {path!r} must end with .png')
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
            image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f'save_png: cannot write {path!r}: expected a '
                         'non-empty (H, W, 3) uint8 array, got '
                         f'{getattr(image, "dtype", type(image).__name__)} '
                         f'{getattr(image, "shape", "")}')
    ok, buf = cv2.imencode('.png', image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f'save_png: cv2 could not encode the image for '
                      f'{path!r}')
    try:
        atomic_write(buf.tobytes(), path)
    except OSError as err:
        raise OSError(f'save_png: cannot write {path!r}: {err}') from err
