# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest

from jclreid.visualization import (GREEN, QUERY_COLOUR, RED, draw_ranked_lists,
                                   ranked_list_row)


def _img(value):
    return np.full((32, 16, 3), value, np.uint8)


def test_row_cells():
    images, captions, borders = ranked_list_row(
        _img(1), [_img(2), _img(3)], [0.1234, 0.5], [True, False],
        query_caption='pid 3', gallery_captions=['pid 3', None])
    assert len(images) == 3
    assert captions == ['pid 3', '#1 0.123\npid 3', '#2 0.500']
    assert borders == [QUERY_COLOUR, GREEN, RED]
    with pytest.raises(ValueError, match='distances'):
        ranked_list_row(_img(1), [_img(2)], [0.1, 0.2])


def test_draw_colours_per_cell():
    rows = [
        dict(query=_img(100), gallery=[_img(50)] * 3,
             distances=[0.1, 0.2, 0.3], matches=[True, False, None]),
        dict(query=_img(100), gallery=[_img(50)], distances=[0.4],
             matches=[False]),
    ]
    canvas = draw_ranked_lists(rows, cell_size=(64, 32), gap=4)
    assert canvas.shape[1] == 4 + 4 * (32 + 4)

    def colour_at(row_top, col):
        x = 4 + col * 36
        return tuple(int(v) for v in canvas[row_top + 1, x + 1])

    row_h = (canvas.shape[0] - 4) // 2
    assert colour_at(4, 0) == QUERY_COLOUR
    assert colour_at(4, 1) == GREEN
    assert colour_at(4, 2) == RED
    assert colour_at(4, 3) == (50, 50, 50)  # no frame: the image itself
    assert colour_at(4 + row_h, 1) == RED
