# Copyright (c) jclreid contributors. All rights reserved.
"""Pictures: image grids, ranked lists."""
from .image_grid import GREEN, RED, letterbox, make_grid, save_png
from .ranked_list import QUERY_COLOUR, draw_ranked_lists, ranked_list_row
from .reid_dump import load_reid_dump

__all__ = [
    'make_grid', 'save_png', 'letterbox', 'draw_ranked_lists',
    'ranked_list_row', 'GREEN', 'RED', 'QUERY_COLOUR', 'load_reid_dump'
]
