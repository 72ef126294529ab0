# Copyright (c) jclreid contributors. All rights reserved.
"""Time and memory of the sparse Jaccard distance and the whole label
generation on Market-1501-sized synthetic features.

Features are Gaussian blobs (``--ids`` identities of ``--per-id`` images,
``--dim`` dimensions), as a stand-in for real embeddings.

Example:
    python tools/analysis_tools/bench_jaccard.py --num 12936 --dim 2048
"""
import argparse
import resource
import time

import numpy as np

from jclreid.clustering import LabelGenerator, jaccard_distance


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=12936)
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--per-id', type=int, default=17)
    parser.add_argument('--noise', type=float, default=1.2)
    parser.add_argument('--k1', type=int, default=30)
    parser.add_argument('--k2', type=int, default=6)
    parser.add_argument('--eps', type=float, default=0.6)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    args = parse_args()
    rng = np.random.RandomState(args.seed)
    ids = -(-args.num // args.per_id)
    centers = rng.randn(ids, args.dim).astype(np.float32)
    feats = np.repeat(centers, args.per_id, axis=0)[:args.num]
    feats += args.noise * rng.randn(*feats.shape).astype(np.float32)
    camids = rng.randint(0, 6, args.num)
    rss0 = max_rss_mb()
    start = time.time()
    dist = jaccard_distance(
        feats, k1=args.k1, k2=args.k2, max_distance=args.eps)
    t_jacc = time.time() - start
    rss1 = max_rss_mb()
    gen = LabelGenerator(
        distance=dict(type='JaccardDistance', k1=args.k1, k2=args.k2),
        clusterer=dict(type='DBSCANClusterer', eps=args.eps, min_samples=4))
    start = time.time()
    _, summary = gen(feats, camids)
    t_gen = time.time() - start
    print(f'N={args.num} D={args.dim}: jaccard {t_jacc:.1f}s '
          f'(nnz {dist.nnz}, peak memory +{rss1 - rss0:.0f} MB over the '
          f'{rss0:.0f} MB of the features); label generation '
          f'{t_gen:.1f}s; {summary}')


if __name__ == '__main__':
    main()
