# Copyright (c) jclreid contributors. All rights reserved.
"""Time evaluate_rank against np.argsort of the same distance matrix.

The problem is Market-1501-like: at the default size (3,368 queries x
15,913 gallery) there are 751 identities seen by 2 to 6 of 6 cameras, a
query per (identity, camera) pair, a sixth of the gallery distractors (pid
0) and optionally junk (pid -1). Features are noisy copies of a unit centre
per identity plus a camera shift; the distances are float32 cosine
distances, as :func:`jclreid.evaluation.compute_distance` returns them.
Other sizes keep the identities per query (``--ids`` x Q / 3,368), so the
work per row grows with the gallery only. ``--noise`` sets the feature
quality (1.3: mAP about 80%; 5: random features, the worst case).

Each size times ``evaluate_rank`` and ``np.argsort(distmat, axis=1)``
``--repeat`` times in this process, alternating which goes first, and
prints the medians and the median of the paired ratios. Peak memory is
measured apart from the timings with ``tracemalloc`` (numpy reports its
buffers to it), above what was allocated before the call, so the input
matrix is not counted. Finally the metrics of a random subsample of queries
are compared with a straightforward evaluator (a stable argsort of every
row, then the textbook formulas).

Example:
    python tools/analysis_tools/benchmark_eval.py \\
        --sizes 842x3978 1684x7956 3368x15913 --json bench_eval.json
"""
import argparse
import json
import os
import platform
import time
import tracemalloc

import numpy as np

from jclreid.evaluation import evaluate_rank

MARKET_QUERIES = 3368

#: (option, type, default, help) of the problem and timing options.
OPTIONS = (
    ('--repeat', int, 5, 'timed runs of each'),
    ('--ids', int, 751, 'identities at 3,368 queries (scaled with them)'),
    ('--cams', int, 6, 'cameras'),
    ('--dim', int, 128, 'feature dimension'),
    ('--noise', float, 1.3, 'per-image noise (identity centres: norm 1)'),
    ('--distractors', float, 2798 / 15913, 'gallery share of pid 0'),
    ('--junk', float, 0.0, 'gallery share of junk, pid -1'),
    ('--round', int, None, 'round distances to N decimals (forces ties)'),
    ('--dtype', str, 'float32', 'distance dtype'),
    ('--max-rank', int, 50, 'CMC length'),
    ('--chunk-size', int, 256, 'chunk_size of evaluate_rank'),
    ('--check-queries', int, 300, 'queries checked against the reference'),
    ('--seed', int, 0, 'random seed'),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=['3368x15913'],
        help='problems as QUERIESxGALLERY (default: 3368x15913)')
    for option, kind, default, text in OPTIONS:
        parser.add_argument(
            option, type=kind, default=default, help=f'{text} ({default})')
    parser.add_argument('--json', metavar='OUT', help='write the numbers')
    return parser.parse_args()


def make_problem(num_q: int, num_g: int, args) -> tuple:
    """Distances and labels of a synthetic Market-like split."""
    rng = np.random.default_rng(args.seed)
    num_ids = max(1, round(args.ids * num_q / MARKET_QUERIES))
    # The cameras that see each identity (2 or more when there are).
    seen = [
        rng.choice(
            args.cams,
            rng.integers(min(2, args.cams), args.cams + 1),
            replace=False) for _ in range(num_ids)
    ]
    pairs = np.array([(pid, cam) for pid in range(num_ids)
                      for cam in seen[pid]])
    pick = rng.choice(len(pairs), num_q, replace=num_q > len(pairs))
    q_pids, q_cams = pairs[pick, 0] + 1, pairs[pick, 1]
    num_distract = round(num_g * args.distractors)
    num_junk = round(num_g * args.junk)
    people = rng.integers(0, num_ids, num_g - num_distract - num_junk)
    g_pids = np.concatenate([
        people + 1,
        np.zeros(num_distract, dtype=np.int64),
        np.full(num_junk, -1)
    ])
    g_cams = np.concatenate([[rng.choice(seen[pid]) for pid in people],
                             rng.integers(0, args.cams,
                                          num_distract + num_junk)])
    shuffle = rng.permutation(num_g)
    g_pids, g_cams = g_pids[shuffle], g_cams[shuffle]

    scale = 1 / np.sqrt(args.dim)
    centres = rng.standard_normal((num_ids + 1, args.dim)) * scale
    shifts = rng.standard_normal((args.cams, args.dim)) * (0.3 * scale)

    def features(pids, cams):
        feats = centres[np.maximum(pids, 0)] + shifts[cams]
        feats += args.noise * scale * rng.standard_normal(feats.shape)
        others = pids <= 0  # distractors and junk: anyone
        feats[others] = rng.standard_normal((others.sum(), args.dim))
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        return feats.astype(np.float32)

    dist = 1 - features(q_pids, q_cams) @ features(g_pids, g_cams).T
    if args.round is not None:
        dist = np.round(dist, args.round)
    return dist.astype(args.dtype), q_pids, g_pids, q_cams, g_cams


