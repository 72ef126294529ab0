# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


class BaseReIDDataset(BaseDataset):
    """Base class of re-ID and scene datasets.

    Every item of the data list is a dict with ``img_path`` (str), ``pid``
    (int, ground-truth identity or class, ``-1`` unknown), ``camid`` (int,
    0-based) and ``is_query`` (bool); mmengine adds ``sample_idx``. The data
    list is built once and never changed: pseudo labels live in the model's
    head and in the sampler, not in the dataset.

    Args:
        data_root (str): Root folder of the dataset.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``
            (query followed by gallery). Defaults to ``'train'``.
        pipeline (Sequence[dict]): Transforms. Defaults to ``()``.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    SPLITS = ('train', 'query', 'gallery', 'test')
    METAINFO: dict = dict(dataset_name='reid')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        if not data_root:
            raise ValueError(f'{type(self).__name__}: data_root is required')
        self.split = split
        super().__init__(
            data_root=data_root, pipeline=list(pipeline), **kwargs)

    # ----------------------------------------------------------- to override
    def parse_split(self, split: str) -> List[dict]:
        """Return the data infos of one of ``train`` / ``query`` /
        ``gallery``."""
        raise NotImplementedError

    # --------------------------------------------------------------- helpers
    def check_dir(self, path: str, expected: str) -> str:
        """Raise a clear error if ``path`` is not a folder."""
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: folder {path!r} does not exist; '
                f'expected {expected}')
        return path

    def split_images(self, folder: str, expected: str,
                     hint: str = '') -> List[str]:
        """Sorted names of the images in ``folder``, which must exist (else
        a ``FileNotFoundError`` saying ``expected``) and hold one image or
        more (else one naming the folder, followed by ``hint``)."""
        self.check_dir(folder, expected)
        names = list_images(folder)
        if not names:
            raise FileNotFoundError(
                f'{type(self).__name__}: no image in {folder!r}{hint}')
        return names

    def match_name(self, pattern: re.Pattern, path: str,
                   expected: str) -> re.Match:
        """``pattern`` searched in the file name of ``path``, or a
        ``ValueError`` naming the file and what was expected."""
        match = pattern.search(osp.basename(path))
        if match is None:
            raise ValueError(
                f'{type(self).__name__}: file name {path!r} does not match '
                f'the pattern {pattern.pattern!r}; expected {expected}')
        return match

    def parse_int(self,
                  text: Optional[str],
                  field: str,
                  source: str,
                  expected: str,
                  minimum: Optional[int] = None) -> int:
        """``int(text)``, or an error naming the file, the field and what
        was expected.

        Args:
            text (str | None): The text matched for the field.
            field (str): Its name in messages, e.g. ``'camera'``.
            source (str): Where it comes from, e.g. the image path or
                ``"line 3 of 'list_train.txt'"``.
            expected (str): What a valid name looks like.
            minimum (int, optional): Smallest valid value. Defaults to None
                (no bound).

        Returns:
            int: The parsed value.

        Raises:
            ValueError: If ``text`` is None, not an integer or below
                ``minimum``.
        """
        name = type(self).__name__
        if text is None:
            raise ValueError(f'{name}: {source}: there is no {field} field; '
                             f'expected {expected}')
        try:
            value = int(text)
        except (TypeError, ValueError):
            raise ValueError(
                f'{name}: {source}: the {field} field {text!r} is not an '
                f'integer; expected {expected}') from None
        if minimum is not None and value < minimum:
            raise ValueError(
                f'{name}: {source}: the {field} field {text!r} is out of '
                f'range (must be >= {minimum}); expected {expected}')
        return value

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'{type(self).__name__}: data_root {root!r} does not exist '
                f'or is not a folder')
        if self.split == 'test':
            query = self.parse_split('query')
            gallery = self.parse_split('gallery')
            data_list = ([dict(d, is_query=True) for d in query] +
                         [dict(d, is_query=False) for d in gallery])
        else:
            data_list = [
                dict(d, is_query=self.split == 'query')
                for d in self.parse_split(self.split)
            ]
        pids = {d['pid'] for d in data_list if d['pid'] >= 0}
        cams = {d['camid'] for d in data_list}
        self._metainfo.update(
            num_pids=len(pids), num_cameras=len(cams), split=self.split)
        return data_list

    def _array(self, key: str) -> np.ndarray:
        return np.asarray(
            [self.get_data_info(i)[key] for i in range(len(self))],
            dtype=np.int64)

    def get_pids(self) -> np.ndarray:
        """Ground-truth ids, (N, ) int64 (diagnostics and evaluation only)."""
        return self._array('pid')

    def get_camids(self) -> np.ndarray:
        """Camera ids, (N, ) int64."""
        return self._array('camid')


def list_images(folder: str, recursive: bool = False) -> List[str]:
    """Sorted image file names (not paths) directly inside ``folder``.

    Args:
        folder (str): The folder.
        recursive (bool): Also list the images of its sub-folders (at any
            depth; symbolic links to folders are not followed), as paths
            relative to ``folder`` (e.g. ``'cam1/0001.jpg'``). Defaults to
            False.

    Returns:
        list[str]: Names with an extension in :data:`IMG_EXTENSIONS` (any
        case), sorted.
    """
    import os
    if not recursive:
        return sorted(f for f in os.listdir(folder)
                      if f.lower().endswith(IMG_EXTENSIONS))
    names = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel = osp.relpath(root, folder)
        for f in files:
            if f.lower().endswith(IMG_EXTENSIONS):
                names.append(f if rel == '.' else osp.join(rel, f))
    return sorted(names)
