# Copyright (c) jclreid contributors. All rights reserved.
"""projects/example_project: its filter registers into jclreid's
CLUSTERERS through ``custom_imports`` and a short run of ``tools/train.py``
with its config clusters with it."""
import glob
import os.path as osp
import re
import sys

import numpy as np
import pytest
from mmengine.config import Config

from _load_module import load_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT = osp.join(ROOT, 'projects', 'example_project')
CONFIG = osp.join(PROJECT, 'configs', 'jcl_r18_synthetic_min_size.py')


@pytest.fixture
def on_path(monkeypatch):
    """The plugin on ``sys.path``, as ``PYTHONPATH=projects/example_project``
    puts it."""
    monkeypatch.syspath_prepend(PROJECT)


def test_filter_drops_small_clusters(on_path):
    from example_project import MinClusterSizeFilter

    from jclreid.registry import CLUSTERERS
    filt = CLUSTERERS.build(dict(type='MinClusterSizeFilter', min_size=3))
    assert isinstance(filt, MinClusterSizeFilter)
    labels = np.array([0, 0, 0, 1, 1, -1, 2, 2, 2, 2])
    out, info = filt(labels, None)
    assert out.tolist() == [0, 0, 0, -1, -1, -1, 1, 1, 1, 1]
    assert info == dict(num_removed_clusters=1)
    assert repr(filt) == 'MinClusterSizeFilter(min_size=3)'
    with pytest.raises(ValueError, match='min_size'):
        MinClusterSizeFilter(min_size=0)


def test_config_needs_the_plugin_on_the_path(monkeypatch):
    monkeypatch.setattr(sys, 'path',
                        [p for p in sys.path if osp.abspath(p) != PROJECT])
    monkeypatch.delitem(sys.modules, 'example_project', raising=False)
    with pytest.raises(ImportError, match='example_project'):
        Config.fromfile(CONFIG)


def test_short_training_run_uses_the_plugin(on_path, tmp_path, monkeypatch):
    """``tools/train.py`` on a leaf of the plugin's config (tiny data, one
    warm-up epoch then one clustered epoch of one iteration): the label
    generator's filters include the plugin's, and the log shows it ran."""
    leaf = tmp_path / 'tiny.py'
    data = dict(data_root=str(tmp_path / 'data'), num_train_ids=8,
                num_test_ids=6, num_cameras=3, num_distractors=2,
                img_size=(32, 16))
    pipe = [dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(16, 32), keep_ratio=False),
            dict(type='PackReIDInputs')]
    leaf.write_text(f'''
_base_ = [{CONFIG!r}]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(batch_size=8, num_instances=2, iters_per_epoch=1),
    dataset=dict(pipeline={pipe!r}, **{data!r}))
val_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(pipeline={pipe!r}, **{data!r}))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=100)
custom_hooks = []
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=100),
    pseudo_label=dict(warmup_epochs=1, batch_size=16, label_generator=dict(
        distance=dict(k1=6, k2=2), clusterer=dict(eps=0.9, min_samples=2),
        filters=[dict(type='CameraAwareFilter', min_cameras=2),
                 dict(type='MinClusterSizeFilter', min_size=3)])))
''')
    cfg = Config.fromfile(str(leaf))
    assert cfg.custom_imports.imports == ['example_project']
    train = load_module('tools/train.py')
    work = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv',
                        ['train.py', str(leaf), '--work-dir', str(work)])
    train.main()
    log = glob.glob(str(work / '*' / '*.log'))[0]
    with open(log) as f:
        text = f.read()
    line = re.search(r'Epoch 1 pseudo labels: .*', text).group(0)
    assert "'MinClusterSizeFilter(min_size=3)': " in line
    sizes = re.search(r'size_min: (\d+)', line)
    assert sizes and int(sizes.group(1)) >= 3
    assert 'MinClusterSizeFilter ' in re.search(
        r'Pseudo labels: clustered .*', text).group(0)
