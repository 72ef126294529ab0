# Copyright (c) jclreid contributors. All rights reserved.
"""Time and peak memory of k-reciprocal re-ranking against its bounding
operation, the exact kNN search over the pooled query + gallery features.

Re-ranking is ``re_ranking_features`` as the evaluation runs it
(``ReIDMetric(rerank=True)``: cosine, k1=20, k2=6, lambda=0.3); the bound
is ``knn_search`` (exact faiss) of every pooled feature among all, with
``k = k1 + 1``. Both run on a synthetic Market-1501-like test set
(3,368 queries and 15,913 gallery images by default; features from
``benchmark_pseudo_label.make_problem``), in the same process,
alternating, ``--repeat`` times; medians are printed. Memory is measured
as in ``benchmark_pseudo_label.py`` (a fresh subprocess per operation,
resident-set high-water mark above the state before the call; faiss
included).

Examples:
    python tools/analysis_tools/benchmark_rerank.py --repeat 3
    python tools/analysis_tools/benchmark_rerank.py --scales 0.5 1 2 \\
        --repeat 1 --json rerank.json
"""
import json
import os.path as osp
import sys
import tempfile

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_pseudo_label import (alternate, benchmark_parser,  # noqa
                                    machine, make_problem, markdown_table,
                                    measure_memory, median,
                                    memory_in_subprocess)

#: Market-1501's test set.
MARKET_QUERY, MARKET_GALLERY, MARKET_TEST_IDS = 3368, 15913, 750


def make_test_problem(num_query: int, num_gallery: int, dim: int,
                      seed: int = 1):
    """Queries from ``MARKET_TEST_IDS``-per-Market-size identities, the
    gallery holding their other images plus as many distractor
    identities; features as :func:`make_problem`.

    Returns:
        tuple: ``(query, gallery, q_pids, g_pids, q_camids, g_camids)``.
    """
    total = num_query + num_gallery
    scale = total / (MARKET_QUERY + MARKET_GALLERY)
    ids = max(2, round(MARKET_TEST_IDS * scale))
    feats, pids, camids = make_problem(total, dim, num_ids=2 * ids + 1,
                                       seed=seed)
    in_query = np.zeros(total, dtype=bool)
    in_query[np.flatnonzero(pids < ids)[:num_query]] = True
    return (feats[in_query], feats[~in_query], pids[in_query],
            pids[~in_query], camids[in_query], camids[~in_query])


def child(args) -> None:
    """One memory measurement in a fresh process (see ``--child``)."""
    from jclreid.clustering.knn import knn_search
    from jclreid.evaluation import re_ranking_features
    arrays = {k: np.load(v) for k, v in json.loads(args.child_arrays).items()}
    query, gallery = arrays['query'], arrays['gallery']
    if args.child == 'knn':
        record = measure_memory(lambda: knn_search(
            np.concatenate([query, gallery]), args.k1 + 1, backend='faiss'))
    else:
        record = measure_memory(lambda: re_ranking_features(
            query, gallery, 'cosine', args.k1, args.k2, args.lambda_value))
    print(json.dumps(record))


def parse_args():
    parser = benchmark_parser(__doc__)
    parser.add_argument('--scales', type=float, nargs='+', default=[1.0],
                        help='multiples of the Market test set size')
    parser.add_argument('--k1', type=int, default=20)
    parser.add_argument('--k2', type=int, default=6)
    parser.add_argument('--lambda-value', type=float, default=0.3)
    parser.add_argument('--map', action='store_true',
                        help='also report mAP before and after')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.child:
        return child(args)
    from jclreid.clustering.knn import knn_search
    from jclreid.evaluation import (compute_distance, evaluate_rank,
                                    re_ranking_features)
    if not args.repeat:
        raise SystemExit('--repeat must be >= 1')
    print(f'machine: {machine()}\nre-ranking: re_ranking_features(cosine, '
          f'k1={args.k1}, k2={args.k2}, lambda={args.lambda_value}); '
          f'bound: exact faiss kNN over query + gallery, k={args.k1 + 1}')
    results = []
    for scale in args.scales:
        num_query = max(1, round(MARKET_QUERY * scale))
        num_gallery = max(1, round(MARKET_GALLERY * scale))
        q, g, q_pids, g_pids, q_cams, g_cams = make_test_problem(
            num_query, num_gallery, args.dim, args.seed + 1)
        pooled = np.concatenate([q, g])
        record = dict(num_query=num_query, num_gallery=num_gallery,
                      dim=args.dim, features_mb=(q.nbytes + g.nbytes) / 2**20)
        out = {}
        times = alternate(
            dict(knn=lambda: knn_search(pooled, args.k1 + 1, backend='faiss'),
                 rerank=lambda: out.update(d=re_ranking_features(
                     q, g, 'cosine', args.k1, args.k2, args.lambda_value))),
            args.repeat)
        record.update(knn_s=median(times['knn']),
                      rerank_s=median(times['rerank']), times=times)
        record['ratio'] = record['rerank_s'] / record['knn_s']
        if not args.no_memory:
            with tempfile.TemporaryDirectory() as tmp:
                paths = dict(query=osp.join(tmp, 'q.npy'),
                             gallery=osp.join(tmp, 'g.npy'))
                np.save(paths['query'], q)
                np.save(paths['gallery'], g)
                extra = ['--k1', str(args.k1), '--k2', str(args.k2),
                         '--lambda-value', str(args.lambda_value)]
                for op in ('knn', 'rerank'):
                    record[f'memory_{op}'] = memory_in_subprocess(
                        __file__, op, paths, extra)
        if args.map:
            for name, dist in (('before', compute_distance(q, g).numpy()),
                               ('after', out['d'])):
                res = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams)
                record[f'mAP_{name}'] = float(res['mAP'])
        results.append(record)
        print(json.dumps({k: v for k, v in record.items() if k != 'times'}),
              flush=True)
    rows = [[
        f"{r['num_query']:,} + {r['num_gallery']:,}", r['dim'],
        f"{r['knn_s']:.1f}", f"{r['rerank_s']:.1f}", f"{r['ratio']:.2f}",
        f"{r.get('memory_rerank', {}).get('rss_peak_mb', float('nan')):.0f}",
        f"{r.get('memory_knn', {}).get('rss_peak_mb', float('nan')):.0f}"
    ] for r in results]
    print('\n' + markdown_table(
        ['query + gallery', 'D', 'exact kNN (s)', 're-ranking (s)', 'ratio',
         're-ranking peak RSS (MB)', 'kNN peak RSS (MB)'], rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine(), command=sys.argv,
                           results=results), f, indent=1)


if __name__ == '__main__':
    main()
