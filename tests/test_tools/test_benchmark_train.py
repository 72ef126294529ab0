# Copyright (c) jclreid contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py: a tiny run of both loops; they
must compute the same losses on the same batches, so that the comparison
of their speeds is one of the loops, not of the work."""
import importlib
import json
import math
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY = [
    '--arch', 'r18', '--sizes', '32x16', '--iters', '2', '--warmup-iters', '1',
    '--repeat', '1', '--batch-size', '8', '--num-instances', '2',
    '--num-samples', '64', '--num-clusters', '8', '--num-batches', '2'
]


@pytest.fixture
def tool(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(ROOT, 'tools', 'analysis_tools'))
    return importlib.import_module('benchmark_train')


def test_both_loops_compute_the_same_losses(tool, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    tool.main(TINY + ['--device', 'cpu', '--json', str(out)])
    with open(out) as f:
        saved = json.load(f)
    (result, ) = saved['results']
    losses = result['losses']
    # Warm-up + timed iterations, every one with the cluster and the
    # instance loss (well above 0), equal on both sides.
    assert len(losses['plain']) == len(losses['mmengine']) == 3
    assert all(math.isfinite(v) and v > 0.1 for v in losses['plain'])
    assert losses['plain'] == pytest.approx(losses['mmengine'], abs=1e-6)
    assert result['max_loss_diff'] <= 1e-6
    assert len(set(losses['plain'])) > 1  # the weights did change
    assert result['plain_images_per_s'] > 0
    assert result['mmengine_images_per_s'] > 0
    assert result['ratio'] == pytest.approx(result['mmengine_images_per_s'] /
                                            result['plain_images_per_s'])
    assert saved['machine']['device'] == 'cpu'
    table = capsys.readouterr().out
    assert '| r18 | 32x16 | 8 |' in table
    assert 'mmengine / plain' in table


def test_options_are_checked(tool):
    assert tool.parse_size('256x128') == (256, 128)
    with pytest.raises(ValueError, match='HxW'):
        tool.parse_size('256')
    with pytest.raises(SystemExit):
        tool.parse_args(['--batch-size', '10', '--num-instances', '4'])
    with pytest.raises(SystemExit, match="'cpu'"):
        tool.check_amp('cpu')
