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
    """

    METAINFO = dict(dataset_name='MSMT17')
    LISTS = dict(
        train=(('train', 'list_train.txt'), ('train', 'list_val.txt')),
        query=(('test', 'list_query.txt'), ),
        gallery=(('test', 'list_gallery.txt'), ))
    EXAMPLE = '0000/0000_000_01_0303morning_0015_0.jpg 0'

    def parse_split(self, split: str) -> List[dict]:
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
                    try:
                        rel, pid = parts[0], int(parts[1])
                        cam = int(osp.basename(rel).split('_')[2])
                    except (IndexError, ValueError):
                        raise ValueError(
                            f'MSMT17: line {lineno} of {list_file!r} '
                            f'({line!r}) does not parse; expected lines like '
                            f'{self.EXAMPLE!r}') from None
                    data.append(
                        dict(
                            img_path=osp.join(folder, rel),
                            pid=pid,
                            camid=cam - 1))
        return data
