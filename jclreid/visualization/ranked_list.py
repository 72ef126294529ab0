# Copyright (c) jclreid contributors. All rights reserved.
"""Ranked lists: a query followed by its top-k gallery images, framed green
(same identity) or red (another identity), with their distances."""
from typing import Optional, Sequence, Tuple

import numpy as np

from .image_grid import GREEN, RED, make_grid

__all__ = ['QUERY_COLOUR', 'ranked_list_row', 'draw_ranked_lists']

#: BGR frame of the query cell.
QUERY_COLOUR = (200, 120, 0)


def ranked_list_row(query: Optional[np.ndarray],
                    gallery: Sequence[Optional[np.ndarray]],
                    distances: Sequence[float],
                    matches: Optional[Sequence[Optional[bool]]] = None,
                    query_caption: Optional[str] = 'query',
                    gallery_captions: Optional[Sequence[str]] = None
                    ) -> Tuple[list, list, list]:
    """The cells of one ranked list, for :func:`make_grid`.

    Args:
        query (np.ndarray | None): (H, W, 3) BGR uint8 query image.
        gallery (Sequence[np.ndarray | None]): The top-k gallery images, in
            rank order.
        distances (Sequence[float]): Their distances to the query (same
            length as ``gallery``).
        matches (Sequence[bool | None], optional): Whether each gallery
            image has the query's identity: True -> green frame, False ->
            red, None -> no frame (unknown). Defaults to None (no frames).
        query_caption (str, optional): Text under the query. Defaults to
            ``'query'``.
        gallery_captions (Sequence[str], optional): Extra text per gallery
            image, written under ``'#rank distance'``. Defaults to None.

    Returns:
        tuple[list, list, list]: ``images``, ``captions``, ``borders`` of
        the row (query first).
    """
    k = len(gallery)
    if len(distances) != k:
        raise ValueError(f'ranked_list_row: {k} gallery images but '
                         f'{len(distances)} distances')
    if matches is None:
        matches = [None] * k
    if len(matches) != k:
        raise ValueError(f'ranked_list_row: {k} gallery images but '
                         f'{len(matches)} match flags')
    if gallery_captions is not None and len(gallery_captions) != k:
        raise ValueError(f'ranked_list_row: {k} gallery images but '
                         f'{len(gallery_captions)} captions')
    images = [query] + list(gallery)
    captions = [query_caption]
    borders = [QUERY_COLOUR]
    for rank, (dist, match) in enumerate(zip(distances, matches), 1):
        text = f'#{rank} {float(dist):.3f}'
        if gallery_captions is not None and gallery_captions[rank - 1]:
            text += '\n' + gallery_captions[rank - 1]
        captions.append(text)
        borders.append(None if match is None else (GREEN if match else RED))
    return images, captions, borders


def draw_ranked_lists(rows: Sequence[dict],
                      cell_size: Tuple[int, int] = (128, 64),
                      gap: int = 4,
                      title: Optional[str] = None) -> np.ndarray:
    """Draw one ranked list per row.

    Args:
        rows (Sequence[dict]): Each a dict of the keyword arguments of
            :func:`ranked_list_row` (``query``, ``gallery``, ``distances``
            and optionally ``matches``, ``query_caption``,
            ``gallery_captions``).
        cell_size (tuple[int, int]): Cell ``(h, w)``. Defaults to
            ``(128, 64)``.
        gap (int): Pixels between cells. Defaults to 4.
        title (str, optional): A text line on top. Defaults to None.

    Returns:
        np.ndarray: (H, W, 3) BGR uint8 picture.
    """
    if not rows:
        raise ValueError('draw_ranked_lists: no ranked list to draw')
    images, captions, borders = [], [], []
    for row in rows:
        i, c, b = ranked_list_row(**row)
        images.append(i)
        captions.append(c)
        borders.append(b)
    return make_grid(
        images,
        cell_size=cell_size,
        captions=captions,
        borders=borders,
        gap=gap,
        title=title)
