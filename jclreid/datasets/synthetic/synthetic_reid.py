# Copyright (c) jclreid contributors. All rights reserved.
from typing import Sequence

from jclreid.registry import DATASETS
from ..market1501 import Market1501
from .generate import ensure_generated
from .persons import generate_persons


@DATASETS.register_module()
class SyntheticReID(Market1501):
    """Embedded synthetic pedestrians, generated on first use.

    If ``data_root`` is absent or empty, the generator of
    :mod:`jclreid.datasets.synthetic.persons` writes a dataset there in the
    Market-1501 layout (once, atomically, on rank 0); then the real
    :class:`Market1501` parser reads it.

    Args:
        data_root (str): Folder of the generated data.
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        num_train_ids (int): Training identities. Defaults to 100.
        num_test_ids (int): Test identities. Defaults to 100.
        num_cameras (int): Cameras. Defaults to 6.
        img_size (Sequence[int]): (H, W). Defaults to (64, 32).
        images_per_camera (Sequence[int]): Range of images of an identity
            per camera. Defaults to (2, 3).
        cameras_per_id (Sequence[int]): Range of cameras per identity.
            Defaults to (2, 4).
        num_distractors (int): Gallery distractors. Defaults to 50.
        seed (int): Generator seed. Defaults to 0.
        **kwargs: See :class:`Market1501`.
    """

    METAINFO = dict(dataset_name='SyntheticReID')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_train_ids: int = 100,
                 num_test_ids: int = 100,
                 num_cameras: int = 6,
                 img_size: Sequence[int] = (64, 32),
                 images_per_camera: Sequence[int] = (2, 3),
                 cameras_per_id: Sequence[int] = (2, 4),
                 num_distractors: int = 50,
                 seed: int = 0,
                 **kwargs) -> None:
        ensure_generated(
            data_root,
            'persons',
            generate_persons,
            num_train_ids=num_train_ids,
            num_test_ids=num_test_ids,
            num_cameras=num_cameras,
            img_size=img_size,
            images_per_camera=images_per_camera,
            cameras_per_id=cameras_per_id,
            num_distractors=num_distractors,
            seed=seed)
        super().__init__(data_root=data_root, split=split, **kwargs)
