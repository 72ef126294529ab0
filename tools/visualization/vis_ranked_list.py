# Copyright (c) jclreid contributors. All rights reserved.
"""Draw ranked lists from a ``tools/test.py --dump`` file: one row per query
with its top-k gallery images, framed green (same identity) or red (another
identity), with their distances.

Example:
    python tools/test.py CONFIG CKPT --dump work_dirs/dump.pkl
    python tools/visualization/vis_ranked_list.py work_dirs/dump.pkl \
        --out ranked.png --num-queries 8 --topk 10 --worst-first

As in the evaluation protocol, gallery images of the query's identity seen
by the query's camera, and junk images (pid -1), are left out of the rows.
``--worst-first`` shows the queries with the lowest average precision
first (AP recomputed from the dumped features with
:func:`jclreid.evaluation.functional.evaluate_rank`). The dump is read
without running code (:func:`jclreid.visualization.load_reid_dump`).
"""
import argparse
import os.path as osp

import cv2
import numpy as np

from jclreid.evaluation.functional import compute_distance, evaluate_rank
from jclreid.visualization import draw_ranked_lists, load_reid_dump, save_png


def parse_args():
    parser = argparse.ArgumentParser(
        description='Draw ranked lists from a tools/test.py --dump file')
    parser.add_argument('dump', help='.pkl written by tools/test.py --dump')
    parser.add_argument('--out', default='ranked_lists.png',
                        help='output PNG')
    parser.add_argument('--topk', type=int, default=10,
                        help='gallery images per row')
    parser.add_argument('--num-queries', type=int, default=8,
                        help='rows (queries) drawn')
    parser.add_argument(
        '--worst-first', action='store_true',
        help='queries with the lowest average precision first (default: '
        'dump order)')
    parser.add_argument(
        '--metric', choices=['cosine', 'euclidean'], default='cosine',
        help='distance used to recompute AP for --worst-first (the rows '
        'show the dump\'s own ranking)')
    parser.add_argument('--cell-size', type=int, nargs=2, default=[128, 64],
                        metavar=('H', 'W'), help='size of one image')
    parser.add_argument(
        '--img-root', default='',
        help='folder that relative image paths of the dump are relative to '
        '(default: the current folder, where tools/test.py ran)')
    return parser.parse_args()


def per_query_ap(dump: dict, metric: str) -> np.ndarray:
    """(Q, ) average precision of each query (NaN: no valid match)."""
    feats = dump['features']
    q_idx, g_idx = dump['query_index'], dump['gallery_index']
    dist = compute_distance(feats[q_idx], feats[g_idx], metric).numpy()
    pids, camids = np.asarray(dump['pids']), np.asarray(dump['camids'])
    aps = np.full(len(q_idx), np.nan)
    for i, q in enumerate(q_idx):
        try:
            aps[i] = evaluate_rank(dist[i:i + 1], pids[[q]], pids[g_idx],
                                   camids[[q]], camids[g_idx],
                                   max_rank=1)['mAP']
        except ValueError:  # no true match in the gallery
            pass
    return aps


def read_image(path: str, root: str) -> np.ndarray:
    full = osp.join(root, path) if root and not osp.isabs(path) else path
    img = cv2.imread(full) if osp.isfile(full) else None
    if img is None:
        raise SystemExit(
            f'image {full!r} listed in the dump does not exist or cannot be '
            'read; relative paths are relative to the folder tools/test.py '
            'ran in (see --img-root)')
    return img


def main():
    args = parse_args()
    if args.topk < 1 or args.num_queries < 1:
        raise SystemExit('--topk and --num-queries must be >= 1')
    dump = load_reid_dump(args.dump)
    if 'ranking' not in dump:
        raise SystemExit(f'{args.dump!r} has no query-gallery ranking (no '
                         'query or no gallery samples in the test set)')
    q_idx, g_idx = dump['query_index'], dump['gallery_index']
    pids, camids = np.asarray(dump['pids']), np.asarray(dump['camids'])
    paths = dump['img_paths']
    aps = per_query_ap(dump, args.metric)
    order = np.arange(len(q_idx))
    if args.worst_first:
        # NaN (queries without a true match) last.
        order = np.argsort(np.where(np.isnan(aps), np.inf, aps),
                           kind='stable')
    rows, shown = [], 0
    for qi in order[:args.num_queries]:
        q = q_idx[qi]
        gallery, distances, matches, captions = [], [], [], []
        for pos, dist in zip(dump['ranking'][qi], dump['distances'][qi]):
            g = g_idx[pos]
            junk = pids[g] == -1 or (pids[g] == pids[q]
                                     and camids[g] == camids[q])
            if junk:
                continue
            gallery.append(read_image(paths[g], args.img_root))
            distances.append(float(dist))
            matches.append(bool(pids[g] == pids[q]))
            captions.append(f'id{pids[g]} c{camids[g]}')
            if len(gallery) == args.topk:
                break
        ap = 'n/a' if np.isnan(aps[qi]) else f'{aps[qi]:.2f}'
        rows.append(
            dict(
                query=read_image(paths[q], args.img_root),
                gallery=gallery,
                distances=distances,
                matches=matches,
                query_caption=f'id{pids[q]} c{camids[q]}\nAP={ap}',
                gallery_captions=captions))
        shown += 1
    valid = aps[~np.isnan(aps)]
    title = (f'{shown} of {len(q_idx)} queries'
             f'{", worst AP first" if args.worst_first else ""}; '
             f'mAP {valid.mean():.3f}' if valid.size else '')
    canvas = draw_ranked_lists(
        rows, cell_size=tuple(args.cell_size), title=title)
    save_png(canvas, args.out)
    print(f'wrote {args.out} ({canvas.shape[1]}x{canvas.shape[0]}, '
          f'{shown} queries x top-{args.topk})')


if __name__ == '__main__':
    main()
