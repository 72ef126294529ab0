# Copyright (c) jclreid contributors. All rights reserved.
"""Features of images and gallery search with a trained re-ID model."""
import os.path as osp
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from jclreid.datasets.base_reid_dataset import list_images
from jclreid.evaluation.functional import compute_distance
from jclreid.registry import MODELS, TRANSFORMS
from jclreid.utils import (load_checkpoint_file, load_model_state,
                           register_all_modules)

InputType = Union[str, Path, np.ndarray]
InputsType = Union[InputType, Sequence[InputType]]

__all__ = ['ReIDInferencer']


class ReIDInferencer:
    """Extract re-ID features of images and rank a gallery for queries.

    The model is built from ``config`` and loaded from ``checkpoint`` with
    jclreid's safe loader (``torch.load(weights_only=True)``, strict keys);
    images go through the config's test pipeline
    (``test_dataloader.dataset.pipeline``), as in ``tools/test.py``.

    Args:
        config (str | Config): Config file or loaded config.
        checkpoint (str, optional): Checkpoint path or URL. None keeps the
            model's initial weights (with ``init_cfg``, the pretrained
            backbone). Defaults to None.
        device (str | torch.device, optional): Where the model runs. None:
            ``'cuda'`` if available, else ``'cpu'``. Defaults to None.
        batch_size (int): Images per forward pass. Defaults to 32.
        trust_checkpoint (bool): Allow full unpickling of the checkpoint
            (can run arbitrary code: only for files you trust; logs a
            warning). Defaults to False.

    Attributes:
        cfg (Config): The config.
        model (nn.Module): The model, in eval mode, on ``device``.
        device (torch.device): The model's device.
        skipped (list[str]): Paths dropped by the last
            ``extract(..., on_error='skip')``.

    Example:
        >>> inferencer = ReIDInferencer('configs/jcl/jcl_r18_synthetic.py',
        ...                             'work_dirs/jcl/epoch_25.pth')
        >>> feats = inferencer.extract('data/query')       # (N, D)
        >>> inferencer.search('q.jpg', 'gallery/', topk=5)[0][0]
        {'index': 17, 'path': 'gallery/0001_c2s1_000001_00.jpg',
         'distance': 0.12}
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 batch_size: int = 32,
                 trust_checkpoint: bool = False) -> None:
        register_all_modules(init_default_scope=False)
        if isinstance(config, (str, Path)):
            if not osp.isfile(config):
                raise FileNotFoundError(
                    f'config file {str(config)!r} does not exist')
            config = Config.fromfile(str(config))
        if not isinstance(config, Config):
            raise TypeError('ReIDInferencer: config must be a file path or '
                            f'an mmengine Config, got {type(config).__name__}')
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f'ReIDInferencer: batch_size must be >= 1, got {batch_size}')
        self.cfg = config
        self.batch_size = batch_size
        self.skipped: List[str] = []
        init_default_scope(config.get('default_scope', 'jclreid'))
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = torch.device(device)
        self.model = self._init_model(config, checkpoint, trust_checkpoint)
        self._load, self.pipeline = self._init_pipeline(config)

    # -- construction ------------------------------------------------------
    def _init_model(self, cfg: Config, checkpoint: Optional[str],
                    trust: bool) -> torch.nn.Module:
        if 'model' not in cfg:
            raise KeyError('ReIDInferencer: the config has no `model` field')
        model = MODELS.build(cfg.model)
        if checkpoint is not None:
            ckpt = load_checkpoint_file(
                str(checkpoint), map_location='cpu', trust=trust)
            load_model_state(model, ckpt, str(checkpoint), strict=True)
        else:
            warnings.warn('ReIDInferencer: no checkpoint given, the model '
                          'keeps its random initial weights')
        model.to(self.device)
        model.eval()
        return model

    @staticmethod
    def _init_pipeline(cfg: Config):
        """Split the test pipeline into its loading step(s) and the rest,
        so that arrays skip the loading step (as mmpretrain does)."""
        try:
            pipeline_cfg = cfg.test_dataloader.dataset.pipeline
        except AttributeError as err:
            raise KeyError('ReIDInferencer: the config has no '
                           'test_dataloader.dataset.pipeline; expected the '
                           'test pipeline there') from err
        load, rest = [], []
        for step in pipeline_cfg:
            kind = step.get('type', '')
            kind = kind if isinstance(kind, str) else kind.__name__
            (load if kind.startswith('LoadImage') else rest).append(
                TRANSFORMS.build(step))
        if not load:
            raise ValueError('ReIDInferencer: test_dataloader.dataset.'
                             'pipeline has no LoadImageFromFile step')
        return Compose(load), Compose(rest)

    # -- inputs ------------------------------------------------------------
    @staticmethod
    def expand_inputs(inputs: InputsType) -> list:
        """Flatten ``inputs`` into the list :meth:`extract` works on.

        Args:
            inputs (str | ndarray | list): As for :meth:`extract`.

        Returns:
            list: Image paths (str; a folder becomes its images, sorted by
            name) and (H, W, 3) uint8 arrays, in input order.
        """
        if isinstance(inputs, (str, Path, np.ndarray)):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise TypeError('inputs must be an image path, a folder, an '
                            '(H, W, 3) uint8 array or a list of them, got '
                            f'{type(inputs).__name__}')
        items = []
        for item in inputs:
            if isinstance(item, np.ndarray):
                if item.ndim != 3 or item.shape[2] != 3 or \
                        item.dtype != np.uint8:
                    raise ValueError(
                        'image arrays must be (H, W, 3) BGR uint8, got '
                        f'{item.dtype} {item.shape}')
                items.append(item)
            elif isinstance(item, (str, Path)):
                path = str(item)
                if osp.isdir(path):
                    names = list_images(path)
                    if not names:
                        raise ValueError(
                            f'folder {path!r} holds no images (expected '
                            '.jpg/.jpeg/.png/.bmp/.tif files)')
                    items.extend(osp.join(path, n) for n in names)
                else:
                    items.append(path)
            else:
                raise TypeError('inputs must be image paths, folders or '
                                '(H, W, 3) uint8 arrays, got '
                                f'{type(item).__name__}')
        return items

    def _prepare(self, item) -> dict:
        """One packed sample (``inputs``, ``data_samples``)."""
        if isinstance(item, np.ndarray):
            results = dict(
                img=item, img_shape=item.shape[:2], ori_shape=item.shape[:2])
        else:
            if not osp.isfile(item):
                raise FileNotFoundError(f'image file {item!r} does not exist')
            results = self._load(dict(img_path=item))
            if results is None:
                raise OSError(f'image file {item!r} could not be decoded')
        return self.pipeline(results)

    # -- API ---------------------------------------------------------------
    @torch.no_grad()
    def extract(self,
                inputs: InputsType,
                batch_size: Optional[int] = None,
                progress: bool = True,
                on_error: str = 'raise') -> torch.Tensor:
        """Features of images.

        Args:
            inputs (str | ndarray | list): An image path, a folder (its
                images, sorted by name), an (H, W, 3) BGR uint8 array, or a
                list of them.
            batch_size (int, optional): Defaults to the constructor's.
            progress (bool): Show a progress bar (on stderr) when there is
                more than one batch. Defaults to True.
            on_error (str): ``'raise'``: a missing or unreadable image
                raises :class:`ValueError` naming it. ``'skip'``: it is
                dropped with a warning naming it and listed in
                :attr:`skipped`. Defaults to ``'raise'``.

        Returns:
            Tensor: (N, D) float32 CPU L2-normalised features, in input
            order (without the skipped images).
        """
        if on_error not in ('raise', 'skip'):
            raise ValueError("on_error must be 'raise' or 'skip', got "
                             f'{on_error!r}')
        batch_size = batch_size or self.batch_size
        items = self.expand_inputs(inputs)
        self.skipped = []
        num_batches = (len(items) + batch_size - 1) // batch_size
        bar = ProgressBar(len(items), file=sys.stderr) \
            if progress and num_batches > 1 else None
        feats = []
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            batch = []
            for offset, item in enumerate(chunk):
                try:
                    batch.append(self._prepare(item))
                except (OSError, ValueError) as err:
                    name = item if isinstance(item, str) else \
                        f'<array #{start + offset}>'
                    if on_error == 'raise':
                        raise ValueError(
                            f'cannot read image {name!r}: {err}') from err
                    warnings.warn(f'skipped image {name!r}: {err}')
                    self.skipped.append(name)
            if batch:
                feats.append(self.forward(batch))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            sys.stderr.write('\n')
        if not feats:  # no input left
            return torch.empty((0, 0), dtype=torch.float32)
        return torch.cat(feats)

    __call__ = extract

    def forward(self, batch: List[dict]) -> torch.Tensor:
        """(B, D) CPU features of packed samples (test pipeline outputs)."""
        data = pseudo_collate(batch)
        outputs = self.model.test_step(data)
        feats = torch.stack(
            [o.pred_feature.float().reshape(-1) for o in outputs])
        return F.normalize(feats, dim=1).cpu()

    def search(self,
               query: InputsType,
               gallery: InputsType,
               topk: int = 10,
               metric: str = 'cosine',
               progress: bool = True) -> List[List[dict]]:
        """Rank a gallery for each query image.

        Args:
            query (str | ndarray | list): Query images, as for
                :meth:`extract`.
            gallery (str | ndarray | list): Gallery images, as for
                :meth:`extract` (e.g. a folder).
            topk (int): Results per query (at most the gallery size).
                Defaults to 10.
            metric (str): ``'cosine'`` or ``'euclidean'`` (squared), see
                :func:`jclreid.evaluation.functional.compute_distance`.
                Defaults to ``'cosine'``.
            progress (bool): Progress bars while extracting. Defaults to
                True.

        Returns:
            list[list[dict]]: One list per query image, ascending distance:
            ``{'index': position in the expanded gallery, 'path': its path
            (None for arrays), 'distance': float}``.
        """
        if not isinstance(topk, int) or topk < 1:
            raise ValueError(f'topk must be an int >= 1, got {topk!r}')
        gallery_items = self.expand_inputs(gallery)
        query_feats = self.extract(query, progress=progress)
        gallery_feats = self.extract(gallery_items, progress=progress)
        dist = compute_distance(query_feats, gallery_feats, metric)
        k = min(topk, gallery_feats.shape[0])
        values, order = dist.topk(k, dim=1, largest=False)
        results = []
        for row_d, row_i in zip(values.tolist(), order.tolist()):
            results.append([
                dict(
                    index=i,
                    path=gallery_items[i]
                    if isinstance(gallery_items[i], str) else None,
                    distance=d) for d, i in zip(row_d, row_i)
            ])
        return results
