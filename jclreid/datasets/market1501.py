# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
import re
from typing import List

from jclreid.registry import DATASETS
from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class Market1501(BaseReIDDataset):
    """Market-1501 (Zheng et al., 2015).

    Layout under ``data_root``::

        bounding_box_train/  0002_c1s1_000451_03.jpg ...   (train)
        query/               0001_c1s1_001051_00.jpg ...   (query)
        bounding_box_test/   0000_c1s1_000151_01.jpg ...   (gallery)

    The file name gives the identity (``-1`` junk, dropped; ``0000``
    distractors, kept in the gallery) and the camera (``c1`` -> camid 0).
    After junk removal the real set has 12,936 train, 3,368 query and
    15,913 gallery images.

    Names are parsed strictly: a name that does not start with
    ``<pid>_c<camera>`` (``pid`` digits or ``-1``) or whose camera is
    ``c0`` (cameras are numbered from 1) raises a ``ValueError`` naming the
    file; nothing is skipped or guessed. Camera numbers are not bounded
    above (re-packaged and synthetic sets have more cameras).

    Args:
        data_root (str): The Market-1501 folder.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        **kwargs: See :class:`BaseReIDDataset`.
    """

    METAINFO = dict(dataset_name='Market1501')
    SPLIT_DIRS = dict(
        train='bounding_box_train', query='query', gallery='bounding_box_test')
    PATTERN = re.compile(r'^(-1|\d+)_c(\d+)')
    EXAMPLE = '0001_c1s1_001051_00.jpg'

    def parse_split(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, self.SPLIT_DIRS[split])
        names = self.split_images(
            folder, f'the {type(self).__name__} layout with folders '
            f'{sorted(self.SPLIT_DIRS.values())}',
            f'; expected files named like {self.EXAMPLE!r}')
        expected = (f'names like {self.EXAMPLE!r}: <pid (digits, -1 for '
                    'junk)>_c<camera (from 1)>...')
        data = []
        for name in names:
            path = osp.join(folder, name)
            match = self.match_name(self.PATTERN, path, expected)
            pid = self.parse_int(match.group(1), 'pid', path, expected, -1)
            cam = self.parse_int(match.group(2), 'camera', path, expected, 1)
            if pid == -1:
                continue  # junk
            data.append(dict(img_path=path, pid=pid, camid=cam - 1))
        return data


@DATASETS.register_module()
class DukeMTMCReID(Market1501):
    """DukeMTMC-reID: the Market-1501 folder layout and name rules (see
    :class:`Market1501`), names like ``0005_c2_f0046985.jpg``."""

    METAINFO = dict(dataset_name='DukeMTMCReID')
    EXAMPLE = '0005_c2_f0046985.jpg'
