# Copyright (c) jclreid contributors. All rights reserved.
"""The speed benchmarks of tools/analysis_tools on tiny problems: each runs
from a fresh shell, writes its JSON record, and its correctness checks
(labels equal to the dense formula, evaluator equal to the textbook one,
approximate kNN against exact) hold."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')


def _run(tool, *args, out):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, tool), *args, '--json', str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as f:
        return json.load(f), proc.stdout


def test_benchmark_pseudo_label_checks_labels_and_approximate_knn(tmp_path):
    saved, stdout = _run(
        'benchmark_pseudo_label.py', '--sizes', '1200', '--dim', '48',
        '--repeat', '1', '--no-memory', '--check', '--knn', 'ivf',
        out=tmp_path / 'pl.json')
    (result, ) = saved['results']
    assert result['num'] == 1200 and result['num_clusters'] > 1
    assert result['check']['labels_identical'] is True
    assert result['check']['max_abs_diff'] < 1e-5
    assert result['ratio'] == pytest.approx(
        result['refresh_s'] / result['knn_s'])
    (ivf, ) = result['knn_compare']
    assert ivf['index'] == 'ivf'
    assert 0.9 <= ivf['recall'] <= 1
    assert 0 <= ivf['same_group_fraction'] <= 1
    assert '| 1,200 | 48 |' in stdout


def test_same_group_fraction_ignores_label_ids(monkeypatch):
    import numpy as np
    monkeypatch.syspath_prepend(TOOLS)
    from benchmark_pseudo_label import same_group_fraction
    a = np.array([0, 0, 1, 1, -1, 2])
    assert same_group_fraction(a, np.array([7, 7, 3, 3, -1, -1])) == 1
    assert same_group_fraction(a, np.array([0, 0, 0, 1, -1, 2])) == 2 / 6


def test_benchmark_rerank(tmp_path):
    saved, _ = _run(
        'benchmark_rerank.py', '--scales', '0.03', '--dim', '32', '--repeat',
        '1', '--no-memory', '--map', out=tmp_path / 'rr.json')
    (result, ) = saved['results']
    assert result['num_query'] > 0 and result['num_gallery'] > 0
    assert result['rerank_s'] > 0 and result['knn_s'] > 0
    assert 0 < result['mAP_before'] <= 1 and 0 < result['mAP_after'] <= 1


def test_benchmark_eval_matches_textbook_evaluator(tmp_path):
    saved, stdout = _run(
        'benchmark_eval.py', '--sizes', '40x200', '--repeat', '1',
        out=tmp_path / 'ev.json')
    (row, ) = saved['results']
    assert row['check_max_abs_diff'] <= 1e-6
    assert 'MISMATCH' not in stdout
