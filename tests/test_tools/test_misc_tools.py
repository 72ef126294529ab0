# Copyright (c) jclreid contributors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(args, cwd, check=True):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_make_synthetic_data(tmp_path):
    out = tmp_path / 'persons'
    proc = _run([
        osp.join(ROOT, 'tools', 'misc', 'make_synthetic_data.py'), 'persons',
        str(out), '--num-train-ids', '5', '--num-test-ids', '4',
        '--img-size', '32', '16'
    ], cwd=str(tmp_path))
    assert 'wrote' in proc.stdout
    assert sorted(os.listdir(out)) == [
        'bounding_box_test', 'bounding_box_train', 'query'
    ]
    # An existing folder is never overwritten.
    again = _run([
        osp.join(ROOT, 'tools', 'misc', 'make_synthetic_data.py'), 'persons',
        str(out)
    ], cwd=str(tmp_path), check=False)
    assert again.returncode != 0 and 'not empty' in again.stderr
    scenes = tmp_path / 'scenes'
    _run([
        osp.join(ROOT, 'tools', 'misc', 'make_synthetic_data.py'), 'scenes',
        str(scenes), '--images-per-class', '2', '--img-size', '16', '16'
    ], cwd=str(tmp_path))
    assert len(os.listdir(scenes)) == 10


@pytest.mark.parametrize('config', ['jcl_r18_synthetic.py',
                                    'jcl_r18_synthetic_scenes.py'])
def test_browse_dataset(tmp_path, config):
    out = tmp_path / 'grid.png'
    data_root = tmp_path / 'data'
    opts = [f'train_dataloader.dataset.data_root={data_root}']
    if 'scenes' in config:
        opts.append('train_dataloader.dataset.images_per_class=4')
    else:
        opts += [
            'train_dataloader.dataset.num_train_ids=6',
            'train_dataloader.dataset.num_test_ids=3'
        ]
    _run([
        osp.join(ROOT, 'tools', 'misc', 'browse_dataset.py'),
        osp.join(ROOT, 'configs', 'jcl', config), '--out', str(out),
        '--rows', '3', '--cols', '4', '--cfg-options'
    ] + opts, cwd=str(tmp_path))
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 0 and img.shape[1] > 4 * 16
