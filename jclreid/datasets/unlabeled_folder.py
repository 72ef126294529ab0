# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
import re
from typing import List, Optional

from jclreid.registry import DATASETS
from .base_reid_dataset import IMG_EXTENSIONS, BaseReIDDataset, list_images


@DATASETS.register_module()
class UnlabeledFolder(BaseReIDDataset):
    """A folder of a user's own images without identities: person crops,
    or scene tiles.

    Every image under ``data_root`` (at any depth when ``recursive``; any
    extension of :data:`IMG_EXTENSIONS`, any case) is one sample, in sorted
    order of its path relative to ``data_root``. There is no ground truth:
    every ``pid`` is ``-1``, which the pseudo-label hook reads as "no
    ground truth" (it then logs the pseudo-label statistics only). The
    folder is only read, never written to.

    Cameras (used by ``CameraAwareFilter``, which keeps the clusters seen
    by two cameras or more) come from one of:

    - ``cam_regex``: a regular expression with exactly one group, searched
      in the path relative to ``data_root`` with ``/`` separators, e.g.
      ``r'_c(\\d+)'`` for Market-1501 style names or ``r'^(cam\\d+)/'``
      for one sub-folder per camera. A file it does not match raises a
      ``ValueError`` naming the file.
    - ``camera_from='folder'``: the first sub-folder of the relative path
      (``data_root/<camera>/.../<image>``); an image directly in
      ``data_root`` raises a ``ValueError`` naming it.
    - neither (the default): every image gets camera 0, so the camera
      filter turns itself off (with a warning). Scene tiles have no
      cameras.

    Camera names (the matched text or the folder name) are numbered
    ``0..C-1`` in sorted order (numerically when every name is an
    integer); ``metainfo['cameras']`` lists the names in that order.

    Args:
        data_root (str): The folder of images.
        split (str): Only ``'train'``: an unlabeled folder has no query or
            gallery. Defaults to ``'train'``.
        cam_regex (str, optional): See above. Defaults to None.
        camera_from (str, optional): ``'folder'`` or None. See above.
            Defaults to None.
        recursive (bool): Include the images of sub-folders. Defaults to
            True.
        **kwargs: See :class:`BaseReIDDataset`.

    Raises:
        FileNotFoundError: If ``data_root`` does not exist or holds no
            image (the message names the folder).
        ValueError: Bad ``cam_regex`` / ``camera_from``, or a file whose
            camera cannot be read.
    """

    SPLITS = ('train', )
    CAMERA_SOURCES = ('folder', )
    METAINFO = dict(dataset_name='UnlabeledFolder')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 cam_regex: Optional[str] = None,
                 camera_from: Optional[str] = None,
                 recursive: bool = True,
                 **kwargs) -> None:
        if cam_regex is not None and camera_from is not None:
            raise ValueError(
                'UnlabeledFolder: give cam_regex or camera_from, not both '
                f'(got cam_regex={cam_regex!r}, camera_from={camera_from!r})')
        if camera_from is not None and camera_from not in \
                self.CAMERA_SOURCES:
            raise ValueError(
                f'UnlabeledFolder.camera_from must be one of '
                f'{self.CAMERA_SOURCES} or None, got {camera_from!r}')
        self.cam_pattern = None
        if cam_regex is not None:
            try:
                self.cam_pattern = re.compile(cam_regex)
            except (re.error, TypeError) as e:
                raise ValueError(
                    f'UnlabeledFolder.cam_regex {cam_regex!r} is not a '
                    f'valid regular expression: {e}') from None
            if self.cam_pattern.groups != 1:
                raise ValueError(
                    f'UnlabeledFolder.cam_regex {cam_regex!r} must have '
                    f'exactly one group (the camera), it has '
                    f'{self.cam_pattern.groups}; e.g. r"_c(\\d+)"')
        if not isinstance(recursive, bool):
            raise TypeError('UnlabeledFolder.recursive must be True or '
                            f'False, got {recursive!r}')
        self.camera_from = camera_from
        self.recursive = recursive
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def has_cameras(self) -> bool:
        """Whether the cameras are read from the files (else all are 0)."""
        return self.cam_pattern is not None or self.camera_from is not None

    def _camera_name(self, rel: str, path: str) -> str:
        if self.cam_pattern is not None:
            match = self.cam_pattern.search(rel)
            if match is None or match.group(1) is None:
                raise ValueError(
                    f'UnlabeledFolder: no camera in {path!r}: cam_regex '
                    f'{self.cam_pattern.pattern!r} does not match its path '
                    f'relative to data_root ({rel!r})')
            return match.group(1)
        parts = rel.split('/')
        if len(parts) < 2:
            raise ValueError(
                f"UnlabeledFolder: camera_from='folder' but {path!r} is "
                'directly in data_root; expected data_root/<camera '
                'folder>/<image>')
        return parts[0]

    def parse_split(self, split: str) -> List[dict]:
        root = self.data_root
        names = list_images(root, recursive=self.recursive)
        if not names:
            where = 'or its sub-folders ' if self.recursive else ''
            raise FileNotFoundError(
                f'UnlabeledFolder: no image in {root!r} {where}(expected '
                f'files ending in {", ".join(IMG_EXTENSIONS)})')
        rels = [n.replace(osp.sep, '/') for n in names]
        paths = [osp.join(root, n) for n in names]
        if self.has_cameras:
            cams = [self._camera_name(r, p) for r, p in zip(rels, paths)]
            distinct = set(cams)
            numeric = all(re.fullmatch(r'-?\d+', c) for c in distinct)
            order = sorted(distinct, key=int if numeric else None)
            index = {c: i for i, c in enumerate(order)}
            camids = [index[c] for c in cams]
        else:
            order, camids = ['0'], [0] * len(paths)
        self._metainfo['cameras'] = tuple(order)
        return [
            dict(img_path=p, pid=-1, camid=c) for p, c in zip(paths, camids)
        ]

    def load_data_list(self) -> List[dict]:
        self.check_dir(self.data_root, 'a folder of images (data_root)')
        return super().load_data_list()
