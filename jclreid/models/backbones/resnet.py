# Copyright (c) jclreid contributors. All rights reserved.
import warnings
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torchvision.models.resnet import BasicBlock, Bottleneck

from jclreid.registry import MODELS
from jclreid.utils.checkpoint import load_state_dict_file
from .wam import WAM


@MODELS.register_module()
class ReIDResNet(BaseModule):
    """ResNet for re-ID, with an optional WaveBlock attention module (WAM)
    after chosen stages.

    Parameter names match torchvision's ResNet (``conv1``, ``bn1``,
    ``layer1``..``layer4``; no ``fc``), so torchvision state dicts load
    as they are, from ``torchvision://resnet50`` (download) or a local
    ``.pth`` file, both loaded with ``weights_only=True`` (a file that
    needs full unpickling is refused unless ``trust_checkpoint=True``).

    Args:
        depth (int): 18, 34, 50 or 101.
        last_stride (int): Stride of ``layer4``; 1 doubles the resolution
            of the last feature map (re-ID practice). Defaults to 1.
        wam (dict, optional): ``dict(stages=(2, 3), attention='cbam',
            ratio=0.3, factor=1.5)``; a WAM is placed after each listed
            stage (1-4). None gives a plain ResNet. Defaults to that dict.
        out_indices (Sequence[int]): Stages (0-3) whose outputs are
            returned. Defaults to (3, ).
        frozen_stages (int): Stages frozen (parameters fixed, eval mode):
            -1 none, 0 the stem, i the stem and layer1..i. Defaults to -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode during
            training. Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint='torchvision://resnet50' | path)``. Defaults to None
            (random initialisation).

    Shape:
        (B, 3, H, W) -> tuple of (B, C_i, H_i, W_i) for ``out_indices``.

    Minimum input size: ``forward`` refuses (``ValueError`` naming both
    sizes) an input smaller than :attr:`min_input_size`. Each side must be
    at least the total stride (16, or 32 with ``last_stride=2``), else the
    last maps are padding-only; and the height must give every WaveBlock at
    least one row in its kept stripe (``round(ratio * h) >= 1`` on the
    stage's ``h = ceil(H / stride)`` rows; e.g. 17 with a WAM after stage
    3 and ``ratio=0.3``), else the stripe is empty and the whole map is
    scaled by ``factor``.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
    }

    def __init__(self,
                 depth: int = 50,
                 last_stride: int = 1,
                 wam: Optional[dict] = dict(
                     stages=(2, 3), attention='cbam', ratio=0.3, factor=1.5),
                 out_indices: Sequence[int] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'ReIDResNet.depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth}')
        if last_stride not in (1, 2):
            raise ValueError(
                f'ReIDResNet.last_stride must be 1 or 2, got {last_stride}')
        if not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError('ReIDResNet.out_indices must be within 0-3, got '
                             f'{tuple(out_indices)}')
        block, layers = self.arch_settings[depth]
        self.depth = depth
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        strides = (1, 2, 2, last_stride)
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512),
                                                 layers)):
            self.add_module(f'layer{i + 1}',
                            self._make_layer(block, planes, blocks,
                                             strides[i]))
        self.out_channels = [64 * block.expansion * 2**i for i in range(4)]
        self.wam_stages: Tuple[int, ...] = ()
        if wam is not None:
            wam = dict(wam)
            stages = tuple(wam.pop('stages', (2, 3)))
            if not set(stages) <= {1, 2, 3, 4}:
                raise ValueError('ReIDResNet.wam.stages must be within 1-4, '
                                 f'got {stages}')
            self.wam_stages = stages
            for s in stages:
                self.add_module(f'wam{s}',
                                WAM(self.out_channels[s - 1], **wam))
        self.min_input_size = self._min_input_size(last_stride)
        self._init_resnet()
        self._freeze_stages()

    def _min_input_size(self, last_stride: int) -> Tuple[int, int]:
        """Smallest (H, W) input: the total stride on each side, and on
        the height enough rows for every WaveBlock's stripe."""
        strides = (4, 8, 16, 16 * last_stride)
        min_h = min_w = strides[3]
        for s in self.wam_stages:
            ratio = getattr(self, f'wam{s}').wave.ratio
            if ratio <= 0:
                continue  # an empty stripe by choice
            rows = 1
            while int(round(ratio * rows)) < 1:
                rows += 1
            min_h = max(min_h, (rows - 1) * strides[s - 1] + 1)
        return min_h, min_w

    def _make_layer(self, block, planes: int, blocks: int,
                    stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(
                    self.inplanes,
                    planes * block.expansion,
                    1,
                    stride,
                    bias=False), nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_resnet(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d) and m.weight.requires_grad:
                if m.weight.abs().sum() > 0:  # keep zero-init BNs
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Load pretrained torchvision weights when ``init_cfg`` asks."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = cfg['checkpoint']
        # Local paths and URLs (torchvision://, http(s)://) alike load with
        # weights_only=True; full unpickling only under trust_checkpoint.
        state = load_state_dict_file(checkpoint, map_location='cpu')
        prefix = cfg.get('prefix')
        if prefix:
            state = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
        state = {k: v for k, v in state.items() if not k.startswith('fc.')}
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shapes differ: another architecture
            raise RuntimeError(
                f'ReIDResNet (depth {self.depth}): pretrained weights '
                f'{checkpoint!r} do not fit: {err}') from err
        missing = [k for k in missing if not k.startswith('wam')]
        if missing or unexpected:
            warnings.warn(f'ReIDResNet: loading {checkpoint!r}: missing keys '
                          f'{missing[:10]}, unexpected keys '
                          f'{unexpected[:10]}')
        self._is_init = True

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for m in (self.conv1, self.bn1):
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for p in layer.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'ReIDResNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        h, w = x.shape[-2:]
        min_h, min_w = self.min_input_size
        if h < min_h or w < min_w:
            wave = (f', and the height must leave the WaveBlock of every WAM '
                    f'(stages {list(self.wam_stages)}) at least one row'
                    if min_h > min_w else '')
            raise ValueError(
                f'ReIDResNet(depth={self.depth}): input size {h}x{w} (HxW) '
                f'is smaller than the minimum {min_h}x{min_w}: each side '
                f'must be at least the total stride {min_w}{wave}; resize '
                'the images (Resize in the pipeline) to at least that size')
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            if i + 1 in self.wam_stages:
                x = getattr(self, f'wam{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
