# Copyright (c) jclreid contributors. All rights reserved.
"""Every shipped config parses and its components build from the
registries (weights are not loaded)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from jclreid.registry import HOOKS, METRICS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'jcl', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'jcl', 'ablations', '*.py')))


def test_all_configs_are_listed():
    names = {osp.basename(c) for c in CONFIGS}
    assert {
        'jcl_r50_market.py', 'jcl_r50_duke.py', 'jcl_r50_msmt17.py',
        'jcl_r50_ucm.py', 'jcl_r50_aid.py', 'jcl_r18_synthetic.py',
        'jcl_r18_synthetic_scenes.py', 'jcl_r50_prai.py',
        'jcl_r18_unlabeled.py', 'jcl_r18_unlabeled_scenes.py'
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'jclreid'
    model = MODELS.build(cfg.model)
    assert model.head is not None
    loader = cfg.train_dataloader
    assert loader.sampler.batch_size == loader.batch_size
    # Configs for unlabeled folders have no test split and no evaluator.
    test_loader = cfg.get('test_dataloader')
    for t in loader.dataset.pipeline + (
            test_loader.dataset.pipeline if test_loader else []):
        TRANSFORMS.build(t)
    if cfg.get('val_evaluator') is not None:
        METRICS.build(cfg.val_evaluator)
    hooks = [HOOKS.build(h) for h in cfg.get('custom_hooks', [])]
    hooks += [HOOKS.build(h) for h in cfg.default_hooks.values()]
    assert sum(type(h).__name__ == 'PseudoLabelHook' for h in hooks) == 1


def test_paper_setup_market():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'jcl',
                                   'jcl_r50_market.py'))
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.wam.stages == (2, 3)
    assert cfg.global_batch_size == 256
    assert cfg.train_dataloader.sampler.num_instances == 16
    assert cfg.optim_wrapper.optimizer.lr == 3.5e-4
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.train_pipeline[1].interpolation == 'bicubic'
    hook = cfg.default_hooks.pseudo_label
    assert hook.label_generator.clusterer.eps == 0.6
    assert hook.label_generator.distance.k1 == 30
    for name, eps, data in (('duke', 0.7, 'DukeMTMCReID'),
                            ('msmt17', 0.7, 'MSMT17'),
                            ('prai', 0.7, 'PRAI1581')):
        other = Config.fromfile(
            osp.join(ROOT, 'configs', 'jcl', f'jcl_r50_{name}.py'))
        lg = other.default_hooks.pseudo_label.label_generator
        assert lg.clusterer.eps == eps
        assert lg.distance == hook.label_generator.distance
        assert other.train_dataloader.dataset.type == data
        assert other.global_batch_size == 256


@pytest.mark.parametrize('world_size,per_rank', [(1, 256), (4, 64)])
def test_global_batch_is_split_over_processes(world_size, per_rank):
    from jclreid.utils import apply_global_batch_size
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'jcl', 'jcl_r50_market.py'))
    apply_global_batch_size(cfg, world_size)
    assert cfg.train_dataloader.batch_size == per_rank
    assert cfg.train_dataloader.sampler.batch_size == per_rank
    cfg.global_batch_size = 200  # not a multiple of 4 x 16
    with pytest.raises(ValueError, match='global_batch_size'):
        apply_global_batch_size(cfg, 4)
    cfg.global_batch_size = None  # keep the per-process batch as written
    cfg.train_dataloader.batch_size = 32
    apply_global_batch_size(cfg, 4)
    assert cfg.train_dataloader.batch_size == 32
