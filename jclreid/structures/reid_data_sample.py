# Copyright (c) jclreid contributors. All rights reserved.
from typing import Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement


class ReIDDataSample(BaseDataElement):
    """The data interface between the components of jclreid.

    Meta information (set once when the sample is loaded, never changed;
    read as attributes, ``sample.pid``):

    - ``img_path`` (str): the image file.
    - ``sample_idx`` (int): the index of the sample in its dataset. Pseudo
      labels and the instance memory are looked up by this index.
    - ``pid`` (int): the ground-truth identity or class (``-1`` when
      unknown). Used by evaluation and diagnostics only, never by training.
    - ``camid`` (int): the camera index (0-based; constant for scenes).
    - ``is_query`` (bool): whether the sample belongs to the query set.

    Data fields:

    - ``pred_feature`` (Tensor): the embedding predicted by the model,
      shape (D, ).

    Examples:
        >>> sample = ReIDDataSample(metainfo=dict(pid=3, camid=1))
        >>> sample.pid, sample.camid
        (3, 1)
        >>> sample.set_pred_feature(torch.ones(4)).pred_feature.shape
        torch.Size([4])
    """

    def set_pred_feature(
            self, value: Union[torch.Tensor, np.ndarray]) -> 'ReIDDataSample':
        """Set the predicted feature, shape (D, )."""
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
        if not isinstance(value, torch.Tensor) or value.dim() != 1:
            raise TypeError('pred_feature must be a 1-D tensor, got '
                            f'{type(value).__name__} of shape '
                            f'{getattr(value, "shape", None)}')
        self.set_field(value, 'pred_feature', dtype=torch.Tensor)
        return self
