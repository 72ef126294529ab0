# Copyright (c) jclreid contributors. All rights reserved.
"""Time and peak memory of the pseudo-label refresh against its bounding
operation, the exact kNN search alone.

The refresh is the config's label generator, exactly as training runs it
(``default_hooks.pseudo_label.label_generator`` of ``--config``; the
Market-1501 recipe: JaccardDistance(k1=30, k2=6) pruned at DBSCAN's
eps=0.6, min_samples=4, then CameraAwareFilter). The bound is
``knn_search`` with the same ``k`` (the rank lists the refresh needs,
exact faiss). Both run on the same synthetic Market-like problem
(:func:`make_problem`), in the same process, alternating, ``--repeat``
times; medians are printed.

Memory: each operation runs once more in a fresh subprocess that loads
the features from a ``.npy`` file and then reports the resident-set
high-water mark above the resident set just before the call
(``/proc/self/status`` VmHWM after resetting it through
``/proc/self/clear_refs``; includes faiss and every native allocation;
falls back to ``ru_maxrss`` when the reset is not allowed), its time and,
for the refresh, the time of each stage. ``--tracemalloc`` adds one more
fresh run for the tracemalloc peak (numpy and Python allocations only,
not faiss'). ``--repeat 0`` takes the times from those single runs (for
sizes where one run takes many minutes).

Examples:
    # Market-1501 size (12,936 training images)
    python tools/analysis_tools/benchmark_pseudo_label.py --repeat 3
    # scaling curve
    python tools/analysis_tools/benchmark_pseudo_label.py \\
        --sizes 10000 30000 100000 --repeat 1 --json scaling.json
    # approximate kNN: recall and label agreement against exact
    python tools/analysis_tools/benchmark_pseudo_label.py --sizes 30000 \\
        --knn ivf hnsw
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

#: Market-1501's training set: 751 identities in 12,936 images, 6 cameras.
MARKET_IDS, MARKET_TRAIN = 751, 12936


def make_problem(num: int,
                 dim: int = 2048,
                 num_ids: Optional[int] = None,
                 num_cams: int = 6,
                 spread: float = 0.6,
                 camera_bias: float = 0.4,
                 view_bias: float = 0.45,
                 identity_spread: float = 0.7,
                 seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic re-ID feature set that clusters like real embeddings.

    Identities (``num_ids``, by default Market's 751 per 12,936 images)
    fall in look-alike groups of about 8 (shared clothing: a group
    direction plus an identity direction scaled by ``identity_spread``
    times a per-identity factor in [0.6, 1.4], so some identities are
    hard to tell apart). Each image adds a camera direction
    (``camera_bias``, shared by every identity: the camera shortcut that
    CameraAwareFilter guards against), a per identity-and-camera view
    direction (``view_bias``) and isotropic noise of norm about
    ``spread`` (per-image factor in [0.5, 1.5]); rows are L2-normalised.
    Identities and cameras are drawn uniformly, images in random order.
    With the defaults at Market size, nearest-neighbour cosine is about
    0.8 and the refresh finds ~630 clusters (ARI ~0.8 against the
    identities).

    Returns:
        tuple: ``(features (num, dim) float32, pids (num, ), camids (num, ))``.
    """
    rng = np.random.default_rng(seed)
    num_ids = num_ids or max(1, round(num * MARKET_IDS / MARKET_TRAIN))

    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    def directions(count):
        return unit(rng.standard_normal((count, dim), dtype=np.float32))

    groups = directions(max(1, num_ids // 8))
    scale = rng.uniform(0.6, 1.4, (num_ids, 1)).astype(np.float32)
    centres = unit(groups[rng.integers(0, len(groups), num_ids)] +
                   identity_spread * scale * directions(num_ids))
    pids = rng.integers(0, num_ids, num)
    camids = rng.integers(0, num_cams, num)
    cameras, views = directions(num_cams), directions(num_ids * num_cams)
    feats = np.empty((num, dim), dtype=np.float32)
    for lo in range(0, num, 8192):  # bounded temporaries
        sl = slice(lo, lo + 8192)
        noise = rng.standard_normal((len(pids[sl]), dim), dtype=np.float32)
        noise *= spread * rng.uniform(0.5, 1.5, (len(noise), 1)).astype(
            np.float32) / np.sqrt(dim)
        noise += centres[pids[sl]] + camera_bias * cameras[camids[sl]]
        noise += view_bias * views[pids[sl] * num_cams + camids[sl]]
        feats[sl] = unit(noise)
    return feats, pids, camids


# ----------------------------------------------------------------------
# Measurement harness (shared with benchmark_rerank.py)
# ----------------------------------------------------------------------


def _status_mb() -> Dict[str, float]:
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(('VmRSS', 'VmHWM')):
                key, value = line.split(':')
                out[key] = int(value.split()[0]) / 1024
    return out


def measure_memory(run: Callable[[], object],
                   trace: bool = False) -> Dict[str, float]:
    """Run ``run()`` once and return its wall time and peak memory above
    the process state before it: ``rss_peak_mb`` (resident-set high-water
    mark minus the resident set before; everything, native libraries
    included) and, with ``trace``, ``traced_peak_mb`` (tracemalloc: numpy
    and Python allocations; slows Python-heavy code down)."""
    import gc
    gc.collect()
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current resident set
        base, how = _status_mb()['VmRSS'], 'VmHWM'
    except OSError:  # pragma: no cover - clear_refs not permitted
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        how = 'ru_maxrss'
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    run()
    record = dict(seconds=time.perf_counter() - start, rss_method=how)
    if trace:
        record['traced_peak_mb'] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    peak = _status_mb()['VmHWM'] if how == 'VmHWM' else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record.update(rss_peak_mb=peak - base, rss_base_mb=base)
    return record


def memory_in_subprocess(script: str,
                         op: str,
                         arrays: Dict[str, str],
                         extra: List[str],
                         trace: bool = False) -> Dict[str, float]:
    """Run ``script --child OP`` in a fresh interpreter (the arrays given
    as ``.npy`` paths) and return its :func:`measure_memory` record; with
    ``trace``, a second fresh run adds the tracemalloc peak."""
    cmd = [sys.executable, script, '--child', op,
           '--child-arrays', json.dumps(arrays)] + extra
    if trace:
        record = memory_in_subprocess(script, op, arrays, extra)
        traced = memory_in_subprocess(script, op, arrays,
                                      extra + ['--child-trace'])
        record['traced_peak_mb'] = traced['traced_peak_mb']
        return record
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def alternate(ops: Dict[str, Callable[[], object]],
              repeat: int) -> Dict[str, List[float]]:
    """Wall-clock seconds of each op, run in turn ``repeat`` times (so
    that load on a shared machine hits all alike)."""
    times = {name: [] for name in ops}
    for _ in range(repeat):
        for name, op in ops.items():
            start = time.perf_counter()
            op()
            times[name].append(time.perf_counter() - start)
    return times


def machine() -> str:
    """CPU model, cores and the thread settings that matter here."""
    model = 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            model = next(line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    threads = os.environ.get('OMP_NUM_THREADS', 'unset')
    try:
        import faiss
        threads += f' (faiss uses {faiss.omp_get_max_threads()})'
    except ImportError:
        pass
    return f'{model}, {os.cpu_count()} cores, OMP_NUM_THREADS={threads}'


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---:' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def median(values: List[float]) -> float:
    return float(statistics.median(values))


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """A parser with the options both benchmarks take (``--dim``,
    ``--repeat``, ``--seed``, ``--no-memory``, ``--json``) and the hidden
    ones of the memory subprocesses."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed runs of each, alternating')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the subprocess memory measurements')
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--child-trace', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--child-arrays', help=argparse.SUPPRESS)
    return parser


# ----------------------------------------------------------------------
# The pseudo-label refresh
# ----------------------------------------------------------------------


def build_generator(config: str, knn=None):
    """The label generator of ``config`` (optionally with another kNN)."""
    from mmengine.config import Config

    import jclreid.clustering  # noqa: F401 (registers the stages)
    from jclreid.registry import CLUSTERERS
    cfg = Config.fromfile(config).default_hooks.pseudo_label
    spec = cfg.to_dict()['label_generator'] if hasattr(
        cfg, 'to_dict') else dict(cfg['label_generator'])
    if knn is not None:
        spec['distance']['knn'] = knn
    return CLUSTERERS.build(spec)


def search_size(generator) -> int:
    """Rank-list length the generator's Jaccard distance asks for."""
    from jclreid.clustering.k_reciprocal import neighbourhood_sizes
    dist = generator.distance
    return max(neighbourhood_sizes(dist.k1, dist.k2, 10**9,
                                   dist.neighbourhood))


def child(args) -> None:
    """One measurement in a fresh process (see ``--child``): peak RSS and
    time (or, with ``--child-trace``, the tracemalloc peak) and, for the
    refresh, the time of each stage and the labels."""
    from jclreid.clustering.knn import knn_search
    arrays = {k: np.load(v) for k, v in json.loads(args.child_arrays).items()}
    feats = arrays['features']
    if args.child == 'knn':
        k = search_size(build_generator(args.config))
        record = measure_memory(
            lambda: knn_search(feats, k, backend='faiss'), args.child_trace)
    else:  # 'refresh' or 'refresh-<index>'
        index = args.child.split('-', 1)[1] if '-' in args.child else None
        gen = build_generator(args.config, index)
        out = {}

        def run():
            with stage_timer() as stages:
                out.update(r=gen(feats, arrays['camids']), stages=stages)

        record = measure_memory(run, args.child_trace)
        labels, summary = out['r']
        record.update(stages=out['stages']['seconds'],
                      stage_peak_mb={
                          k: v - record['rss_base_mb']
                          for k, v in out['stages']['high_mb'].items()},
                      num_clusters=summary['num_clusters'],
                      labels=labels.tolist())
    print(json.dumps(record))


@contextlib.contextmanager
def stage_timer() -> Iterator[Dict[str, Dict[str, float]]]:
    """Seconds spent in the stages of the refreshes run inside: kNN,
    encoding (reciprocal sets, weights, query expansion) and Jaccard; the
    rest of the wall time (clustering + filters) is added on exit as
    ``'cluster+filter'``. Yields ``dict(seconds=..., high_mb=...)``:
    ``high_mb[stage]`` is the resident-set high-water mark (MB, absolute)
    when the stage ended, where the stage raised it (so, relative to the
    run's starting point, the peak of that stage)."""
    import jclreid.clustering.jaccard as jaccard_mod
    spent: Dict[str, float] = {}
    high: Dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            before = _status_mb().get('VmHWM', 0.0)
            start = time.perf_counter()
            out = fn(*a, **kw)
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
            after = _status_mb().get('VmHWM', 0.0)
            if after > before:
                high[name] = after
            return out
        return wrapper

    names = dict(knn_search='knn', k_reciprocal_encoding='encoding',
                 jaccard_sparse='jaccard')
    saved = {attr: getattr(jaccard_mod, attr) for attr in names}
    start = time.perf_counter()
    before = _status_mb().get('VmHWM', 0.0)
    try:
        for attr, name in names.items():
            setattr(jaccard_mod, attr, timed(name, saved[attr]))
        yield dict(seconds=spent, high_mb=high)
    finally:
        for attr, fn in saved.items():
            setattr(jaccard_mod, attr, fn)
        spent['cluster+filter'] = time.perf_counter() - start - sum(
            spent.values())
        after = _status_mb().get('VmHWM', 0.0)
        if after > max([before] + list(high.values())):
            high['cluster+filter'] = after


def knn_agreement(feats, camids, exact_labels, exact_rank, config, knn,
                  k):
    """Recall@k of an approximate index's rank lists against the exact
    ones (``exact_rank``, (N, k)) and the refresh's label agreement (ARI;
    the fraction of points whose group is the same set of points).
    ``knn``: the ``JaccardDistance.knn`` setting (``'ivf'``, ``'hnsw'`` or
    a dict such as ``dict(index='ivf', nprobe=64)``)."""
    from sklearn.metrics import adjusted_rand_score

    from jclreid.clustering.knn import knn_search, knn_settings
    start = time.perf_counter()
    _, approx = knn_search(feats, k, **knn_settings(knn))
    knn_seconds = time.perf_counter() - start
    hits = (approx[:, :, None] == exact_rank[:, None, :]).any(axis=1).sum()
    gen = build_generator(config, knn)
    start = time.perf_counter()
    labels, summary = gen(feats, camids)
    refresh_seconds = time.perf_counter() - start
    return dict(index=knn if isinstance(knn, str) else knn['index'],
                knn=knn, recall=float(hits / exact_rank.size),
                knn_seconds=knn_seconds, refresh_seconds=refresh_seconds,
                ari_vs_exact=float(adjusted_rand_score(exact_labels, labels)),
                same_group_fraction=same_group_fraction(labels, exact_labels),
                num_clusters=summary['num_clusters'])


def same_group_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of points whose group is the same set of points under both
    labelings (an outlier, -1, counts as its own group)."""
    a, b = _singletons(a), _singletons(b)
    _, pair = np.unique(np.stack([a, b]), axis=1, return_inverse=True)
    pair = pair.ravel()
    size_a = np.bincount(a)[a]
    size_b = np.bincount(b)[b]
    size_ab = np.bincount(pair)[pair]
    return float(((size_ab == size_a) & (size_ab == size_b)).mean())


def _singletons(labels: np.ndarray) -> np.ndarray:
    """Labels with each -1 made a group of its own (non-negative ids)."""
    labels = np.asarray(labels).copy()
    out = labels < 0
    labels[out] = labels.max(initial=-1) + 1 + np.arange(out.sum())
    return labels


def dense_reference_check(feats, camids, labels, generator) -> Dict:
    """The refresh's distances and labels against the formula evaluated
    with dense n x n arrays (boolean set matrices and matrix products
    instead of the sparse core; minutes and a few GB at Market size).

    Also counts the rows whose rank lists differ between the reference
    (numpy float32 products, stable sort) and faiss: float32 near-ties
    may swap neighbours, and such a row's distances then differ by more
    than rounding.
    """
    import scipy.sparse as sp

    from jclreid.clustering.k_reciprocal import neighbourhood_sizes
    from jclreid.clustering.knn import knn_search
    dist_cfg, clusterer = generator.distance, generator.clusterer
    n = len(feats)
    main, half, qe = neighbourhood_sizes(dist_cfg.k1, dist_cfg.k2, n,
                                         dist_cfg.neighbourhood)
    x = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    length = max(main, half, qe)
    rank = np.empty((n, length), dtype=np.int64)
    for lo in range(0, n, 1024):
        d = 2 - 2 * (x[lo:lo + 1024] @ x.T)
        d[np.arange(len(d)), lo + np.arange(len(d))] = -1  # self first
        rank[lo:lo + 1024] = np.argsort(d, axis=1, kind='stable')[:, :length]
    _, faiss_rank = knn_search(feats, length)
    rank_rows_differ = int((np.sort(rank, 1) != np.sort(faiss_rank, 1)
                            ).any(axis=1).sum())

    def recip(m):  # R[p, g]: g in N(p, m) and p in N(g, m)
        forward = np.zeros((n, n), dtype=bool)
        forward[np.arange(n)[:, None], rank[:, :m]] = True
        return forward & forward.T

    R, H = recip(main), recip(half)
    Hf = H.astype(np.float32)
    overlap = R.astype(np.float32) @ Hf.T  # |R(p) & R(q, half)|
    accept = R & (3 * overlap > 2 * H.sum(axis=1)[None, :])
    del overlap
    members = R | (accept.astype(np.float32) @ Hf > 0)
    del R, H, Hf, accept
    V = np.zeros((n, n))
    for lo in range(0, n, 1024):
        w = np.exp(-(2 - 2 * (x[lo:lo + 1024] @ x.T))).astype(np.float64)
        w *= members[lo:lo + 1024]
        V[lo:lo + 1024] = w / w.sum(axis=1, keepdims=True)
    del members
    if qe > 1:
        expanded = np.empty_like(V)
        for lo in range(0, n, 256):
            expanded[lo:lo + 256] = V[rank[lo:lo + 256, :qe]].mean(axis=1)
        V = expanded
    Vt = np.ascontiguousarray(V.T)
    rows, cols, vals = [], [], []
    for p in range(n):
        used = np.flatnonzero(V[p])
        s = np.minimum(Vt[used], V[p, used][:, None]).sum(axis=0)
        d = np.clip(1 - s / (2 - s), 0, 1)
        keep = np.flatnonzero(d <= clusterer.max_distance)
        rows.append(np.full(keep.size, p))
        cols.append(keep)
        vals.append(d[keep])
    del V, Vt
    dense = sp.csr_matrix((np.concatenate(vals),
                           (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
    ref = relabel_through_filters(generator, clusterer(dense), camids)
    ours = generator.distance(feats, max_distance=clusterer.max_distance)
    diff = abs(ours - dense).tocoo()
    big = np.unique(diff.row[diff.data > 1e-6])
    return dict(labels_identical=bool(np.array_equal(ref, labels)),
                max_abs_diff=float(diff.data.max() if diff.nnz else 0.0),
                rows_diff_above_1e_6=int(big.size),
                max_abs_diff_other_rows=float(
                    diff.data[~np.isin(diff.row, big)].max(initial=0.0)),
                rank_rows_differ=rank_rows_differ,
                pairs_ours=int(ours.nnz), pairs_reference=int(dense.nnz))


def relabel_through_filters(generator, labels, camids) -> np.ndarray:
    from jclreid.clustering.filters import relabel_contiguous
    labels = relabel_contiguous(labels)
    for filt in generator.filters:
        labels, _ = filt(labels, camids)
    return np.asarray(labels)


def parse_args():
    parser = benchmark_parser(__doc__)
    parser.add_argument('--sizes', type=int, nargs='+', default=[12936],
                        help='numbers of training images')
    parser.add_argument('--cams', type=int, default=6)
    parser.add_argument('--spread', type=float, default=0.6,
                        help='per-image noise of make_problem (larger: '
                        'harder, more outliers, larger neighbourhoods)')
    parser.add_argument('--config', default=osp.join(
        osp.dirname(__file__), '..', '..', 'configs', 'jcl',
        'jcl_r50_market.py'))
    parser.add_argument('--check', action='store_true',
                        help='compare with a dense implementation of the '
                        'formula (n x n arrays: n <= ~15,000)')
    parser.add_argument('--knn', nargs='*', default=[],
                        choices=['ivf', 'hnsw'],
                        help='approximate indexes to compare with exact')
    parser.add_argument('--nprobe', type=int, nargs='+', default=[0],
                        help='IVF cells scanned per query for --knn ivf '
                        '(several: one comparison each; 0: the default, 16)')
    parser.add_argument('--tracemalloc', action='store_true',
                        help='also measure the tracemalloc peak (numpy and '
                        'Python allocations) in one more subprocess each')
    args = parser.parse_args()
    if args.repeat == 0 and args.no_memory:
        parser.error('--repeat 0 takes the times from the memory runs')
    return args


def main():
    args = parse_args()
    if args.child:
        return child(args)
    from jclreid.clustering.knn import knn_search
    generator = build_generator(args.config)
    k = search_size(generator)
    print(f'machine: {machine()}\nrefresh: {generator.distance!r} -> '
          f'{generator.clusterer!r} -> {generator.filters!r}; bound: exact '
          f'faiss kNN, k={k}')
    results = []
    for num in args.sizes:
        feats, pids, camids = make_problem(num, args.dim, num_cams=args.cams,
                                           spread=args.spread, seed=args.seed)
        record = dict(num=num, dim=args.dim, ids=int(np.unique(pids).size),
                      spread=args.spread, features_mb=feats.nbytes / 2**20,
                      repeat=args.repeat)
        if args.repeat:
            out = {}
            times = alternate(
                dict(knn=lambda: knn_search(feats, k, backend='faiss'),
                     refresh=lambda: out.update(r=generator(feats, camids))),
                args.repeat)
            labels = out['r'][0]
            record.update(knn_s=median(times['knn']),
                          refresh_s=median(times['refresh']), times=times,
                          num_clusters=out['r'][1]['num_clusters'])
        with tempfile.TemporaryDirectory() as tmp:
            paths = dict(features=osp.join(tmp, 'f.npy'),
                         camids=osp.join(tmp, 'c.npy'))
            np.save(paths['features'], feats)
            np.save(paths['camids'], camids)
            ops = [] if args.no_memory else ['knn', 'refresh'] + [
                f'refresh-{i}' for i in args.knn]
            for op in ops:
                mem = memory_in_subprocess(__file__, op, paths,
                                           ['--config', args.config],
                                           args.tracemalloc)
                if op == 'refresh':
                    labels = np.asarray(mem['labels'])
                    record['num_clusters'] = mem['num_clusters']
                    record['stages'] = mem['stages']
                mem.pop('labels', None)
                record[f'memory_{op}'] = mem
        if not args.repeat:  # times of the single runs in subprocesses
            record.update(
                knn_s=record['memory_knn']['seconds'],
                refresh_s=record['memory_refresh']['seconds'])
        record['ratio'] = record['refresh_s'] / record['knn_s']
        from sklearn.metrics import adjusted_rand_score
        record['ari_vs_identities'] = float(adjusted_rand_score(pids, labels))
        record['num_outliers'] = int((labels < 0).sum())
        if args.check:
            record['check'] = dense_reference_check(feats, camids, labels,
                                                    generator)
        settings = [
            dict(index='ivf', nprobe=n) if index == 'ivf' and n else index
            for index in args.knn
            for n in (args.nprobe if index == 'ivf' else [None])]
        if settings:
            _, exact_rank = knn_search(feats, k)
        record['knn_compare'] = [
            knn_agreement(feats, camids, labels, exact_rank, args.config,
                          knn, k) for knn in settings]
        results.append(record)
        print(json.dumps({key: value for key, value in record.items()
                          if key != 'times'}, default=str), flush=True)
    rows = []
    for r in results:
        mem = r.get('memory_refresh', {})
        rows.append([
            f"{r['num']:,}", r['dim'], f"{r['knn_s']:.1f}",
            f"{r['refresh_s']:.1f}", f"{r['ratio']:.2f}",
            f"{mem.get('rss_peak_mb', float('nan')):.0f}",
            f"{mem.get('traced_peak_mb', float('nan')):.0f}",
            f"{r.get('memory_knn', {}).get('rss_peak_mb', float('nan')):.0f}",
            r['num_clusters'], f"{r['ari_vs_identities']:.3f}"])
    print('\n' + markdown_table(
        ['N', 'D', 'exact kNN (s)', 'refresh (s)', 'ratio',
         'refresh peak RSS (MB)', 'refresh tracemalloc peak (MB)',
         'kNN peak RSS (MB)', 'clusters', 'ARI vs ids'], rows))
    for r in results:
        if 'stages' in r:
            print(f"stages at N={r['num']:,} (memory run): " + ', '.join(
                f'{k} {v:.2f}s' for k, v in r['stages'].items()))
            print('  stages that raised the peak RSS (MB above the start): '
                  + ', '.join(f'{k} {v:.0f}' for k, v in r['memory_refresh'][
                      'stage_peak_mb'].items()))
        if 'check' in r:
            print(f"dense check at N={r['num']:,}: {r['check']}")
        for c in r['knn_compare']:
            print(f"N={r['num']:,} {c['knn']}: recall@{k} "
                  f"{c['recall']:.4f}, kNN {c['knn_seconds']:.1f}s, refresh "
                  f"{c['refresh_seconds']:.1f}s, ARI vs exact "
                  f"{c['ari_vs_exact']:.4f}, same group "
                  f"{c['same_group_fraction']:.4f}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine(), command=sys.argv,
                           results=results), f, indent=1, default=str)


if __name__ == '__main__':
    main()
