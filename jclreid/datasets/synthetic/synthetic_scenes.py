# Copyright (c) jclreid contributors. All rights reserved.
from typing import Sequence

from jclreid.registry import DATASETS
from ..scene_folder import SceneFolder
from .generate import ensure_generated
from .scenes import SCENE_CLASSES, generate_scenes


@DATASETS.register_module()
class SyntheticScenes(SceneFolder):
    """Embedded synthetic aerial scenes, generated on first use.

    If ``data_root`` is absent or empty, class folders are generated there
    (once, atomically, on rank 0); then the real :class:`SceneFolder`
    loader reads them.

    Args:
        data_root (str): Folder of the generated data.
        split (str): ``'train'`` or ``'test'``.
        classes (Sequence[str]): Scene classes. Defaults to all ten of
            :data:`SCENE_CLASSES`.
        images_per_class (int): Images per class. Defaults to 60.
        img_size (int): Image side. Defaults to 64.
        seed (int): Generator seed (also the split seed unless
            ``split_seed`` is given). Defaults to 0.
        **kwargs: See :class:`SceneFolder` (``train_ratio``,
            ``split_file``, ...).
    """

    METAINFO = dict(dataset_name='SyntheticScenes')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 classes: Sequence[str] = SCENE_CLASSES,
                 images_per_class: int = 60,
                 img_size: int = 64,
                 seed: int = 0,
                 **kwargs) -> None:
        ensure_generated(
            data_root,
            'scenes',
            generate_scenes,
            classes=classes,
            images_per_class=images_per_class,
            img_size=img_size,
            seed=seed)
        kwargs.setdefault('seed', seed)
        super().__init__(data_root=data_root, split=split, **kwargs)
