# Copyright (c) jclreid contributors. All rights reserved.
import pytest
import torch
import torchvision

from jclreid.models import WAM, CBAM, NonLocal2d, ReIDResNet, WaveBlock
from jclreid.registry import MODELS


@pytest.mark.parametrize('depth,channels', [(18, 512), (34, 512), (50, 2048),
                                            (101, 2048)])
@pytest.mark.parametrize('wam', [None, dict(stages=(2, 3))])
def test_resnet_shapes(depth, channels, wam):
    model = ReIDResNet(depth=depth, wam=wam).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 16))
    assert len(out) == 1
    # Strides 4, 2, 2 and last stride 1: 32x16 -> 2x1.
    assert out[0].shape == (1, channels, 2, 1)


def test_last_stride_and_out_indices():
    x = torch.randn(1, 3, 64, 32)
    m1 = ReIDResNet(depth=18, last_stride=1, wam=None).eval()
    m2 = ReIDResNet(depth=18, last_stride=2, wam=None).eval()
    with torch.no_grad():
        assert m1(x)[0].shape[2:] == (4, 2)
        assert m2(x)[0].shape[2:] == (2, 1)
        outs = ReIDResNet(depth=18, out_indices=(0, 1, 2, 3)).eval()(x)
    assert [o.shape[1] for o in outs] == [64, 128, 256, 512]
    with pytest.raises(ValueError, match='depth'):
        ReIDResNet(depth=42)
    with pytest.raises(ValueError, match='stages'):
        ReIDResNet(depth=18, wam=dict(stages=(5, )))


@pytest.mark.parametrize('attention', ['cbam', 'nonlocal'])
def test_wam_attention_types(attention):
    model = ReIDResNet(
        depth=18, wam=dict(stages=(2, 3), attention=attention)).train()
    out = model(torch.randn(2, 3, 64, 32))[0]
    out.mean().backward()
    assert isinstance(model.wam2, WAM) and isinstance(model.wam3, WAM)
    att_type = CBAM if attention == 'cbam' else NonLocal2d
    assert isinstance(model.wam2.attention, att_type)
    assert model.wam2.attention.mlp[0].weight.grad is not None \
        if attention == 'cbam' else model.wam2.attention.out[1].weight.grad \
        is not None


def test_nonlocal_starts_as_identity():
    block = NonLocal2d(8).eval()
    x = torch.randn(2, 8, 6, 4)
    assert torch.allclose(block(x), x)


def test_nonlocal_dot_product_formula():
    block = NonLocal2d(4, mode='dot_product').eval()
    nn_init = torch.nn.init
    nn_init.ones_(block.out[1].weight)
    x = torch.randn(1, 4, 3, 2)
    theta = block.theta(x).flatten(2)[0].t()  # (HW, C')
    phi = block.phi(x).flatten(2)[0]  # (C', HW)
    g = block.g(x).flatten(2)[0].t()  # (HW, C')
    y = (theta @ phi / 6) @ g  # 1/N sum_j f(x_i, x_j) g(x_j), N = H * W
    y = y.t().reshape(1, -1, 3, 2)
    assert torch.allclose(block(x), x + block.out(y), atol=1e-6)
    gauss = NonLocal2d(4, mode='embedded_gaussian')
    assert gauss.mode == 'embedded_gaussian'
    with pytest.raises(ValueError, match='mode'):
        NonLocal2d(4, mode='gaussian')


@pytest.mark.parametrize('attention,order', [('cbam', 'attention_first'),
                                             ('nonlocal', 'wave_first'),
                                             (None, 'attention_first')])
def test_wam_order(attention, order):
    torch.manual_seed(0)
    wam = WAM(8, attention=attention).train()
    assert wam.order == order
    if attention == 'nonlocal':
        torch.nn.init.ones_(wam.attention.out[1].weight)
    x = torch.randn(2, 8, 10, 4)
    out = wam(x)
    start, stop = wam.wave.last_stripe
    mask = torch.full((1, 1, 10, 1), 1.5)
    mask[:, :, start:stop] = 1.0
    expected = (wam.attention(x * mask) if order == 'wave_first' else
                wam.attention(x) * mask)
    assert torch.allclose(out, expected, atol=1e-5)
    swapped = WAM(8, attention='cbam', order='wave_first')
    assert swapped.order == 'wave_first'
    with pytest.raises(ValueError, match='order'):
        WAM(8, order='sideways')


def test_cbam_spatial_has_batchnorm():
    block = CBAM(16)
    assert isinstance(block.spatial[0], torch.nn.Conv2d)
    assert isinstance(block.spatial[1], torch.nn.BatchNorm2d)
    x = torch.randn(2, 16, 6, 4)
    assert block(x).shape == x.shape
    plain = WAM(16, attention_cfg=dict(spatial_norm=False)).attention
    assert isinstance(plain.spatial[1], torch.nn.Identity)


def test_plain_resnet_has_torchvision_keys():
    ours = set(ReIDResNet(depth=50, wam=None).state_dict())
    theirs = {
        k
        for k in torchvision.models.resnet50(weights=None).state_dict()
        if not k.startswith('fc.')
    }
    assert ours == theirs


def test_load_local_torchvision_weights(tmp_path):
    tv = torchvision.models.resnet18(weights=None)
    path = tmp_path / 'resnet18.pth'
    torch.save(tv.state_dict(), path)
    model = MODELS.build(
        dict(
            type='ReIDResNet',
            depth=18,
            wam=dict(stages=(2, 3)),
            init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    ours = model.state_dict()
    for key, value in tv.state_dict().items():
        if key.startswith('fc.'):
            continue
        assert torch.equal(ours[key], value), key


def test_frozen_stages_and_norm_eval():
    model = ReIDResNet(depth=18, frozen_stages=1, norm_eval=True, wam=None)
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer3[0].bn1.training  # norm_eval
    assert model.layer3.training


def test_waveblock():
    block = WaveBlock(ratio=0.3, factor=1.5)
    x = torch.rand(2, 3, 10, 4) + 0.1
    block.eval()
    assert torch.equal(block(x), x)
    block.train()
    torch.manual_seed(0)
    y = block(x)
    start, stop = block.last_stripe
    assert stop - start == 3  # round(0.3 * 10)
    assert torch.equal(y[:, :, start:stop], x[:, :, start:stop])
    outside = torch.ones(10, dtype=torch.bool)
    outside[start:stop] = False
    assert torch.allclose(y[:, :, outside], 1.5 * x[:, :, outside])
    # Same seed, same stripe.
    torch.manual_seed(0)
    assert torch.equal(block(x), y)
