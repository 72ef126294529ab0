# Copyright (c) jclreid contributors. All rights reserved.
"""Train configs with several seeds and write a mean +- std table.

Every (config, seed) pair is one ``tools/train.py`` run in its own work dir
(``WORK_DIR/<config name>/seed<N>``, one torch thread each, ``--jobs`` at a
time). A finished run leaves ``result.json`` (final and untrained metrics,
the last pseudo-label statistics, wall time) and is not run again unless
``--force``, so an interrupted table resumes where it stopped. The table
(Markdown) goes to ``--out`` and to stdout.

Examples:
    # the README's headline: the main job over 3 seeds
    python tools/analysis_tools/run_seeds.py \\
        configs/jcl/jcl_r18_synthetic.py --seeds 0 1 2 \\
        --out docs/en/tables/synthetic_seeds.md
    # the ablation table
    python tools/analysis_tools/run_seeds.py configs/jcl/ablations/*.py \\
        --seeds 0 1 2 --jobs 2 --out docs/en/tables/ablations.md
    # re-print a table from finished runs only
    python tools/analysis_tools/run_seeds.py configs/jcl/ablations/*.py \\
        --seeds 0 1 2 --summarize-only
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

import numpy as np

from jclreid.utils import atomic_write

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Columns of the table: (key in result.json, header).
REID_COLUMNS = [('reid/mAP', 'mAP'), ('reid/Rank-1', 'Rank-1'),
                ('reid/mINP', 'mINP')]
SCENE_COLUMNS = [('scene/ACC', 'ACC'), ('scene/NMI', 'NMI'),
                 ('scene/ARI', 'ARI')]
PSEUDO_COLUMNS = [('pseudo_label/gt_nmi', 'pseudo NMI'),
                  ('pseudo_label/gt_pair_fscore', 'pseudo pair F'),
                  ('pseudo_label/num_clusters', 'clusters')]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train configs over seeds; write mean +- std tables')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--work-dir', default='work_dirs/seeds',
        help='runs go to WORK_DIR/<config name>/seed<N>')
    parser.add_argument('--out', help='write the Markdown table here')
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='runs at a time (each uses one torch thread)')
    parser.add_argument(
        '--gpus', type=int, default=1,
        help='processes per run: > 1 launches tools/dist_train.sh')
    parser.add_argument(
        '--force', action='store_true', help='rerun finished runs')
    parser.add_argument(
        '--summarize-only', action='store_true',
        help='only tabulate runs that already finished')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='extra key=value overrides passed to every run')
    args = parser.parse_args(argv)
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config file {path!r} does not exist')
    if args.gpus > 1 and args.jobs > 1:
        parser.error('--gpus > 1 runs one job at a time (--jobs 1)')
    if args.jobs < 1:
        parser.error(f'--jobs must be >= 1, got {args.jobs}')
    return args


def config_name(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def read_scalars(work_dir: str) -> List[dict]:
    """The records of the newest ``*/vis_data/scalars.json`` of a run."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize_run(records: List[dict]) -> Dict[str, float]:
    """Final validation metrics, the untrained ones (``before/...``) and the
    last pseudo-label statistics of one run's scalar records."""
    metric_prefixes = ('reid/', 'scene/')
    val = [r for r in records if any(
        k.startswith(metric_prefixes) for k in r)]
    if not val:
        raise ValueError('the run logged no validation metric')
    out = {}
    for key, value in val[-1].items():
        if key.startswith(metric_prefixes):
            out[key] = float(value)
    if len(val) > 1:
        for key, value in val[0].items():
            if key.startswith(metric_prefixes):
                out[f'before/{key}'] = float(value)
    for record in records:
        for key, value in record.items():
            if key.startswith('pseudo_label/') and 'warmup' not in key:
                out[key] = float(value)  # the last refresh wins
    return out


def code_version() -> str:
    """``git describe``-like id of the code a run used: the commit, with
    ``+dirty`` when the package, configs or tools differ from it."""
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                                cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(
            ['git', 'diff', '--quiet', 'HEAD', '--', 'jclreid', 'configs',
             'tools'], cwd=ROOT).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return commit + ('+dirty' if dirty else '')


