# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence

from mmengine.model import ImgDataPreprocessor

from jclreid.registry import MODELS


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """Stack a batch of uint8 (3, H, W) images, move it to the model's
    device, convert to float, BGR -> RGB, and normalise.

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

    Data samples pass through unchanged.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28,
                                                    103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 to_rgb: bool = True,
                 pad_size_divisor: int = 1,
                 pad_value: float = 0,
                 non_blocking: bool = False) -> None:
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=to_rgb,
            non_blocking=non_blocking)
