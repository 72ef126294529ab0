# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
import re
from typing import Dict, List, Optional

from jclreid.registry import DATASETS
from .base_reid_dataset import BaseReIDDataset, list_images


@DATASETS.register_module()
class ReIDFolder(BaseReIDDataset):
    """Any folder of re-ID crops; identity and camera parsed from the file
    name by a regular expression.

    Args:
        data_root (str): Root folder.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        pattern (str): Regex searched in each file name, with named groups
            ``pid`` and ``camid`` (``camid`` optional: camera 0). Defaults
            to ``r'(?P<pid>-?\\d+)_c(?P<camid>\\d+)'``.
        camid_offset (int): Subtracted from the parsed camera so that
            camids start at 0. Defaults to 1.
        split_dirs (dict, optional): Sub-folder of each split. Defaults to
            ``dict(train='train', query='query', gallery='gallery')``.
        junk_pid (int, optional): Identity dropped as junk. Defaults to -1.
        **kwargs: See :class:`BaseReIDDataset`.
    """

    METAINFO = dict(dataset_name='ReIDFolder')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pattern: str = r'(?P<pid>-?\d+)_c(?P<camid>\d+)',
                 camid_offset: int = 1,
                 split_dirs: Optional[Dict[str, str]] = None,
                 junk_pid: Optional[int] = -1,
                 **kwargs) -> None:
        self.pattern = re.compile(pattern)
        if 'pid' not in self.pattern.groupindex:
            raise ValueError('ReIDFolder.pattern must have a named group '
                             f'"pid", got {pattern!r}')
        self.camid_offset = camid_offset
        self.split_dirs = dict(
            train='train', query='query', gallery='gallery')
        if split_dirs is not None:
            self.split_dirs.update(split_dirs)
        self.junk_pid = junk_pid
        super().__init__(data_root=data_root, split=split, **kwargs)

    def parse_split(self, split: str) -> List[dict]:
        folder = self.check_dir(
            osp.join(self.data_root, self.split_dirs[split]),
            f'a folder of images for split {split!r} '
            f'(split_dirs={self.split_dirs})')
        names = list_images(folder)
        if not names:
            raise FileNotFoundError(f'ReIDFolder: no image in {folder!r}')
        data = []
        for name in names:
            match = self.pattern.search(name)
            if match is None:
                raise ValueError(
                    f'ReIDFolder: file name {osp.join(folder, name)!r} does '
                    f'not match pattern {self.pattern.pattern!r}')
            pid = int(match.group('pid'))
            if self.junk_pid is not None and pid == self.junk_pid:
                continue
            cam = match.groupdict().get('camid')
            camid = int(cam) - self.camid_offset if cam is not None else 0
            data.append(
                dict(img_path=osp.join(folder, name), pid=pid, camid=camid))
        return data
