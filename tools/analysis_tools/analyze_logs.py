# Copyright (c) jclreid contributors. All rights reserved.
"""Curves and training time from the json logs of runs.

mmengine writes two json logs per run under ``<work_dir>/<timestamp>/``:
``vis_data/scalars.json`` (every scalar, including the pseudo-label
statistics the ``PseudoLabelHook`` logs as ``pseudo_label/*``) and
``vis_data/<timestamp>.json`` (train and val records only). Give either
file, a ``<timestamp>`` folder or a work dir (its newest run); a folder
resolves to ``vis_data/scalars.json``.

Records: train records (``epoch``, ``iter``: losses, ``lr``, ``time``)
are plotted against iterations, shown in epochs when the run is
epoch-based (global iteration / iterations per epoch); val records
(``reid/*`` or ``scene/*``) and pseudo-label records are plotted at their
``step``, the number of epochs trained (0 = before training; the pseudo
labels at ``x`` were clustered from the model after ``x`` epochs). A key
may be given in full (``reid/mAP``) or by its last part when that is
unique (``mAP``).

Examples:
    python tools/analysis_tools/analyze_logs.py plot_curve \\
        work_dirs/jcl_r18_synthetic/20261206_154846/vis_data/scalars.json \\
        --out curve.png
    python tools/analysis_tools/analyze_logs.py plot_curve RUN_A RUN_B \\
        --keys loss reid/mAP --legend baseline jcl --out compare.png
    python tools/analysis_tools/analyze_logs.py cal_train_time RUN_A
"""
import argparse
import io
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Plotted by ``plot_curve`` when ``--keys`` is not given, those present.
DEFAULT_KEYS = ('loss', 'loss_cluster', 'loss_instance', 'reid/mAP',
                'reid/Rank-1', 'scene/ACC', 'scene/NMI',
                'pseudo_label/num_clusters', 'pseudo_label/num_outliers',
                'pseudo_label/gt_nmi', 'pseudo_label/gt_pair_fscore')

#: Keys of every record that only place it (never plotted).
_PLACE_KEYS = ('epoch', 'iter', 'step')


