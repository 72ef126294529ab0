# Copyright (c) jclreid contributors. All rights reserved.
"""Every shipped config parses and its components build from the
registries (weights are not loaded)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from jclreid.registry import HOOKS, METRICS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'jcl', '*.py')))


def test_all_configs_are_listed():
    names = {osp.basename(c) for c in CONFIGS}
    assert {
        'jcl_r50_market.py', 'jcl_r50_duke.py', 'jcl_r50_msmt17.py',
        'jcl_r50_ucm.py', 'jcl_r50_aid.py', 'jcl_r18_synthetic.py',
        'jcl_r18_synthetic_scenes.py'
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'jclreid'
    model = MODELS.build(cfg.model)
    assert model.head is not None
    loader = cfg.train_dataloader
    assert loader.sampler.batch_size == loader.batch_size
    for t in loader.dataset.pipeline + cfg.test_dataloader.dataset.pipeline:
        TRANSFORMS.build(t)
    METRICS.build(cfg.val_evaluator)
    hooks = [HOOKS.build(h) for h in cfg.custom_hooks]
    assert any(type(h).__name__ == 'PseudoLabelHook' for h in hooks)


def test_paper_setup_market():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'jcl',
                                   'jcl_r50_market.py'))
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.wam.stages == (2, 3)
    assert cfg.train_dataloader.batch_size * 4 == 256
    assert cfg.optim_wrapper.optimizer.lr == 3.5e-4
    assert cfg.train_cfg.max_epochs == 50
    hook = cfg.custom_hooks[0]
    assert hook.label_generator.clusterer.eps == 0.6
    assert hook.label_generator.distance.k1 == 30
    for name, eps in (('duke', 0.7), ('msmt17', 0.7)):
        other = Config.fromfile(
            osp.join(ROOT, 'configs', 'jcl', f'jcl_r50_{name}.py'))
        assert other.custom_hooks[0].label_generator.clusterer.eps == eps
