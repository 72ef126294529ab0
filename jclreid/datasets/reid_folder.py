# Copyright (c) jclreid contributors. All rights reserved.
import logging
import os.path as osp
import re
from typing import Dict, List, Optional

from mmengine.logging import print_log

from jclreid.registry import DATASETS
from .base_reid_dataset import BaseReIDDataset


@DATASETS.register_module()
class ReIDFolder(BaseReIDDataset):
    """Any folder of re-ID crops; identity and camera parsed from the file
    name by a regular expression.

    Every image file of a split folder must match ``pattern``; a file that
    does not, a ``pid`` or ``camid`` group that is not an integer, a pid
    below -1 or a camera below ``camid_offset`` (a negative camid) raises a
    ``ValueError`` naming the file. Nothing is skipped or guessed.

    Cameras: by default the pattern must have a named group ``camid``; a
    pattern without one (e.g. a group misnamed ``cam``) is refused, because
    silently giving every image camera 0 turns the camera-aware filter off
    and breaks the same-camera rule of re-ID evaluation. A dataset that
    really has no camera ids says so with ``has_cameras=False``; then the
    pattern must have no ``camid`` group, train and query images get camid
    0 and gallery images camid 1 (query and gallery count as two cameras,
    so the evaluation's same-camera rule discards no gallery image), and
    the choice is logged as a warning through mmengine's current logger.
    With one camera in the train set, ``CameraAwareFilter`` turns itself
    off (and logs that too).

    Args:
        data_root (str): Root folder.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        pattern (str): Regex searched in each file name, with named groups
            ``pid`` and (unless ``has_cameras=False``) ``camid``. Defaults
            to ``r'(?P<pid>-?\\d+)_c(?P<camid>\\d+)'``.
        camid_offset (int): Subtracted from the parsed camera so that
            camids start at 0. Defaults to 1.
        split_dirs (dict, optional): Sub-folder of each split. Defaults to
            ``dict(train='train', query='query', gallery='gallery')``.
        junk_pid (int, optional): Identity dropped as junk. Defaults to -1.
        has_cameras (bool): Whether the file names carry a camera id.
            False declares a dataset without cameras (see above). Defaults
            to True.
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
                 has_cameras: bool = True,
                 **kwargs) -> None:
        try:
            self.pattern = re.compile(pattern)
        except (re.error, TypeError) as e:
            raise ValueError(f'ReIDFolder.pattern {pattern!r} is not a valid '
                             f'regular expression: {e}') from None
        groups = sorted(self.pattern.groupindex)
        if 'pid' not in self.pattern.groupindex:
            raise ValueError('ReIDFolder.pattern must have a named group '
                             f'"pid", got {pattern!r} (named groups: '
                             f'{groups})')
        if not isinstance(has_cameras, bool):
            raise TypeError('ReIDFolder.has_cameras must be True or False, '
                            f'got {has_cameras!r}')
        has_camid = 'camid' in self.pattern.groupindex
        if has_cameras and not has_camid:
            raise ValueError(
                f'ReIDFolder.pattern {pattern!r} has no named group "camid" '
                f'(named groups: {groups}); name the camera group '
                '(?P<camid>...), or pass has_cameras=False if the file names '
                'really carry no camera id')
        if not has_cameras and has_camid:
            raise ValueError(
                f'ReIDFolder: has_cameras=False but pattern {pattern!r} has a '
                '"camid" group; drop the group or set has_cameras=True')
        if isinstance(camid_offset, bool) or not isinstance(
                camid_offset, int):
            raise TypeError('ReIDFolder.camid_offset must be an int, got '
                            f'{camid_offset!r}')
        self.camid_offset = camid_offset
        self.has_cameras = has_cameras
        self.split_dirs = dict(
            train='train', query='query', gallery='gallery')
        if split_dirs is not None:
            self.split_dirs.update(split_dirs)
        self.junk_pid = junk_pid
        if not has_cameras:
            print_log(
                f'ReIDFolder({data_root!r}, split={split!r}): '
                'has_cameras=False, the file names carry no camera id: '
                'train and query images get camid 0, gallery images camid '
                '1, so CameraAwareFilter turns itself off and evaluation '
                'keeps every gallery image',
                logger='current',
                level=logging.WARNING)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def parse_split(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, self.split_dirs[split])
        names = self.split_images(
            folder, f'a folder of images for split {split!r} '
            f'(split_dirs={self.split_dirs})')
        expected = (f'file names matching {self.pattern.pattern!r} with an '
                    'integer pid (>= -1)')
        if self.has_cameras:
            expected += (' and an integer camid (>= camid_offset='
                         f'{self.camid_offset})')
        data = []
        for name in names:
            path = osp.join(folder, name)
            match = self.match_name(self.pattern, path, expected)
            pid = self.parse_int(match.group('pid'), 'pid', path, expected)
            if self.junk_pid is not None and pid == self.junk_pid:
                continue
            if pid < -1:
                self.parse_int(match.group('pid'), 'pid', path, expected, -1)
            if self.has_cameras:
                camid = self.parse_int(
                    match.group('camid'), 'camid', path, expected,
                    self.camid_offset) - self.camid_offset
            else:
                camid = 1 if split == 'gallery' else 0
            data.append(dict(img_path=path, pid=pid, camid=camid))
        return data
