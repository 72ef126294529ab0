# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
import re
from typing import List, Optional

from jclreid.registry import DATASETS
from jclreid.utils.safe_pickle import load_plain_pickle
from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class PRAI1581(BaseReIDDataset):
    """PRAI-1581, person re-ID in aerial imagery (Zhang et al., IEEE TMM
    2020, arXiv:1908.05024).

    39,461 images of 1,581 identities shot by two DJI consumer UAVs flying
    20-60 m above the ground (the paper's abstract). Layout under
    ``data_root``, as the dataset is distributed::

        images/          00000003_0002_00000007.jpg ...   (every image)
        partitions.pkl   dict(trainval_im_names=[...], test_im_names=[...],
                              test_marks=[...], ...)

    ``trainval_im_names`` lists the train images, ``test_im_names`` the test
    images and ``test_marks`` gives each test image its role: 0 = query,
    1 = gallery. Names are relative to ``images/``. Other keys of the file
    (e.g. ``train_im_names``, ``val_marks``) are ignored.

    The file name gives the identity (first ``_`` field) and the camera
    (second field): ``<pid>_<camera>_<index>.jpg``, each field digits.
    Cameras are numbered from ``camid_offset`` (default 1: ``0002`` ->
    camid 1). Train pids are relabelled to ``0..P-1`` in the order of the
    raw ids (the ground truth is used only for diagnostics such as NMI and
    ARI of the pseudo labels, which do not depend on the numbering); query
    and gallery keep the raw ids, so that they match each other.

    What was checked against public material, and what is assumed:

    * Checked (public PRAI-1581 loaders and a README that converts the set
      to the Market-1501 layout): the keys above and the 0 = query mark;
      pid = first and camera = second ``_`` field of the name; names like
      ``00000003_0002_00000007.jpg``; cameras 1 and 2 (one per UAV) in the
      converted copy; 19,523 train images of 781 identities and 19,938
      test images (4,680 query, 15,258 gallery) of 799 other identities,
      i.e. **train and test identities are disjoint**. These counts were
      transcribed from that README, not re-measured here (no copy of the
      data was available).
    * Assumed: that every partition entry is a plain file name under
      ``images/``. If your copy numbers cameras from 0, pass
      ``camid_offset=0`` (the error for camera 0 says so).
    * With two cameras, many gallery images of a query's identity may come
      from the query's own UAV; the Market-1501 protocol of
      :class:`~jclreid.evaluation.ReIDMetric` discards those, and a query
      left without any match is skipped with a warning.

    ``partitions.pkl`` is read with
    :func:`~jclreid.utils.load_plain_pickle`: only lists, tuples, dicts,
    strings, bytes, numbers, bools and None are loaded, and a file that
    names any class or function is refused before anything in it is
    imported or called (a crafted pickle cannot run code).

    Everything is parsed strictly, and errors name the file: a missing
    ``images/`` folder or ``partitions.pkl``, a missing key, a list of the
    wrong type, a ``test_marks`` entry other than 0 / 1 or of another
    length than ``test_im_names``, a split left empty, a name that is not
    ``<pid>_<camera>_...``, a camera below ``camid_offset`` and a listed
    image that does not exist raise an error naming ``partitions.pkl``, the
    key, the entry and what was expected. Nothing is skipped or guessed.

    Args:
        data_root (str): The PRAI-1581 folder.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        camid_offset (int): Subtracted from the camera field so that camids
            start at 0. Defaults to 1.
        **kwargs: See :class:`BaseReIDDataset`.
    """

    METAINFO = dict(dataset_name='PRAI1581')
    IMG_DIR = 'images'
    PARTITIONS = 'partitions.pkl'
    PATTERN = re.compile(r'^(\d+)_(\d+)_')
    EXAMPLE = '00000003_0002_00000007.jpg'
    #: ``split -> (key of the name list, test mark or None)``.
    SPLIT_KEYS = dict(
        train=('trainval_im_names', None),
        query=('test_im_names', 0),
        gallery=('test_im_names', 1))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 camid_offset: int = 1,
                 **kwargs) -> None:
        if type(camid_offset) is not int:
            raise TypeError('PRAI1581.camid_offset must be an int, got '
                            f'{camid_offset!r}')
        if camid_offset < 0:
            raise ValueError('PRAI1581.camid_offset must be >= 0, got '
                             f'{camid_offset}')
        self.camid_offset = camid_offset
        self._partitions: Optional[dict] = None
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def partitions_file(self) -> str:
        """Path of ``partitions.pkl``."""
        return osp.join(self.data_root, self.PARTITIONS)

    def load_partitions(self) -> dict:
        """``partitions.pkl`` loaded as plain data (once per
        :meth:`load_data_list`) and checked: the name lists are lists of
        strings and ``test_marks`` has one 0 / 1 per test name."""
        if self._partitions is not None:
            return self._partitions
        path = self.partitions_file
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'PRAI1581: partition file {path!r} does not exist; expected '
                f'the PRAI-1581 layout: {self.IMG_DIR}/ and '
                f'{self.PARTITIONS} (with trainval_im_names, test_im_names '
                'and test_marks) under data_root')
        parts = load_plain_pickle(path)
        if not isinstance(parts, dict):
            raise ValueError(
                f'PRAI1581: {path!r} holds a {type(parts).__name__}; '
                'expected a dict with trainval_im_names, test_im_names and '
                'test_marks')
        for key in ('trainval_im_names', 'test_im_names', 'test_marks'):
            if key not in parts:
                raise ValueError(
                    f'PRAI1581: {path!r} has no key {key!r} (keys: '
                    f'{sorted(map(str, parts))}); expected trainval_im_names, '
                    'test_im_names and test_marks')
            if not isinstance(parts[key], (list, tuple)):
                raise ValueError(
                    f'PRAI1581: {key!r} of {path!r} is a '
                    f'{type(parts[key]).__name__}; expected a list')
        for key in ('trainval_im_names', 'test_im_names'):
            for i, name in enumerate(parts[key]):
                if not isinstance(name, str):
                    raise ValueError(
                        f'PRAI1581: entry {i} of {key!r} in {path!r} is '
                        f'{name!r}; expected an image file name (str)')
        names, marks = parts['test_im_names'], parts['test_marks']
        if len(marks) != len(names):
            raise ValueError(
                f'PRAI1581: {path!r} has {len(marks)} test_marks for '
                f'{len(names)} test_im_names; expected one mark per name')
        for i, mark in enumerate(marks):
            if isinstance(mark, bool) or mark not in (0, 1):
                raise ValueError(
                    f'PRAI1581: entry {i} of test_marks in {path!r} is '
                    f'{mark!r}; expected 0 (query) or 1 (gallery)')
        self._partitions = parts
        return parts

    def load_data_list(self) -> List[dict]:
        try:
            return super().load_data_list()
        finally:
            self._partitions = None  # read once per load, not kept

    def parse_split(self, split: str) -> List[dict]:
        parts = self.load_partitions()
        path = self.partitions_file
        folder = self.check_dir(
            osp.join(self.data_root, self.IMG_DIR),
            f'the PRAI-1581 layout: {self.IMG_DIR}/ and {self.PARTITIONS} '
            'under data_root')
        key, mark = self.SPLIT_KEYS[split]
        names = parts[key]
        if mark is None:
            entries = list(enumerate(names))
        else:
            entries = [(i, n) for i, n in enumerate(names)
                       if parts['test_marks'][i] == mark]
        if not entries:
            what = (key if mark is None else
                    f'{key} with test_marks {mark} ({split})')
            raise ValueError(f'PRAI1581: {path!r} lists no {what} image; '
                             f'expected at least one')
        expected = (f'names like {self.EXAMPLE!r}: <pid (digits)>_<camera '
                    f'(digits, from camid_offset={self.camid_offset})>_...')
        data = []
        for i, name in entries:
            source = f'entry {i} of {key!r} in {path!r} ({name!r})'
            parts_of_name = name.replace('\\', '/').split('/')
            if osp.isabs(name) or '..' in parts_of_name:
                raise ValueError(f'PRAI1581: {source}: expected a file name '
                                 f'relative to {folder!r}')
            match = self.PATTERN.search(osp.basename(name))
            if match is None:
                raise ValueError(
                    f'PRAI1581: {source}: the file name does not match the '
                    f'pattern {self.PATTERN.pattern!r}; expected {expected}')
            pid = self.parse_int(match.group(1), 'pid', source, expected, 0)
            cam = self.parse_int(match.group(2), 'camera', source, expected,
                                 self.camid_offset)
            img_path = osp.join(folder, name)
            if not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'PRAI1581: image file {img_path!r} does not exist; it is '
                    f'{source}')
            data.append(
                dict(img_path=img_path, pid=pid,
                     camid=cam - self.camid_offset))
        if split == 'train':
            raw = sorted({d['pid'] for d in data})
            labels = {pid: label for label, pid in enumerate(raw)}
            for d in data:
                d['pid'] = labels[d['pid']]
        return data
