# Copyright (c) jclreid contributors. All rights reserved.
import pytest
import torch

from jclreid.models import GeneralizedMeanPooling, ReIDNeck


def test_gem_pooling():
    x = torch.rand(2, 4, 3, 3) + 0.1
    gem = GeneralizedMeanPooling(p=1.0)
    assert torch.allclose(gem(x), x.mean((2, 3)), atol=1e-6)
    gem3 = GeneralizedMeanPooling(p=3.0)
    assert torch.allclose(gem3(x), (x**3).mean((2, 3))**(1 / 3), atol=1e-6)
    assert gem3.p.requires_grad


def test_neck_shapes_and_frozen_bias():
    x = (torch.rand(4, 16, 4, 2), )
    neck = ReIDNeck(16, pooling='avg')
    assert neck(x).shape == (4, 16)
    assert not neck.bn.bias.requires_grad
    proj = ReIDNeck(16, pooling='gem', out_channels=8)
    assert proj(x).shape == (4, 8)
    with pytest.raises(ValueError, match='pooling'):
        ReIDNeck(16, pooling='max')
