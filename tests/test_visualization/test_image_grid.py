# Copyright (c) jclreid contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from jclreid.visualization import letterbox, make_grid, save_png


def _img(h, w, value):
    return np.full((h, w, 3), value, np.uint8)


def test_grid_layout_and_letterbox():
    rows = [[_img(64, 32, 10), None, _img(32, 32, 50)], [_img(10, 40, 90)]]
    grid = make_grid(rows, cell_size=(40, 20), gap=2)
    # 3 columns, 2 rows, no captions, no title.
    assert grid.shape == (2 + 2 * (40 + 2), 2 + 3 * (20 + 2), 3)
    assert grid.dtype == np.uint8
    # First cell: a 64x32 image fills a 40x20 cell exactly.
    assert (grid[2:42, 2:22] == 10).all()
    # Empty cell stays background.
    assert (grid[2:42, 24:44] == 255).all()
    # A square image in a tall cell: letterboxed, centred vertically.
    cell = grid[2:42, 46:66]
    assert (cell[15:25] == 50).all() and (cell[:5] != 50).all()
    # Missing cells at the end of a short row stay background.
    assert (grid[44:84, 24:] == 255).all()


def test_letterbox_keeps_aspect():
    out = letterbox(_img(10, 40, 7), (40, 20))
    assert out.shape == (40, 20, 3)
    rows = np.flatnonzero((out == 7).all(axis=(1, 2)))
    assert 4 <= len(rows) <= 6  # 10x40 scaled by 0.5 -> 5x20


def test_borders_captions_title():
    rows = [[_img(64, 32, 128), _img(64, 32, 128)]]
    plain = make_grid(rows, cell_size=(64, 32))
    grid = make_grid(
        rows,
        cell_size=(64, 32),
        captions=[['one', 'two\nlines']],
        borders=[[(0, 255, 0), None]],
        title='title')
    assert grid.shape[1] == plain.shape[1]
    assert grid.shape[0] > plain.shape[0]  # title + two caption lines
    # The frame is drawn at the cell's edge; the other cell has none.
    top = grid.shape[0] - plain.shape[0]
    caption_rows = np.flatnonzero(
        (grid[:, :4] == 255).all(axis=(1, 2)) == 0)
    assert caption_rows.size == 0  # left gap stays background
    frame = np.all(grid == (0, 255, 0), axis=2)
    ys, xs = np.nonzero(frame)
    assert xs.min() == 4 and xs.max() == 4 + 31
    assert not frame[:, 40:].any()
    # Captions are dark text under the cells.
    below = grid[ys.max() + 1:, 4:36]
    assert (below < 100).any()
    assert top > 0


def test_grey_images_and_errors():
    grid = make_grid([[np.zeros((8, 8), np.uint8)]], cell_size=(8, 8))
    assert grid.shape == (16, 16, 3)
    with pytest.raises(TypeError, match=r'rows\[0\]\[0\]'):
        make_grid([[np.zeros((8, 8, 3), np.float32)]])
    with pytest.raises(ValueError, match='captions'):
        make_grid([[_img(8, 8, 0)]], captions=[['a', 'b']])
    with pytest.raises(ValueError, match='at least one'):
        make_grid([])


def test_save_png_roundtrip(tmp_path):
    img = make_grid([[_img(20, 10, 30)]], borders=[[(0, 0, 255)]])
    out = tmp_path / 'a' / 'b' / 'grid.png'
    save_png(img, str(out))
    back = cv2.imread(str(out))
    np.testing.assert_array_equal(back, img)
    with pytest.raises(ValueError, match='grid.jpg'):
        save_png(img, str(tmp_path / 'grid.jpg'))
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(OSError, match='file/x.png'):
        save_png(img, str(blocker / 'x.png'))
