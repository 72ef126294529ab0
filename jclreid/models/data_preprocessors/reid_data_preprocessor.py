# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence

import torch
from mmengine.model import ImgDataPreprocessor

from jclreid.registry import MODELS


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """Stack a batch of uint8 (3, H, W) images, move it to the model's
    device, convert to float, BGR -> RGB, and normalise.

    A batch of uint8 images of one size (what the re-ID pipelines give,
    after ``Resize``) is stacked on the host and converted as one tensor:
    one host-to-device copy of uint8 data instead of one per image, and a
    few whole-batch operations instead of a few per image. The values are
    those of mmengine's ``ImgDataPreprocessor``, which handles every other
    batch (images of several sizes, float images, padding to
    ``pad_size_divisor``).

    Args:
        mean (Sequence[float]): Per-channel mean (RGB, 0-255). Defaults to
            the ImageNet mean.
        std (Sequence[float]): Per-channel std. Defaults to the ImageNet
            std.
        to_rgb (bool): Images are loaded BGR by mmcv; convert to RGB.
            Defaults to True.
        pad_size_divisor (int): Defaults to 1.
        pad_value (float): Defaults to 0.
        non_blocking (bool): Asynchronous host-to-device copy.
            Defaults to False.
        channels_last (bool): Return the batch in the channels-last memory
            format (NHWC strides; the shape stays (B, 3, H, W)). ``JCL``
            then converts its weights to that format once, when it is
            built, so that convolutions run NHWC kernels (mostly a GPU
            speed-up, with AMP on tensor cores). Defaults to False.

    Data samples pass through unchanged (moved to the device).
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 to_rgb: bool = True,
                 pad_size_divisor: int = 1,
                 pad_value: float = 0,
                 non_blocking: bool = False,
                 channels_last: bool = False) -> None:
        if not isinstance(channels_last, bool):
            raise TypeError('ReIDDataPreprocessor.channels_last must be True '
                            f'or False, got {channels_last!r}')
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=to_rgb,
            non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = self._stacked_uint8(data['inputs'])
        if inputs is None:
            data = super().forward(data, training)
        else:
            data = {
                key: self.cast_data(value)
                for key, value in data.items() if key != 'inputs'
            }
            data.setdefault('data_samples', None)
            data['inputs'] = self._normalise(inputs)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        return data

    def _stacked_uint8(self, inputs) -> Optional[torch.Tensor]:
        """The (B, 3, H, W) uint8 batch (stacked on the host), or None when
        the batch takes mmengine's path."""
        if isinstance(inputs, torch.Tensor):
            first, same = inputs, inputs.dim() == 4
        elif isinstance(inputs, (list, tuple)) and inputs:
            first = inputs[0]
            same = all(
                isinstance(x, torch.Tensor) and x.dim() == 3
                and x.shape == first.shape and x.dtype == first.dtype
                for x in inputs)
        else:
            return None
        h, w = first.shape[-2:]
        if (not same or first.dtype != torch.uint8 or first.shape[-3] != 3
                or h % self.pad_size_divisor or w % self.pad_size_divisor):
            return None
        return inputs if isinstance(inputs,
                                    torch.Tensor) else torch.stack(inputs)

    def _normalise(self, batch: torch.Tensor) -> torch.Tensor:
        """``ImgDataPreprocessor``'s conversion of a stacked uint8 batch:
        to the device, BGR -> RGB, float, ``(x - mean) / std``."""
        x = batch.to(self.device, non_blocking=self._non_blocking)
        if self._channel_conversion:
            x = x.flip(1)
        x = x.float()  # a new tensor (from uint8): safe to change in place
        if self._enable_normalize:
            x.sub_(self.mean).div_(self.std)
        return x
