# Copyright (c) jclreid contributors. All rights reserved.
"""tools/analysis_tools/analyze_logs.py on json logs laid out as mmengine
writes them (``<work_dir>/<timestamp>/vis_data/scalars.json``)."""
import json
import os.path as osp

import numpy as np
import pytest

from _load_module import load_module

pytest.importorskip('matplotlib')


@pytest.fixture(scope='module')
def tool():
    return load_module('tools/analysis_tools/analyze_logs.py')


def write_run(work_dir, stamp='20260101_000000', epochs=3, iters=20,
              interval=10, cluster_shift=0):
    """A run's scalars.json: per epoch, train records every ``interval``
    iterations (and at the epoch's end), a val record at ``step=epoch``
    and pseudo-label records at ``step=epoch`` (0 = the warm-up)."""
    records = [dict(step=0, **{'reid/mAP': 5.0, 'reid/Rank-1': 9.0})]
    for epoch in range(epochs):
        records.append({
            'pseudo_label/num_clusters': 30.0 + 10 * epoch + cluster_shift,
            'pseudo_label/num_outliers': 100.0 - 20 * epoch,
            'pseudo_label/gt_nmi': 0.5 + 0.1 * epoch,
            'pseudo_label/gt_pair_fscore': 0.2 + 0.1 * epoch,
            'step': epoch})
        for it in range(interval, iters + 1, interval):
            step = epoch * iters + it
            records.append(dict(lr=1e-3, loss=10.0 - step / 10,
                                loss_cluster=4.0, loss_instance=6.0,
                                time=0.5 + epoch, data_time=0.01,
                                epoch=epoch + 1, iter=step, step=step))
        records.append({'reid/mAP': 10.0 + epoch, 'reid/Rank-1': 20.0,
                        'time': 0.1, 'step': epoch + 1})
    path = osp.join(str(work_dir), stamp, 'vis_data', 'scalars.json')
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in records) + '\n')
    return path


def test_series_axes_and_key_resolution(tool, tmp_path):
    path = write_run(tmp_path / 'run')
    log = tool.RunLog(path)
    assert log.iters_per_epoch() == 20
    x, y, label = log.series('loss')
    assert label == 'epoch'
    np.testing.assert_allclose(x, [0.5, 1, 1.5, 2, 2.5, 3])
    np.testing.assert_allclose(y, [9, 8, 7, 6, 5, 4])
    # Val and pseudo-label records at their step (epochs trained); the
    # train records' `time` is not the val records' `time`.
    x, y, _ = log.series('reid/mAP')
    np.testing.assert_allclose(x, [0, 1, 2, 3])
    np.testing.assert_allclose(y, [5, 10, 11, 12])
    x, y, _ = log.series('pseudo_label/gt_nmi')
    np.testing.assert_allclose(x, [0, 1, 2])
    assert log.series('time')[1].tolist() == [0.5] * 2 + [1.5] * 2 + [2.5] * 2
    assert log.resolve('mAP') == 'reid/mAP'
    assert log.resolve('num_clusters') == 'pseudo_label/num_clusters'
    with pytest.raises(KeyError) as err:
        log.resolve('reid/ACC')
    assert 'reid/ACC' in str(err.value)
    for key in ('loss_cluster', 'pseudo_label/gt_nmi', 'reid/Rank-1'):
        assert key in str(err.value)
    # A run folder and a work dir resolve to the newest scalars.json.
    write_run(tmp_path / 'run', stamp='20250101_000000')
    assert tool.find_log(str(tmp_path / 'run')) == path
    assert tool.find_log(osp.dirname(osp.dirname(path))) == path
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.find_log(str(tmp_path))


def test_plot_curve_writes_a_png(tool, tmp_path, capsys):
    a = write_run(tmp_path / 'a')
    b = write_run(tmp_path / 'b', cluster_shift=5)
    out = tmp_path / 'figs' / 'curve.png'
    tool.main(['plot_curve', a, b, '--legend', 'a', 'b', '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    printed = capsys.readouterr().out
    # The default keys the logs have, in DEFAULT_KEYS order.
    assert ('plotted loss, loss_cluster, loss_instance, reid/mAP, '
            'reid/Rank-1, pseudo_label/num_clusters, '
            'pseudo_label/num_outliers, pseudo_label/gt_nmi, '
            'pseudo_label/gt_pair_fscore of 2 log(s)') in printed
    import matplotlib.image as mpimg
    h, w = mpimg.imread(str(out)).shape[:2]
    assert (w, h) == (1200, 900)  # 3 x 3 panels of 4 x 3 inches at 100 dpi
    one = tmp_path / 'one.png'
    tool.main(['plot_curve', a, '--keys', 'mAP', '--out', str(one)])
    assert mpimg.imread(str(one)).shape[:2] == (300, 400)


def test_missing_key_lists_the_keys(tool, tmp_path):
    path = write_run(tmp_path / 'a')
    with pytest.raises(SystemExit) as err:
        tool.main(['plot_curve', path, '--keys', 'scene/ACC', '--out',
                   str(tmp_path / 'x.png')])
    message = str(err.value)
    assert "key 'scene/ACC' is not in" in message
    assert 'loss_instance' in message and 'pseudo_label/num_outliers' in (
        message)
    assert not (tmp_path / 'x.png').exists()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"step": 0}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json, line 2'):
        tool.RunLog(str(bad))


def test_cal_train_time(tool, tmp_path, capsys):
    path = write_run(tmp_path / 'a')
    stats = tool.train_time(tool.RunLog(path))
    assert stats['slowest'] == (3, 2.5) and stats['fastest'] == (1, 0.5)
    assert stats['mean'] == pytest.approx(1.5)
    assert stats['std'] == pytest.approx(np.std([0.5, 1.5, 2.5]))
    tool.main(['cal_train_time', path])
    assert 'average iter time: 1.5000 s/iter' in capsys.readouterr().out


def test_iteration_based_log_uses_iterations(tool, tmp_path):
    path = tmp_path / 'iter.json'
    records = [dict(loss=3.0, iter=50, step=50), dict(loss=2.0, iter=100,
                                                      step=100),
               {'reid/mAP': 7.0, 'step': 100}]
    path.write_text('\n'.join(json.dumps(r) for r in records))
    log = tool.RunLog(str(path))
    assert log.iters_per_epoch() is None
    x, y, label = log.series('loss')
    assert label == 'iter' and x.tolist() == [50, 100]
    x, y, label = log.series('reid/mAP')
    assert (label, x.tolist(), y.tolist()) == ('iter', [100], [7.0])
    with pytest.raises(SystemExit, match='not a json log'):
        tool.main(['cal_train_time', str(tmp_path / 'missing')])
