# Copyright (c) jclreid contributors. All rights reserved.
"""Write a PNG grid of training samples after the train pipeline.

Re-ID datasets: one row per identity, its images across cameras.
Scene datasets: one row per class.

Example:
    python tools/misc/browse_dataset.py configs/jcl/jcl_r18_synthetic.py \
        --out work_dirs/browse.png --rows 8 --cols 8
"""
import argparse
from collections import defaultdict

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from jclreid.registry import DATASETS
from jclreid.utils import register_all_modules
from jclreid.visualization import make_grid, save_png


def parse_args():
    parser = argparse.ArgumentParser(
        description='Write a grid of training samples as the model sees them')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--out', default='browse_dataset.png', help='output PNG file')
    parser.add_argument(
        '--split',
        default='train',
        choices=['train', 'val', 'test'],
        help='which dataloader of the config to browse')
    parser.add_argument('--rows', type=int, default=8, help='identities')
    parser.add_argument('--cols', type=int, default=8, help='images per row')
    parser.add_argument('--cell', type=int, default=0,
                        help='cell height in pixels (0: image height x 2)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args()


def choose_rows(dataset, rows: int, cols: int, rng) -> list:
    """Pick ``rows`` identities (or classes), each with up to ``cols``
    sample indices, spread over as many cameras as possible."""
    by_pid = defaultdict(lambda: defaultdict(list))
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        by_pid[info['pid']][info.get('camid', 0)].append(idx)
    pids = [p for p in sorted(by_pid) if p >= 0]
    # Prefer identities seen by several cameras.
    pids.sort(key=lambda p: -len(by_pid[p]))
    pids = pids[:max(rows * 3, rows)]
    rng.shuffle(pids)
    chosen = []
    for pid in sorted(pids[:rows]):
        cams = by_pid[pid]
        picked = []
        # Round-robin over cameras.
        queues = [list(rng.permutation(v)) for _, v in sorted(cams.items())]
        while len(picked) < cols and any(queues):
            for q in queues:
                if q and len(picked) < cols:
                    picked.append(int(q.pop()))
        chosen.append((pid, picked))
    return chosen


def to_bgr(inputs) -> np.ndarray:
    img = inputs.numpy() if hasattr(inputs, 'numpy') else np.asarray(inputs)
    return np.ascontiguousarray(img.transpose(1, 2, 0)).astype(np.uint8)


def draw_rows(dataset, chosen, cell_h: int) -> np.ndarray:
    """One row per identity (or class): its label, then its augmented
    images captioned with their camera."""
    rows, captions = [], []
    cell_w = None
    for pid, picked in chosen:
        row, caption = [], []
        for idx in picked:
            out = dataset[idx]
            img = to_bgr(out['inputs'])
            if cell_w is None:
                cell_w = max(1, int(round(img.shape[1] * cell_h /
                                          img.shape[0])))
            row.append(img)
            caption.append(f"c{out['data_samples'].get('camid', 0)}")
        rows.append(row)
        captions.append(caption)
        captions[-1][0] = f'id {pid}  ' + captions[-1][0]
    return make_grid(rows, (cell_h, cell_w), captions=captions)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'jclreid'))
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    if loader_cfg is None:
        raise KeyError(
            f'config {args.config!r} has no {args.split}_dataloader')
    dataset = DATASETS.build(loader_cfg.dataset)
    rng = np.random.RandomState(args.seed)
    np.random.seed(args.seed)
    chosen = choose_rows(dataset, args.rows, args.cols, rng)
    if not chosen:
        raise RuntimeError(f'dataset of {args.split}_dataloader has no '
                           'sample with a known identity or class')
    first = to_bgr(dataset[chosen[0][1][0]]['inputs'])
    cell_h = args.cell or max(first.shape[0] * 2, 32)
    grid = draw_rows(dataset, chosen, cell_h)
    save_png(grid, args.out)
    print(f'wrote {args.out} ({len(chosen)} rows, {grid.shape[1]}x'
          f'{grid.shape[0]} px)')


if __name__ == '__main__':
    main()
