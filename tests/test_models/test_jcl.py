# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp

import torch
from mmengine.config import Config

from jclreid.registry import MODELS
from jclreid.structures import ReIDDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The shipped model config, shrunk to ResNet-18 without pretrained weights.
_cfg = Config.fromfile(
    osp.join(ROOT, 'configs', '_base_', 'models', 'jcl_r50.py'))
_cfg.merge_from_dict({
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.neck.in_channels': 512,
    'model.head.feat_dim': 512
})
CFG = _cfg.model


def _batch(n=4):
    g = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, 32, 16), dtype=torch.uint8, generator=g)
        for _ in range(n)
    ]
    samples = [
        ReIDDataSample(metainfo=dict(sample_idx=i, pid=i, camid=i % 2))
        for i in range(n)
    ]
    return dict(inputs=inputs, data_samples=samples)


def test_jcl_train_step_and_predict():
    torch.manual_seed(0)
    model = MODELS.build(CFG)
    model.head.reset(torch.randn(8, 512), torch.tensor([0, 0, 1, 1] * 2))
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    before = model.backbone.conv1.weight.clone()
    log = model.train_step(_batch(), optim)
    assert {'loss', 'loss_cluster', 'loss_instance'} <= set(log)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.backbone.conv1.weight)

    model.eval()
    with torch.no_grad():
        out = model.val_step(_batch())
    assert len(out) == 4
    feat = out[0].pred_feature
    assert feat.shape == (512, )
    assert torch.allclose(feat.norm(), torch.tensor(1.0), atol=1e-5)
    data = model.data_preprocessor(_batch(), False)
    assert model(**data, mode='tensor').shape == (4, 512)


def test_flip_test_averages():
    cfg = CFG.copy()
    cfg.update(flip_test=True, head=None)
    model = MODELS.build(cfg).eval()
    data = model.data_preprocessor(_batch(2), False)
    with torch.no_grad():
        feats = torch.stack(
            [s.pred_feature for s in model(**data, mode='predict')])
        a = model.extract_feat(data['inputs'])
        b = model.extract_feat(data['inputs'].flip(3))
    expected = torch.nn.functional.normalize(a + b, dim=1)
    assert torch.allclose(feats, expected, atol=1e-5)
