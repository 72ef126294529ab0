# Copyright (c) jclreid contributors. All rights reserved.
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from jclreid.registry import MODELS, build_if_config


@MODELS.register_module()
class JCL(BaseModel):
    """Joint Contrastive Learning re-ID model.

    ``backbone -> neck -> L2 normalisation`` gives the embedding; the head
    holds the memories and the joint loss.

    Args:
        backbone (dict | nn.Module): e.g. ``ReIDResNet``.
        neck (dict | nn.Module): e.g. ``ReIDNeck``.
        head (dict | nn.Module, optional): ``JCLHead``; needed for training
            only. Defaults to None.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``ReIDDataPreprocessor()``. With ``channels_last=True`` the
            model's 4-D weights are converted to the channels-last memory
            format here, once (loading weights later keeps the format).
        flip_test (bool): Average the features of the image and its
            horizontal flip in ``predict`` mode. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Union[dict, nn.Module],
                 head: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 flip_test: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        data_preprocessor = build_if_config(data_preprocessor, MODELS)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_if_config(backbone, MODELS)
        self.neck = build_if_config(neck, MODELS)
        self.head = build_if_config(head, MODELS)
        self.flip_test = flip_test
        if getattr(self.data_preprocessor, 'channels_last', False):
            self.to(memory_format=torch.channels_last)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images -> (B, D) L2-normalised embeddings."""
        return F.normalize(self.neck(self.backbone(inputs)), dim=1)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``loss``: dict of losses; ``predict``: data samples with
        ``pred_feature``; ``tensor``: (B, D) features."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f'JCL.forward: invalid mode {mode!r}; expected '
                         "'loss', 'predict' or 'tensor'")

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        if self.head is None:
            raise RuntimeError('JCL.loss needs a head (model.head in the '
                               'config)')
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List] = None) -> List:
        feats = self.extract_feat(inputs)
        if self.flip_test:
            feats = F.normalize(
                feats + self.extract_feat(inputs.flip(3)), dim=1)
        if data_samples is None:
            from jclreid.structures import ReIDDataSample
            data_samples = [ReIDDataSample() for _ in range(feats.shape[0])]
        for sample, feat in zip(data_samples, feats):
            sample.set_pred_feature(feat.detach())
        return data_samples
