# Copyright (c) jclreid contributors. All rights reserved.
import json
import os
import os.path as osp
from typing import List, Optional

import numpy as np

from jclreid.registry import DATASETS
from jclreid.utils.fileio import atomic_write
from .base_reid_dataset import BaseReIDDataset, list_images


@DATASETS.register_module()
class SceneFolder(BaseReIDDataset):
    """Remote-sensing scenes, one folder per class (UCM, AID, NWPU-RESISC45).

    Layout: ``data_root/<class name>/<image>.{tif,jpg,png,...}``. Classes are
    sorted by name; ``pid`` is the class index and ``camid`` is 0. The
    train/test split is stratified and deterministic from ``seed`` and
    ``train_ratio``: each class is shuffled and split on its own, keeping at
    least one image on each side when it has two or more.

    A folder with fewer than two class folders is refused when the dataset
    is built (clustering and the scene metrics need two classes or more).

    Args:
        data_root (str): The folder of class folders. Never written to.
        split (str): ``'train'`` or ``'test'`` (``'query'`` and ``'gallery'``
            are the test images too).
        seed (int): Seed of the split. Defaults to 0.
        train_ratio (float): Fraction of each class used for training.
            Defaults to 0.8.
        split_file (str, optional): A JSON file holding the split. If it
            exists it is read back (and must match ``seed``,
            ``train_ratio`` and the files); if not, the split is written
            there atomically, so later runs use the very same images.
            Defaults to None (computed in memory, nothing written).
        **kwargs: See :class:`BaseReIDDataset`.
    """

    METAINFO = dict(dataset_name='SceneFolder')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 seed: int = 0,
                 train_ratio: float = 0.8,
                 split_file: Optional[str] = None,
                 **kwargs) -> None:
        if not 0 < train_ratio < 1:
            raise ValueError('SceneFolder.train_ratio must be in (0, 1), got '
                             f'{train_ratio}')
        self.seed = seed
        self.train_ratio = train_ratio
        self.split_file = split_file
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _scan(self):
        root = self.data_root
        classes = sorted(
            d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))
        if not classes:
            raise FileNotFoundError(
                f'SceneFolder: no class folder in {root!r}; expected '
                'data_root/<class name>/<image files>')
        if len(classes) < 2:
            raise ValueError(
                f'SceneFolder: {root!r} has {len(classes)} class folder '
                f'({classes[0]!r}); expected at least 2 class folders '
                '(data_root/<class name>/<image files>): pseudo labels and '
                'the scene metrics need two classes or more')
        files = {}
        for cls in classes:
            names = list_images(osp.join(root, cls))
            if not names:
                raise FileNotFoundError(
                    f'SceneFolder: class folder {osp.join(root, cls)!r} has '
                    'no image (.tif/.jpg/.png/...)')
            files[cls] = names
        return classes, files

    def _make_split(self, classes, files) -> dict:
        rng = np.random.RandomState(self.seed)
        split = dict(train={}, test={})
        for cls in classes:
            names = files[cls]
            order = rng.permutation(len(names))
            n_train = int(round(self.train_ratio * len(names)))
            if len(names) >= 2:
                n_train = min(max(n_train, 1), len(names) - 1)
            split['train'][cls] = sorted(names[i] for i in order[:n_train])
            split['test'][cls] = sorted(names[i] for i in order[n_train:])
        return split

    def _load_split(self, classes, files) -> dict:
        expected = dict(
            seed=self.seed,
            train_ratio=self.train_ratio,
            classes=classes,
            files={c: files[c]
                   for c in classes})
        if self.split_file is None:
            return self._make_split(classes, files)
        if osp.isfile(self.split_file):
            with open(self.split_file, encoding='utf-8') as f:
                saved = json.load(f)
            for key in ('seed', 'train_ratio', 'classes', 'files'):
                if saved.get(key) != expected[key]:
                    raise ValueError(
                        f'SceneFolder: split file {self.split_file!r} was '
                        f'made with another {key} than this dataset '
                        f'(data_root={self.data_root!r}, seed={self.seed}, '
                        f'train_ratio={self.train_ratio}); delete it or '
                        'point split_file elsewhere')
            return saved['split']
        split = self._make_split(classes, files)
        atomic_write(
            json.dumps(dict(expected, split=split)).encode('utf-8'),
            self.split_file)
        return split

    def parse_split(self, split: str) -> List[dict]:
        classes, files = self._scan()
        self._metainfo['classes'] = tuple(classes)
        side = 'train' if split == 'train' else 'test'
        chosen = self._load_split(classes, files)[side]
        data = []
        for label, cls in enumerate(classes):
            for name in chosen[cls]:
                data.append(
                    dict(
                        img_path=osp.join(self.data_root, cls, name),
                        pid=label,
                        camid=0))
        return data

    def load_data_list(self) -> List[dict]:
        if self.split == 'train':
            return super().load_data_list()
        # Scenes have no query/gallery protocol: all three are the test set.
        self.check_dir(self.data_root, 'a folder of class folders')
        data = [dict(d, is_query=False) for d in self.parse_split('test')]
        self._metainfo.update(
            num_pids=len({d['pid'] for d in data}),
            num_cameras=1,
            split=self.split)
        return data
