# Copyright (c) jclreid contributors. All rights reserved.
"""tools/analysis_tools/run_seeds.py: summaries of a run's scalar log and
the mean ± std table."""
import json
import os.path as osp

import pytest

from _load_module import load_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    return load_module('tools/analysis_tools/run_seeds.py')


def _records(final_map, nmi):
    return [
        {'reid/mAP': 9.0, 'reid/Rank-1': 15.0, 'reid/mINP': 2.0, 'step': 0},
        {'pseudo_label/num_clusters': 724.0, 'pseudo_label/warmup': 1.0,
         'step': 0},
        {'loss': 5.0, 'step': 10},
        {'pseudo_label/num_clusters': 40.0, 'pseudo_label/gt_nmi': 0.5,
         'step': 6},
        {'pseudo_label/num_clusters': 60.0, 'pseudo_label/gt_nmi': nmi,
         'pseudo_label/gt_pair_fscore': 0.5, 'step': 7},
        {'reid/mAP': final_map, 'reid/Rank-1': final_map + 10,
         'reid/mINP': final_map / 2, 'step': 8},
    ]


def test_summarize_run_takes_last_metrics_and_last_refresh():
    tool = _tool()
    out = tool.summarize_run(_records(60.0, 0.9))
    assert out['reid/mAP'] == 60.0 and out['reid/Rank-1'] == 70.0
    assert out['before/reid/mAP'] == 9.0
    assert out['pseudo_label/num_clusters'] == 60.0
    assert out['pseudo_label/gt_nmi'] == 0.9
    assert not any('warmup' in k for k in out)
    with pytest.raises(ValueError, match='no validation metric'):
        tool.summarize_run([{'loss': 1.0}])


def test_mean_std_and_table():
    tool = _tool()
    assert tool.mean_std([1.0, 2.0, 3.0]) == '2.0 ± 1.0'
    assert tool.mean_std([4.0]) == '4.0'
    assert tool.mean_std([]) == '-'
    runs = []
    for seed, (m, nmi) in enumerate([(60.0, 0.8), (62.0, 0.9), (64.0, 1.0)]):
        r = tool.summarize_run(_records(m, nmi))
        r.update(seed=seed, wall_time_s=60.0 * (seed + 1))
        runs.append(r)
    table = tool.make_table({'jcl': runs})
    header, rule, row = table.strip().split('\n')
    assert header.split('|')[1:5] == [' config ', ' seeds ', ' mAP ',
                                      ' Rank-1 ']
    cells = [c.strip() for c in row.split('|')[1:-1]]
    assert cells[:5] == ['`jcl`', '0 1 2', '62.0 ± 2.0', '72.0 ± 2.0',
                         '31.0 ± 1.0']
    assert '90.0 ± 10.0' in cells  # pseudo-label NMI in percent
    assert cells[-1] == '2.0 ± 1.0'  # wall time in minutes


def test_summarize_only_reads_finished_runs(tmp_path, capsys):
    tool = _tool()
    config = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')
    for seed, m in ((0, 50.0), (1, 54.0)):
        run_dir = tmp_path / 'jcl_r18_synthetic' / f'seed{seed}'
        run_dir.mkdir(parents=True)
        result = tool.summarize_run(_records(m, 0.8))
        result.update(seed=seed, wall_time_s=120.0, config=config)
        (run_dir / 'result.json').write_text(json.dumps(result))
    out = tmp_path / 'table.md'
    code = tool.main([config, '--seeds', '0', '1', '2', '--work-dir',
                      str(tmp_path), '--out', str(out), '--summarize-only'])
    assert code == 1  # seed 2 has not run
    text = out.read_text()
    assert '52.0 ± 2.8' in text and '`jcl_r18_synthetic`' in text
    assert '--summarize-only' not in text