def run_one(config: str,
            seed: int,
            work_dir: str,
            cfg_options: List[str],
            force: bool,
            gpus: int = 1) -> Optional[dict]:
    """Train one (config, seed) unless already done; return its result."""
    result_file = osp.join(work_dir, 'result.json')
    if osp.isfile(result_file) and not force:
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(work_dir, exist_ok=True)
    if gpus > 1:
        launch = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config,
                  str(gpus)]
    else:
        launch = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config]
    cmd = launch + ['--work-dir', work_dir, '--cfg-options',
                    f'randomness.seed={seed}'] + list(cfg_options)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHON=sys.executable)
    version = code_version()
    start = time.time()
    with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                              env=env)
    wall = time.time() - start
    if proc.returncode != 0:
        print(f'FAILED ({proc.returncode}): {" ".join(cmd)}; see '
              f'{osp.join(work_dir, "train_stdout.log")}', flush=True)
        return None
    result = summarize_run(read_scalars(work_dir))
    result.update(config=config, seed=seed, wall_time_s=round(wall, 1),
                  command=' '.join(cmd[1:]), code=version)
    atomic_write(json.dumps(result, indent=1).encode(), result_file)
    print(f'done {config_name(config)} seed {seed}: '
          f'{_short(result)} in {wall / 60:.1f} min', flush=True)
    return result


def _short(result: dict) -> str:
    keys = [k for k, _ in REID_COLUMNS + SCENE_COLUMNS if k in result]
    return ', '.join(f'{k} {result[k]:.1f}' for k in keys)


def mean_std(values: List[float], digits: int = 1) -> str:
    """``'mean ± std'`` (sample std, ddof=1); a single value has no std."""
    if not values:
        return '-'
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return f'{arr[0]:.{digits}f}'
    return f'{arr.mean():.{digits}f} ± {arr.std(ddof=1):.{digits}f}'


def make_table(results: Dict[str, List[dict]]) -> str:
    """Markdown table, one row per config, mean ± std over its seeds."""
    rows = [r for runs in results.values() for r in runs]
    task_cols = [c for c in REID_COLUMNS + SCENE_COLUMNS
                 if any(c[0] in r for r in rows)]
    before_cols = [(f'before/{k}', f'{h} untrained')
                   for k, h in SCENE_COLUMNS if any(
                       f'before/{k}' in r for r in rows)]
    pseudo_cols = [c for c in PSEUDO_COLUMNS if any(c[0] in r for r in rows)]
    columns = task_cols + before_cols + pseudo_cols
    header = ['config', 'seeds'] + [h for _, h in columns] + ['wall (min)']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + ' --- |' * len(header)]
    for name, runs in results.items():
        cells = [f'`{name}`', ' '.join(str(r['seed']) for r in runs)]
        for key, _ in columns:
            values = [r[key] for r in runs if key in r]
            if key.startswith('pseudo_label/') and 'gt_' in key:
                values = [100 * v for v in values]
            cells.append(mean_std(values))
        cells.append(mean_std([r['wall_time_s'] / 60 for r in runs]))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    # Seed-major order: a partial run of a long table already has every
    # config at the first seed.
    jobs = [(cfg, seed,
             osp.join(args.work_dir, config_name(cfg), f'seed{seed}'))
            for seed in args.seeds for cfg in args.configs]
    if args.summarize_only:
        outcomes = []
        for _, _, work in jobs:
            result_file = osp.join(work, 'result.json')
            if osp.isfile(result_file):
                with open(result_file) as f:
                    outcomes.append(json.load(f))
            else:
                outcomes.append(None)
    else:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(
                pool.map(
                    lambda job: run_one(job[0], job[1], job[2],
                                        args.cfg_options, args.force,
                                        args.gpus),
                    jobs))
    results: Dict[str, List[dict]] = {}
    for (cfg, _, _), outcome in zip(jobs, outcomes):
        if outcome is not None:
            results.setdefault(config_name(cfg), []).append(outcome)
    if not results:
        print('no finished run to tabulate')
        return 1
    given = sys.argv[1:] if argv is None else argv
    command = 'python tools/analysis_tools/run_seeds.py ' + ' '.join(
        a for a in given if a not in ('--summarize-only', '--force'))
    table = make_table(results)
    codes = sorted({r.get('code', 'unknown')
                    for runs in results.values() for r in runs})
    text = (f'Command: `{command}`\n\nCode: {", ".join(codes)}\n\n'
            f'{table}')
    print(text)
    if args.out:
        atomic_write(text.encode(), args.out)
    missing = sum(o is None for o in outcomes)
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
