# Copyright (c) jclreid contributors. All rights reserved.
"""Compare the two k1 conventions of the Jaccard distance on synthetic
clustered features, and what they change for DBSCAN at the same eps.

``neighbourhood='zhong'`` takes self + k1 neighbours for the reciprocal
sets (Zhong et al.'s re-ranking code); ``'cluster_contrast'`` takes k1
rank-list entries including self (Cluster Contrast / SpCL), on which
Cluster Contrast's eps=0.6 was tuned. See
:func:`jclreid.clustering.jaccard_distance`.

Features: ``--num-ids`` identities, each a random direction on the unit
sphere, seen by 2..4 of ``--num-cams`` cameras; every camera adds a style
offset shared by all identities, every (identity, camera) pair its own
offset, every image its own noise; features are L2-normalised. Outliers
(-1) of DBSCAN count as singleton clusters in ARI / NMI.

Example:
    python tools/analysis_tools/compare_k1_convention.py --k1 30 --k2 6 \\
        --eps 0.6
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp

from jclreid.clustering import DBSCANClusterer, jaccard_distance
from jclreid.evaluation.functional.clustering import (
    ari, nmi, outliers_as_singletons)

CONVENTIONS = ('zhong', 'cluster_contrast')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-ids', type=int, default=100)
    parser.add_argument('--per-id', type=int, default=16)
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--num-cams', type=int, default=6)
    parser.add_argument(
        '--cam-style',
        type=float,
        default=0.4,
        help='norm of the per-camera offset shared by all identities')
    parser.add_argument(
        '--view',
        type=float,
        default=0.8,
        help='norm of the per-(identity, camera) offset')
    parser.add_argument(
        '--noise', type=float, default=1.0, help='norm of per-image noise')
    parser.add_argument('--k1', type=int, default=30)
    parser.add_argument('--k2', type=int, default=6)
    parser.add_argument('--eps', type=float, default=0.6)
    parser.add_argument('--min-samples', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def _directions(rng, num, dim, norm):
    """``num`` random vectors of (about) the given norm."""
    return norm * rng.randn(num, dim) / np.sqrt(dim)


def synthetic_features(args):
    """(N, D) float32 unit features, (N, ) identity and camera labels."""
    rng = np.random.RandomState(args.seed)
    centers = rng.randn(args.num_ids, args.dim)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    styles = _directions(rng, args.num_cams, args.dim, args.cam_style)
    feats, pids, camids = [], [], []
    for pid in range(args.num_ids):
        num_seen = rng.randint(2, min(4, args.num_cams) + 1)
        cams = rng.choice(args.num_cams, num_seen, replace=False)
        views = _directions(rng, num_seen, args.dim, args.view)
        which = rng.randint(0, num_seen, args.per_id)
        which[:num_seen] = np.arange(num_seen)[:args.per_id]
        x = centers[pid] + styles[cams[which]] + views[which] + \
            _directions(rng, args.per_id, args.dim, args.noise)
        feats.append(x)
        pids.append(np.full(args.per_id, pid))
        camids.append(cams[which])
    feats = np.concatenate(feats)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return (feats.astype(np.float32), np.concatenate(pids),
            np.concatenate(camids))


def _pattern(dist: sp.csr_matrix) -> sp.csr_matrix:
    """Ones wherever ``dist`` stores an entry (explicit zeros included)."""
    return sp.csr_matrix((np.ones(dist.nnz), dist.indices, dist.indptr),
                         shape=dist.shape)


def _values(dist: sp.csr_matrix, rows, cols) -> np.ndarray:
    """``dist[rows, cols]`` with an absent entry read as distance 1."""
    shifted = dist.copy()
    shifted.data = shifted.data - 1.0  # stored entries are < 1, so != 0
    return np.asarray(shifted[rows, cols]).ravel() + 1.0


def main():
    args = parse_args()
    start = time.time()
    feats, pids, _ = synthetic_features(args)
    n = len(feats)
    print(f'features: N={n} ({args.num_ids} ids x {args.per_id}), '
          f'D={args.dim}, {args.num_cams} cameras; k1={args.k1} '
          f'k2={args.k2} eps={args.eps} min_samples={args.min_samples} '
          f'seed={args.seed}')

    dists = {}
    for conv in CONVENTIONS:
        t = time.time()
        dists[conv] = jaccard_distance(
            feats, k1=args.k1, k2=args.k2, neighbourhood=conv).tocsr()
        print(f'  {conv:>16}: nnz {dists[conv].nnz} '
              f'({time.time() - t:.1f}s)')

    a, b = (dists[c] for c in CONVENTIONS)
    union = (_pattern(a) + _pattern(b)).tocoo()
    va = _values(a, union.row, union.col)
    vb = _values(b, union.row, union.col)
    diff = np.abs(va - vb)
    near = (va <= args.eps) | (vb <= args.eps)
    print(f'|d_zhong - d_cluster_contrast| over the {union.nnz} pairs '
          f'stored in either: max {diff.max():.4f}, mean {diff.mean():.4f}; '
          f'mean signed (zhong - cc) {np.mean(va - vb):+.4f}')
    print(f'  over the {int(near.sum())} pairs within eps in either: '
          f'max {diff[near].max():.4f}, mean {diff[near].mean():.4f}; '
          f'within eps: zhong {int((va <= args.eps).sum())}, '
          f'cluster_contrast {int((vb <= args.eps).sum())}')

    dbscan = DBSCANClusterer(eps=args.eps, min_samples=args.min_samples)
    labels = {c: dbscan(dists[c]) for c in CONVENTIONS}
    print(f'DBSCAN(eps={args.eps}, min_samples={args.min_samples}); '
          f'ground truth: {args.num_ids} clusters')
    for conv in CONVENTIONS:
        lab = labels[conv]
        num_clusters = len(np.unique(lab[lab >= 0]))
        print(f'  {conv:>16}: {num_clusters} clusters, '
              f'{int((lab < 0).sum())} outliers; vs ground truth '
              f'ARI {ari(pids, outliers_as_singletons(lab)):.4f} '
              f'NMI {nmi(pids, outliers_as_singletons(lab)):.4f}')
    la, lb = (outliers_as_singletons(labels[c]) for c in CONVENTIONS)
    print(f'  ARI(zhong, cluster_contrast) = {ari(la, lb):.4f}')
    print(f'total {time.time() - start:.1f}s')


if __name__ == '__main__':
    main()
