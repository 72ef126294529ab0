# Copyright (c) jclreid contributors. All rights reserved.
"""A user registers a component in a plugin module and names it in a config
with ``custom_imports``."""
import sys
import textwrap

import torch
from mmengine.config import Config

from jclreid.registry import CLUSTERERS, MODELS

PLUGIN = '''
import numpy as np
import torch
from jclreid.registry import CLUSTERERS, MODELS


@MODELS.register_module()
class ScaledClusterLoss(torch.nn.Module):
    def __init__(self, scale=2.0):
        super().__init__()
        self.scale = scale

    def forward(self, feats, centroids, labels):
        return self.scale * (feats.sum() * 0 + 1.0)


@CLUSTERERS.register_module()
class EveryoneOneCluster:
    def __call__(self, dist):
        return np.zeros(dist.shape[0], dtype=np.int64)
'''


def test_plugin_components_from_custom_imports(tmp_path, monkeypatch):
    (tmp_path / 'my_plugin.py').write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_file = tmp_path / 'my_config.py'
    cfg_file.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['my_plugin'],
                              allow_failed_imports=False)
        model = dict(
            type='JCL',
            backbone=dict(type='ReIDResNet', depth=18, wam=None),
            neck=dict(type='ReIDNeck', in_channels=512),
            head=dict(type='JCLHead', feat_dim=512,
                      loss=dict(type='JointContrastLoss',
                                cluster_loss=dict(type='ScaledClusterLoss',
                                                  scale=3.0))))
        generator = dict(type='LabelGenerator',
                         clusterer=dict(type='EveryoneOneCluster'),
                         filters=[])
        '''))
    try:
        cfg = Config.fromfile(str(cfg_file))
        model = MODELS.build(cfg.model)
        assert type(model.head.loss_module.cluster_loss).__name__ == \
            'ScaledClusterLoss'
        model.head.reset(torch.randn(4, 512), torch.tensor([0, 0, 1, 1]))
        gen = CLUSTERERS.build(cfg.generator)
        labels, summary = gen(torch.randn(6, 8).numpy())
        assert summary['num_clusters'] == 1 and (labels == 0).all()
    finally:
        sys.modules.pop('my_plugin', None)
        MODELS.module_dict.pop('ScaledClusterLoss', None)
        CLUSTERERS.module_dict.pop('EveryoneOneCluster', None)