class RunLog:
    """The records of one json log, split into train and epoch-level
    (validation and pseudo-label) records.

    Args:
        path (str): A json log file (one json object per line).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: Naming the file and line of a record that is not a
            json object.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.train: List[dict] = []
        self.epochs: List[dict] = []
        with open(path, encoding='utf-8') as f:
            for num, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f'{path}, line {num}: not a json record ({err}); '
                        'expected an mmengine json log (vis_data/'
                        'scalars.json or vis_data/<timestamp>.json)') from None
                if not isinstance(record, dict) or 'step' not in record:
                    raise ValueError(
                        f'{path}, line {num}: expected a json object with a '
                        f'"step" (an mmengine log record), got {line[:80]!r}')
                (self.train if 'iter' in record else self.epochs).append(
                    record)
        self.epoch_based = bool(self.train) and all('epoch' in r
                                                    for r in self.train)

    def keys(self) -> List[str]:
        """Every plottable key, train keys first, in order of appearance."""
        seen: Dict[str, None] = OrderedDict()
        for record in self.train + self.epochs:
            for key, value in record.items():
                if key not in _PLACE_KEYS and isinstance(
                        value, (int, float)) and not isinstance(value, bool):
                    seen.setdefault(key)
        return list(seen)

    def iters_per_epoch(self) -> Optional[int]:
        """Iterations per epoch of an epoch-based run (epochs have a fixed
        length: the last logged iteration of epoch ``e`` is ``e`` times
        it for every complete epoch), else None."""
        if not self.epoch_based:
            return None
        last: Dict[int, int] = {}
        for record in self.train:
            epoch = int(record['epoch'])
            last[epoch] = max(last.get(epoch, 0), int(record['iter']))
        ratios = [round(it / ep) for ep, it in last.items() if ep > 0]
        return max(ratios) if ratios else None

    def series(self, key: str) -> Tuple[np.ndarray, np.ndarray, str]:
        """``(x, y, x_label)`` of ``key``: train records against epochs
        (or iterations), epoch-level records against their step."""
        train = [r for r in self.train if key in r]
        if train:
            x = np.array([r['iter'] for r in train], dtype=float)
            per_epoch = self.iters_per_epoch()
            if per_epoch:
                return (x / per_epoch, np.array([r[key] for r in train],
                                                dtype=float), 'epoch')
            return x, np.array([r[key] for r in train], dtype=float), 'iter'
        records = [r for r in self.epochs if key in r]
        x = np.array([r['step'] for r in records], dtype=float)
        return (x, np.array([r[key] for r in records], dtype=float),
                'epoch' if self.epoch_based or not self.train else 'iter')

    def resolve(self, key: str) -> str:
        """The full name of ``key`` in this log: itself, else the unique
        key whose last ``/`` part it is.

        Raises:
            KeyError: Listing the keys this log has (and, for a
                ``<timestamp>.json`` log without it, pointing at
                ``scalars.json``, which holds the ``pseudo_label/*`` keys).
        """
        keys = self.keys()
        if key in keys:
            return key
        matches = [k for k in keys if k.rsplit('/', 1)[-1] == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise KeyError(f'key {key!r} is ambiguous in {self.path}: '
                           f'{matches}; give the full name')
        hint = ''
        if osp.basename(self.path) != 'scalars.json' and osp.isfile(
                osp.join(osp.dirname(self.path), 'scalars.json')):
            hint = (' (the pseudo_label/* statistics are only in '
                    f'{osp.join(osp.dirname(self.path), "scalars.json")})')
        raise KeyError(f'key {key!r} is not in {self.path}{hint}; the keys '
                       f'it has are: {", ".join(keys)}')


def find_log(path: str) -> str:
    """The json log of ``path``: the file itself; for a folder its
    ``vis_data/scalars.json`` or that of its newest ``<timestamp>``
    subfolder (a work dir).

    Raises:
        FileNotFoundError: Naming ``path`` and what was expected.
    """
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        for candidate in (osp.join(path, 'scalars.json'),
                          osp.join(path, 'vis_data', 'scalars.json')):
            if osp.isfile(candidate):
                return candidate
        runs = sorted(d for d in os.listdir(path) if osp.isfile(
            osp.join(path, d, 'vis_data', 'scalars.json')))
        if runs:
            return osp.join(path, runs[-1], 'vis_data', 'scalars.json')
    raise FileNotFoundError(
        f'{path!r} is not a json log, nor a run folder (<work_dir>/'
        '<timestamp>) or work dir holding vis_data/scalars.json')


def load_logs(paths: Sequence[str]) -> List[RunLog]:
    """:class:`RunLog` of each path (see :func:`find_log`)."""
    return [RunLog(find_log(p)) for p in paths]


def choose_keys(logs: Sequence[RunLog],
                keys: Optional[Sequence[str]]) -> List[str]:
    """The keys to plot: ``keys`` resolved in every log (KeyError when one
    lacks one), else the :data:`DEFAULT_KEYS` that every log has."""
    if keys:
        resolved = []
        for key in keys:
            names = {log.resolve(key) for log in logs}
            resolved.append(names.pop() if len(names) == 1 else key)
        return resolved
    present = set.intersection(*(set(log.keys()) for log in logs))
    chosen = [k for k in DEFAULT_KEYS if k in present]
    if not chosen:
        raise KeyError(
            f'none of the default keys {list(DEFAULT_KEYS)} is in '
            f'{[log.path for log in logs]}; give --keys, from: '
            f'{", ".join(sorted(present))}')
    return chosen


def plot_curve(logs: Sequence[RunLog],
               keys: Sequence[str],
               out: str,
               legend: Optional[Sequence[str]] = None,
               title: Optional[str] = None,
               ncols: int = 3,
               dpi: int = 100) -> str:
    """Write one panel per key, one line per log, as a PNG.

    Args:
        logs (Sequence[RunLog]): The runs.
        keys (Sequence[str]): Keys (full names or unique last parts).
        out (str): Output PNG path (written atomically).
        legend (Sequence[str], optional): A label per log. Defaults to the
            logs' run folders.
        title (str, optional): Figure title.
        ncols (int): Panels per row. Defaults to 3.
        dpi (int): Defaults to 100.

    Returns:
        str: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from jclreid.utils.fileio import atomic_write

    if legend is not None and len(legend) != len(logs):
        raise ValueError(f'--legend has {len(legend)} names for {len(logs)} '
                         'logs')
    if legend is None:
        legend = [_run_name(log.path) for log in logs]
    ncols = max(1, min(ncols, len(keys)))
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for log, name in zip(logs, legend):
            x, y, x_label = log.series(log.resolve(key))
            marker = 'o' if len(x) < 30 else None
            ax.plot(x, y, marker=marker, markersize=3, label=name)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
        if len(logs) > 1:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    plt.close(fig)
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    atomic_write(buffer.getvalue(), out)
    return out


def train_time(log: RunLog) -> dict:
    """Per-iteration time statistics of a run's train records
    (``time`` per logged iteration, averaged per epoch).

    Returns:
        dict: ``mean`` (s/iter over all records), ``slowest`` / ``fastest``
        (epoch, s/iter) and ``std`` over the epochs' means.

    Raises:
        KeyError: If the log has no train record with ``time``.
    """
    records = [r for r in log.train if 'time' in r]
    if not records:
        raise KeyError(f'{log.path} has no train record with "time"')
    by_epoch: Dict[int, List[float]] = OrderedDict()
    for r in records:
        by_epoch.setdefault(int(r.get('epoch', 1)), []).append(r['time'])
    means = {e: float(np.mean(v)) for e, v in by_epoch.items()}
    slowest = max(means, key=means.get)
    fastest = min(means, key=means.get)
    return dict(
        mean=float(np.mean([r['time'] for r in records])),
        slowest=(slowest, means[slowest]),
        fastest=(fastest, means[fastest]),
        std=float(np.std(list(means.values()))))


def _run_name(path: str) -> str:
    """``<timestamp>`` (or the file name) of a log path, for legends."""
    parts = osp.normpath(path).split(os.sep)
    if len(parts) >= 3 and parts[-2] == 'vis_data':
        return osp.join(parts[-4], parts[-3]) if len(parts) >= 4 \
            else parts[-3]
    return osp.basename(path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Analyze the json logs of runs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser(
        'plot_curve', help='plot keys of the logs against epochs')
    plot.add_argument(
        'json_logs', nargs='+',
        help='json logs (vis_data/scalars.json), run folders or work dirs')
    plot.add_argument(
        '--keys', nargs='+',
        help='keys to plot (full, e.g. pseudo_label/gt_nmi, or a unique '
        f'last part, e.g. mAP); default: those of {list(DEFAULT_KEYS)} '
        'the logs have')
    plot.add_argument('--legend', nargs='+', help='a name per log')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--ncols', type=int, default=3, help='panels per row')
    plot.add_argument('--dpi', type=int, default=100)
    plot.add_argument('--out', required=True, help='output PNG')
    timing = sub.add_parser(
        'cal_train_time', help='time per iteration of each run')
    timing.add_argument('json_logs', nargs='+')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        logs = load_logs(args.json_logs)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(str(err)) from None
    if args.task == 'plot_curve':
        if not args.out.lower().endswith('.png'):
            raise SystemExit(f'--out {args.out!r}: expected a .png file')
        try:
            keys = choose_keys(logs, args.keys)
        except KeyError as err:
            raise SystemExit(err.args[0]) from None
        plot_curve(logs, keys, args.out, args.legend, args.title, args.ncols,
                   args.dpi)
        print(f'plotted {", ".join(keys)} of {len(logs)} log(s) to '
              f'{args.out}')
        return
    for log in logs:
        try:
            stats = train_time(log)
        except KeyError as err:
            raise SystemExit(err.args[0]) from None
        print(f'-----Analyze train time of {log.path}-----')
        print(f'slowest epoch {stats["slowest"][0]}, average time is '
              f'{stats["slowest"][1]:.4f} s/iter')
        print(f'fastest epoch {stats["fastest"][0]}, average time is '
              f'{stats["fastest"][1]:.4f} s/iter')
        print(f'time std over epochs is {stats["std"]:.4f}')
        print(f'average iter time: {stats["mean"]:.4f} s/iter')


if __name__ == '__main__':
    sys.exit(main())
