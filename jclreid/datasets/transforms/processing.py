# Copyright (c) jclreid contributors. All rights reserved.
"""Augmentations used by re-ID training pipelines (numpy, BGR uint8)."""
import math
import numbers
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from jclreid.registry import TRANSFORMS


def _check_prob(prob: float, name: str) -> float:
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f'{name} must be in [0, 1], got {prob}')
    return prob


@TRANSFORMS.register_module()
class PadRandomCrop(BaseTransform):
    """Pad the image on every side, then crop a random window of the
    original size (the usual re-ID translation augmentation).

    Args:
        padding (int): Pixels added on each side. Defaults to 10.
        pad_val (int): Fill value of the padding. Defaults to 0.
        padding_mode (str): ``'constant'`` or ``'reflect'``.
            Defaults to ``'constant'``.

    Required keys: ``img``. Modified keys: ``img``.
    """

    def __init__(self,
                 padding: int = 10,
                 pad_val: int = 0,
                 padding_mode: str = 'constant') -> None:
        if padding < 0:
            raise ValueError(f'padding must be >= 0, got {padding}')
        if padding_mode not in ('constant', 'reflect'):
            raise ValueError("padding_mode must be 'constant' or 'reflect', "
                             f'got {padding_mode!r}')
        self.padding = padding
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    @cache_randomness
    def _offsets(self) -> Tuple[int, int]:
        return (np.random.randint(0, 2 * self.padding + 1),
                np.random.randint(0, 2 * self.padding + 1))

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        p = self.padding
        if p == 0:
            return results
        if self.padding_mode == 'constant':
            padded = cv2.copyMakeBorder(
                img, p, p, p, p, cv2.BORDER_CONSTANT, value=self.pad_val)
        else:
            padded = cv2.copyMakeBorder(img, p, p, p, p,
                                        cv2.BORDER_REFLECT_101)
        if padded.ndim == 2 and img.ndim == 3:
            padded = padded[..., None]
        top, left = self._offsets()
        results['img'] = np.ascontiguousarray(padded[top:top + h,
                                                     left:left + w])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(padding={self.padding}, '
                f'pad_val={self.pad_val}, '
                f"padding_mode='{self.padding_mode}')")


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """Erase a random rectangle (Zhong et al., 2020).

    Args:
        prob (float): Probability of erasing. Defaults to 0.5.
        area_ratio (tuple[float, float]): Range of the erased area as a
            fraction of the image area. Defaults to (0.02, 0.4).
        aspect_ratio (float): Minimum aspect ratio ``h / w`` of the
            rectangle; the range is ``(r, 1 / r)``. Defaults to 0.3.
        fill (str | Sequence[int] | int): ``'random'`` (uniform noise),
            ``'mean'`` (the ImageNet mean in BGR) or a fixed value.
            Defaults to ``'mean'``.
        max_attempts (int): Rectangles tried before giving up.
            Defaults to 100.

    Required keys: ``img``. Modified keys: ``img``.
    """

    IMAGENET_MEAN_BGR = (103.53, 116.28, 123.675)

    def __init__(self,
                 prob: float = 0.5,
                 area_ratio: Tuple[float, float] = (0.02, 0.4),
                 aspect_ratio: float = 0.3,
                 fill: Union[str, int, Sequence[int]] = 'mean',
                 max_attempts: int = 100) -> None:
        self.prob = _check_prob(prob, 'RandomErasing.prob')
        lo, hi = area_ratio
        if not 0 < lo <= hi < 1:
            raise ValueError('RandomErasing.area_ratio must satisfy '
                             f'0 < min <= max < 1, got {area_ratio}')
        if not 0 < aspect_ratio <= 1:
            raise ValueError('RandomErasing.aspect_ratio must be in (0, 1], '
                             f'got {aspect_ratio}')
        if isinstance(fill, str) and fill not in ('random', 'mean'):
            raise ValueError("RandomErasing.fill must be 'random', 'mean' or "
                             f'a value, got {fill!r}')
        self.area_ratio = (lo, hi)
        self.aspect_ratio = aspect_ratio
        self.fill = fill
        self.max_attempts = max_attempts

    @cache_randomness
    def _rectangle(self, h: int, w: int):
        """Return ``(top, left, eh, ew)`` or None when not erasing."""
        if np.random.rand() >= self.prob:
            return None
        log_r = (math.log(self.aspect_ratio), -math.log(self.aspect_ratio))
        for _ in range(self.max_attempts):
            area = np.random.uniform(*self.area_ratio) * h * w
            ratio = math.exp(np.random.uniform(*log_r))
            eh = int(round(math.sqrt(area * ratio)))
            ew = int(round(math.sqrt(area / ratio)))
            if 0 < eh < h and 0 < ew < w:
                top = np.random.randint(0, h - eh + 1)
                left = np.random.randint(0, w - ew + 1)
                return top, left, eh, ew
        return None

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        rect = self._rectangle(h, w)
        if rect is None:
            return results
        top, left, eh, ew = rect
        img = img.copy()
        channels = img.shape[2] if img.ndim == 3 else 1
        if self.fill == 'random':
            patch = np.random.randint(0, 256, (eh, ew, channels))
            img[top:top + eh, left:left + ew] = patch.reshape(
                img[top:top + eh, left:left + ew].shape).astype(img.dtype)
        else:
            if self.fill == 'mean':
                value = np.array(self.IMAGENET_MEAN_BGR[:channels])
            elif isinstance(self.fill, numbers.Number):
                value = np.full(channels, self.fill)
            else:
                value = np.array(self.fill)
            if img.ndim == 2:
                value = value[0]
            img[top:top + eh, left:left + ew] = value.astype(img.dtype)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'area_ratio={self.area_ratio}, '
                f'aspect_ratio={self.aspect_ratio}, fill={self.fill!r})')


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random
    order. Counters the colour casts of different cameras.

    Args:
        brightness (float): Factor drawn from ``[1 - b, 1 + b]``.
            Defaults to 0.
        contrast (float): Factor drawn from ``[1 - c, 1 + c]``.
            Defaults to 0.
        saturation (float): Factor drawn from ``[1 - s, 1 + s]``.
            Defaults to 0.
        hue (float): Shift drawn from ``[-h, h]`` in fractions of the hue
            circle, ``h <= 0.5``. Defaults to 0.
        prob (float): Probability of applying the jitter. Defaults to 1.

    Required keys: ``img`` (BGR uint8). Modified keys: ``img``.
    """

    def __init__(self,
                 brightness: float = 0.,
                 contrast: float = 0.,
                 saturation: float = 0.,
                 hue: float = 0.,
                 prob: float = 1.) -> None:
        for name, v in (('brightness', brightness), ('contrast', contrast),
                        ('saturation', saturation)):
            if not 0 <= v <= 1:
                raise ValueError(f'ColorJitter.{name} must be in [0, 1], '
                                 f'got {v}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'ColorJitter.hue must be in [0, 0.5], got {hue}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.prob = _check_prob(prob, 'ColorJitter.prob')

    @cache_randomness
    def _params(self):
        if np.random.rand() >= self.prob:
            return None
        order = np.random.permutation(4)
        b = np.random.uniform(1 - self.brightness, 1 + self.brightness)
        c = np.random.uniform(1 - self.contrast, 1 + self.contrast)
        s = np.random.uniform(1 - self.saturation, 1 + self.saturation)
        h = np.random.uniform(-self.hue, self.hue)
        return order, b, c, s, h

    def transform(self, results: dict) -> dict:
        params = self._params()
        if params is None:
            return results
        order, b, c, s, h = params
        img = results['img'].astype(np.float32)
        for op in order:
            if op == 0 and self.brightness > 0:
                img = img * b
            elif op == 1 and self.contrast > 0:
                gray = cv2.cvtColor(
                    np.clip(img, 0, 255).astype(np.uint8),
                    cv2.COLOR_BGR2GRAY).mean()
                img = (img - gray) * c + gray
            elif op == 2 and self.saturation > 0:
                gray = cv2.cvtColor(
                    np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
                img = (img - gray[..., None]) * s + gray[..., None]
            elif op == 3 and self.hue > 0:
                hsv = cv2.cvtColor(
                    np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV)
                # OpenCV stores hue in [0, 180).
                shift = int(round(h * 180))
                hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + shift) %
                               180).astype(np.uint8)
                img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(np.float32)
        results['img'] = np.clip(img, 0, 255).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')
