# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
from typing import List

from jclreid.registry import DATASETS
from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class MSMT17(BaseReIDDataset):
    """MSMT17 (Wei et al., 2018).

    Layout under ``data_root``: image folders ``train/`` and ``test/`` and the
    list files ``list_train.txt``, ``list_val.txt`` (both training),
    ``list_query.txt`` and ``list_gallery.txt``, with lines
    ``<relative path> <pid>``. The camera is the third ``_`` field of the
    file name (``0000_000_01_0303morning_0015_0.jpg`` -> camera 01 -> camid 0).

    List lines are parsed strictly: a line without a path and an integer
    pid, a file name without a numeric third field, a negative pid or a
    camera 0 (cameras are numbered from 1) raises a ``ValueError`` naming
    the list file and the line.

    Args:
        data_root (str): The MSMT17 folder.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        **kwargs: See :class:`BaseReIDDataset`.
    """

    METAINFO = dict(dataset_name='MSMT17')
    LISTS = dict(
        train=(('train', 'list_train.txt'), ('train', 'list_val.txt')),
        query=(('test', 'list_query.txt'), ),
        gallery=(('test', 'list_gallery.txt'), ))
    EXAMPLE = '0000/0000_000_01_0303morning_0015_0.jpg 0'

    def parse_split(self, split: str) -> List[dict]:
        expected = (f'lines like {self.EXAMPLE!r}: <relative path> <pid '
                    "(>= 0)>, the path's third _ field the camera (from 01)")
        data = []
        for img_dir, list_name in self.LISTS[split]:
            list_file = osp.join(self.data_root, list_name)
            if not osp.isfile(list_file):
                raise FileNotFoundError(
                    f'MSMT17: list file {list_file!r} does not exist; '
                    'expected train/, test/ and list_{train,val,query,'
                    'gallery}.txt under data_root')
            folder = self.check_dir(
                osp.join(self.data_root, img_dir),
                'the MSMT17 layout with train/ and test/ image folders')
            with open(list_file, encoding='utf-8') as f:
                for lineno, line in enumerate(f, 1):
                    line = line.strip()
                    if not line:
                        continue
                    parts = line.split()
                    source = f'line {lineno} of {list_file!r} ({line!r})'
                    if len(parts) < 2:
                        raise ValueError(
                            f'MSMT17: {source} does not parse; expected '
                            f'{expected}')
                    rel = parts[0]
                    fields = osp.basename(rel).split('_')
                    pid = self.parse_int(parts[1], 'pid', source, expected,
                                         0)
                    cam = self.parse_int(
                        fields[2] if len(fields) > 2 else None, 'camera',
                        source, expected, 1)
                    data.append(
                        dict(
                            img_path=osp.join(folder, rel),
                            pid=pid,
                            camid=cam - 1))
        return data
