# Copyright (c) jclreid contributors. All rights reserved.
"""Rank a gallery for query images with a trained model; print the top-k
and draw them as a PNG (one row per query).

Examples:
    python tools/infer.py configs/jcl/jcl_r18_synthetic.py \
        work_dirs/jcl_r18_synthetic/epoch_25.pth \
        --query data/synthetic_reid/query/0001_c1s1_000000_00.jpg \
        --gallery data/synthetic_reid/bounding_box_test --topk 10 \
        --out ranked.png

``--query`` takes an image or a folder (one row per image). When query and
gallery file names follow the Market-1501 pattern (``PID_cCAM...``), frames
are green for the query's identity and red for another one; otherwise no
frames are drawn. The checkpoint is loaded with
``torch.load(weights_only=True)`` unless ``--trust-checkpoint``.
"""
import argparse
import os.path as osp

import mmcv
from mmengine.config import DictAction

from jclreid.apis import ReIDInferencer
from jclreid.datasets.market1501 import Market1501
from jclreid.utils import apply_num_threads
from jclreid.visualization import draw_ranked_lists, save_png
from config_loader import load_config  # tools/config_loader.py


def parse_args():
    parser = argparse.ArgumentParser(
        description='Rank a gallery for query images with a jclreid model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--query', required=True, help='query image or folder of images')
    parser.add_argument(
        '--gallery', required=True, help='gallery folder (or image)')
    parser.add_argument('--topk', type=int, default=10, help='ranks shown')
    parser.add_argument(
        '--out', default='ranked.png', help='output PNG of the ranked lists')
    parser.add_argument(
        '--device', default=None,
        help="'cpu', 'cuda', 'cuda:1' ... (default: cuda if available)")
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument(
        '--metric', choices=['cosine', 'euclidean'], default='cosine')
    parser.add_argument(
        '--cell-size', type=int, nargs=2, default=[128, 64],
        metavar=('H', 'W'), help='size of one image in the PNG')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoint, which can run '
        'arbitrary code: only for files you trust (logs a warning)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args()


def name_info(path):
    """``(person id, camera)`` from a Market-1501 style file name, or
    None."""
    match = Market1501.PATTERN.match(osp.basename(path or ''))
    return (int(match.group(1)), int(match.group(2))) if match else None


def caption(info):
    return None if info is None else f'id{info[0]} c{info[1]}'


def main():
    args = parse_args()
    if args.topk < 1:
        raise SystemExit(f'--topk must be >= 1, got {args.topk}')
    for name in ('query', 'gallery'):
        path = getattr(args, name)
        if not osp.exists(path):
            raise SystemExit(f'--{name} {path!r} does not exist')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint!r} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    apply_num_threads(cfg)
    inferencer = ReIDInferencer(
        cfg,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        trust_checkpoint=args.trust_checkpoint)
    queries = ReIDInferencer.expand_inputs(args.query)
    results = inferencer.search(
        queries, args.gallery, topk=args.topk, metric=args.metric)

    rows = []
    for query, ranked in zip(queries, results):
        print(f'query {query}')
        qinfo = name_info(query)
        gallery, distances, matches, captions = [], [], [], []
        for rank, hit in enumerate(ranked, 1):
            print(f'  {rank:3d}  {hit["distance"]:.4f}  {hit["path"]}')
            gallery.append(mmcv.imread(hit['path']))
            distances.append(hit['distance'])
            ginfo = name_info(hit['path'])
            matches.append(None if qinfo is None or ginfo is None else
                           ginfo[0] == qinfo[0])
            captions.append(caption(ginfo))
        rows.append(
            dict(
                query=mmcv.imread(query),
                gallery=gallery,
                distances=distances,
                matches=matches,
                query_caption='query' + (f'\n{caption(qinfo)}'
                                         if qinfo else ''),
                gallery_captions=captions))
    canvas = draw_ranked_lists(
        rows, cell_size=tuple(args.cell_size),
        title=f'top-{args.topk} of {args.gallery} ({args.metric} distance)')
    save_png(canvas, args.out)
    print(f'wrote {args.out} ({canvas.shape[1]}x{canvas.shape[0]})')


if __name__ == '__main__':
    main()