def straightforward(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """CMC, mAP, mINP with a full stable argsort of every row."""
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i, row in enumerate(dist):
        order = np.argsort(row, kind='stable')
        pids, cams = g_pids[order], g_cams[order]
        kept = (pids != -1) & ~((pids == q_pids[i]) & (cams == q_cams[i]))
        ranks = np.flatnonzero(pids[kept] == q_pids[i]) + 1
        if ranks.size == 0:
            continue
        cmc[ranks[0] - 1:] += 1
        aps.append(np.mean(np.arange(1, ranks.size + 1) / ranks))
        inps.append(ranks.size / ranks[-1])
    return dict(cmc=cmc / len(aps), mAP=np.mean(aps), mINP=np.mean(inps))


def peak_mib(fn) -> float:
    """Peak traced allocation of ``fn()`` above the allocations before."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def bench(num_q: int, num_g: int, args) -> dict:
    dist, q_pids, g_pids, q_cams, g_cams = make_problem(num_q, num_g, args)

    def evaluate(d=dist, q=q_pids, c=q_cams):
        return evaluate_rank(
            d,
            q,
            g_pids,
            c,
            g_cams,
            max_rank=args.max_rank,
            chunk_size=args.chunk_size)

    def argsort():
        return np.argsort(dist, axis=1)

    res = evaluate()
    times = dict(evaluate=[], argsort=[])
    for rep in range(args.repeat):
        order = [('evaluate', evaluate), ('argsort', argsort)]
        for name, fn in order[::1 if rep % 2 else -1]:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    ratios = np.array(times['evaluate']) / np.array(times['argsort'])

    rng = np.random.default_rng(args.seed + 1)
    sub = np.sort(
        rng.choice(num_q, min(args.check_queries, num_q), replace=False))
    fast = evaluate(dist[sub], q_pids[sub], q_cams[sub])
    slow = straightforward(dist[sub], q_pids[sub], g_pids, q_cams[sub], g_cams,
                           args.max_rank)
    check = max(
        float(np.abs(fast['cmc'] - slow['cmc']).max()),
        abs(fast['mAP'] - slow['mAP']), abs(fast['mINP'] - slow['mINP']))
    return dict(
        num_query=num_q,
        num_gallery=num_g,
        mAP=res['mAP'],
        mINP=res['mINP'],
        rank1=float(res['cmc'][0]),
        argsort_s=float(np.median(times['argsort'])),
        evaluate_s=float(np.median(times['evaluate'])),
        ratio=float(np.median(ratios)),
        argsort_times=times['argsort'],
        evaluate_times=times['evaluate'],
        evaluate_peak_mib=peak_mib(evaluate),
        argsort_peak_mib=peak_mib(argsort),
        input_mib=dist.nbytes / 2**20,
        check_queries=len(sub),
        check_max_abs_diff=check)


def main():
    args = parse_args()
    env = (f'numpy {np.__version__}, {platform.machine()}, '
           f'{os.cpu_count()} CPUs, OMP_NUM_THREADS='
           f'{os.environ.get("OMP_NUM_THREADS", "unset")}')
    print(f'{env}; {args.dtype} distances, noise {args.noise}, '
          f'{args.repeat} repeats (medians; ratio: median of paired '
          'ratios); peak memory: tracemalloc, above the input\n')
    print('| Q x G | mAP / mINP / R1 (%) | argsort (s) | evaluate_rank (s) '
          '| ratio | peak MiB: evaluate_rank / argsort (input) | check |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    rows = []
    for size in args.sizes:
        num_q, num_g = (int(v) for v in size.lower().split('x'))
        row = bench(num_q, num_g, args)
        rows.append(row)
        ok = 'ok' if row['check_max_abs_diff'] <= 1e-6 else 'MISMATCH'
        print(
            f"| {num_q} x {num_g} | {100 * row['mAP']:.1f} / "
            f"{100 * row['mINP']:.1f} / {100 * row['rank1']:.1f} | "
            f"{row['argsort_s']:.3f} | {row['evaluate_s']:.3f} | "
            f"{row['ratio']:.3f} | {row['evaluate_peak_mib']:.1f} / "
            f"{row['argsort_peak_mib']:.1f} ({row['input_mib']:.1f}) | "
            f"{ok}: {row['check_queries']} queries, max diff "
            f"{row['check_max_abs_diff']:.1e} |",
            flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(env=env, args=vars(args), results=rows), f, indent=2)


if __name__ == '__main__':
    main()
