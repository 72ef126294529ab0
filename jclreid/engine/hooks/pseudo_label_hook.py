# Copyright (c) jclreid contributors. All rights reserved.
import datetime
import math
import time
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch.utils.data import DataLoader, Dataset

from jclreid.clustering.label_generator import no_cluster_advice
from jclreid.evaluation.functional.clustering import clustering_agreement
from jclreid.registry import CLUSTERERS, HOOKS, build_if_config
from jclreid.utils.dist import (broadcast_array, broadcast_buffers,
                                broadcast_object, describe_global_batch,
                                gather_by_index, unwrap_model)

#: The checkpoint's top-level key holding the current pseudo labels.
PSEUDO_LABELS_KEY = 'pseudo_labels'
_DROP = object()


class _ExtractionDataset(Dataset):
    """The train set (unmodified) through another pipeline: its
    ``get_data_info`` dicts, which carry ``sample_idx``, through
    ``pipeline``."""

    def __init__(self, dataset, pipeline: Sequence) -> None:
        self.dataset, self.pipeline = dataset, Compose(list(pipeline))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.dataset.get_data_info(idx))


def _dataset_array(dataset, getter: str, key: str) -> np.ndarray:
    """``dataset.get_pids()`` style accessor with a per-item fallback."""
    fn = getattr(dataset, getter, None)
    if callable(fn):
        return np.asarray(fn(), dtype=np.int64)
    return np.asarray(
        [dataset.get_data_info(i).get(key, -1) for i in range(len(dataset))],
        dtype=np.int64)


def _plain(value):
    """``value`` with numpy scalars turned into Python numbers and anything
    that ``torch.load(weights_only=True)`` may refuse left out."""
    if isinstance(value, dict):
        items = ((str(k), _plain(v)) for k, v in value.items())
        return {k: v for k, v in items if v is not _DROP}
    if isinstance(value, (list, tuple)):
        return [v for v in map(_plain, value) if v is not _DROP]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return value.item() if isinstance(value, np.generic) else _DROP


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Refresh the pseudo labels and the memories of JCL.

    Before every ``interval``-th training epoch (and the first epoch after
    a resume: memories are not in checkpoints), :meth:`refresh` runs:

    1. extract: broadcast rank 0's buffers (:meth:`sync_buffers`), then
       L2-normalised features of this rank's shard of the train set, in
       eval mode, through ``pipeline`` (the test pipeline);
    2. gather: every rank gets all shards in ``sample_idx`` order (1 and 2
       are :meth:`extract_features`);
    3. cluster on rank 0 with the label generator (distance -> clusterer
       -> filters);
    4. broadcast its labels and summary to every rank;
    5. reset the head (cluster memory <- centroids, instance memory <-
       features, label buffer <- labels, warm-up flag) and the sampler;
       then log the summary and, when the dataset has ground truth, its
       agreement with the labels (diagnostics only:
       :func:`~jclreid.evaluation.functional.clustering_agreement`).

    During the first ``warmup_epochs`` epochs steps 3-4 are skipped: every
    sample is its own pseudo identity and the head trains the instance
    loss only, which learns from random initialisation where clusters of
    random features would just be cameras.

    Rank 0's persistent buffers are also broadcast before every validation
    and test epoch (mmengine's DDP has ``broadcast_buffers=False``), so that
    every rank evaluates the model of the checkpoint rank 0 writes (see
    :func:`jclreid.utils.broadcast_buffers`). ``before_train`` logs the
    effective batch once.

    Args:
        pipeline (Sequence[dict], optional): Extraction pipeline (a test
            pipeline). None: the config's test (else val) dataloader's
            dataset pipeline (:meth:`resolve_pipeline`). Defaults to None.
        label_generator (dict | callable, optional): Config in
            ``CLUSTERERS`` or a built one. None builds ``LabelGenerator()``
            with that class's defaults. Defaults to None.
        interval (int): Refresh every ``interval`` epochs. Defaults to 1.
        warmup_epochs (int): Instance-discrimination epochs before the first
            clustering. Defaults to 0.
        batch_size (int): Extraction batch size per rank. Defaults to 64.
        num_workers (int): Extraction dataloader workers. Defaults to 0.
        log_gt_metrics (bool): Log agreement of the pseudo labels with the
            ground truth when the dataset has it. Defaults to True.
        progress_interval (int, optional): Log the extraction's progress
            (images done, speed, ETA) through the runner's logger, hence
            into the log file, every this many batches of rank 0's shard.
            None: about ten lines per extraction. Defaults to None.

    Progress: rank 0 logs extraction lines such as ``Pseudo labels:
    extracting features 256/724 (35%), 410.2 img/s, ETA 0:00:01``, then
    ``extracted ... in ...``, and, after clustering, the wall seconds of
    each stage of the label generator (its ``stage_seconds``: distance,
    clusterer, filters). Logging and timing change no result.

    Integer arguments must be ints (``TypeError`` naming the field). When
    no cluster is left, the error tells the clusterer from the filters
    (:meth:`no_cluster_message`); it is raised on the first clustering,
    later ones warn and keep the previous labels. Non-finite features are
    refused (:meth:`check_finite`). Checkpoints carry the current labels
    (key ``pseudo_labels``: int64 ``labels``, ``last_was_warmup``,
    ``summary``), which a resumed run takes over.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 pipeline: Optional[Sequence[dict]] = None,
                 label_generator: Optional[Union[dict, Callable]] = None,
                 interval: int = 1,
                 warmup_epochs: int = 0,
                 batch_size: int = 64,
                 num_workers: int = 0,
                 log_gt_metrics: bool = True,
                 progress_interval: Optional[int] = None) -> None:
        checked = [('interval', interval, 1),
                   ('warmup_epochs', warmup_epochs, 0),
                   ('batch_size', batch_size, 1),
                   ('num_workers', num_workers, 0)]
        if progress_interval is not None:
            checked.append(('progress_interval', progress_interval, 1))
        for field, value, minimum in checked:
            if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)):
                raise TypeError(
                    f'PseudoLabelHook.{field} must be an int, got '
                    f'{value!r} ({type(value).__name__})')
            if value < minimum:
                raise ValueError(f'PseudoLabelHook.{field} must be >= '
                                 f'{minimum}, got {value}')
        if not isinstance(log_gt_metrics, bool):
            raise TypeError('PseudoLabelHook.log_gt_metrics must be True or '
                            f'False, got {log_gt_metrics!r}')
        if pipeline is not None and (isinstance(pipeline, (dict, str)) or
                                     not isinstance(pipeline, Sequence)):
            raise TypeError(
                'PseudoLabelHook.pipeline must be a list of transforms (a '
                f'test pipeline) or None, got {type(pipeline).__name__}')
        if not (label_generator is None or isinstance(label_generator, dict)
                or callable(label_generator)):
            raise TypeError(
                'PseudoLabelHook.label_generator must be a config dict, a '
                'callable or None, got '
                f'{type(label_generator).__name__}')
        if label_generator is None:  # LabelGenerator's own defaults
            label_generator = dict(type='LabelGenerator')
        self.pipeline = None if pipeline is None else list(pipeline)
        self.label_generator = build_if_config(label_generator, CLUSTERERS)
        self.interval = int(interval)
        self.warmup_epochs = int(warmup_epochs)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.log_gt_metrics = log_gt_metrics
        self.progress_interval = (None if progress_interval is None else
                                  int(progress_interval))
        self.labels: Optional[np.ndarray] = None
        self.summary: dict = {}
        self._last_was_warmup = False
        self._loaded_state = None

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        """Check the set-up, resolve ``pipeline=None`` from the config, log
        the effective batch and take over resumed pseudo labels."""
        loader = runner.train_dataloader
        sampler_bs = getattr(loader.sampler, 'batch_size', None)
        if sampler_bs is not None and sampler_bs != loader.batch_size:
            raise ValueError(
                f'train_dataloader.sampler.batch_size ({sampler_bs}) must '
                f'equal train_dataloader.batch_size ({loader.batch_size})')
        head = getattr(unwrap_model(runner.model), 'head', None)
        if not hasattr(head, 'reset'):
            raise TypeError('PseudoLabelHook needs a model with a head that '
                            'has reset(features, labels, warmup), e.g. JCL + '
                            'JCLHead')
        if self.pipeline is None:
            self.pipeline = self.resolve_pipeline(runner.cfg)
        runner.logger.info(describe_global_batch(loader))
        self._restore_labels(runner)

    def before_train_epoch(self, runner) -> None:
        epoch = runner.epoch
        due = (epoch < self.warmup_epochs
               or (epoch - self.warmup_epochs) % self.interval == 0)
        if due or not unwrap_model(runner.model).head.is_initialized:
            self.refresh(runner)

    def before_val_epoch(self, runner) -> None:
        """Every rank evaluates with rank 0's buffers."""
        self.sync_buffers(runner)

    def before_test_epoch(self, runner) -> None:
        """Every rank tests with rank 0's buffers."""
        self.sync_buffers(runner)

    # ---------------------------------------------------------------- set-up
    @staticmethod
    def sync_buffers(runner) -> None:
        """Broadcast the persistent buffers (BatchNorm running statistics)
        of the model from rank 0 to every rank; a no-op on one process."""
        broadcast_buffers(
            unwrap_model(runner.model), src=0, persistent_only=True)

    @staticmethod
    def resolve_pipeline(cfg) -> list:
        """The transforms of ``test_dataloader.dataset.pipeline`` of the
        config (a dataloader entry may be a config or a built
        ``DataLoader``), else of ``val_dataloader.dataset.pipeline``.

        Raises:
            KeyError: If the config has neither.
        """
        for field in ('test_dataloader', 'val_dataloader'):
            pipeline = cfg
            for key in (field, 'dataset', 'pipeline'):
                pipeline = (pipeline.get(key) if isinstance(pipeline, dict)
                            else getattr(pipeline, key, None))
            if pipeline is not None:
                # A built dataset holds a Compose; take its transforms.
                return list(getattr(pipeline, 'transforms', pipeline))
        raise KeyError(
            'PseudoLabelHook(pipeline=None) takes the feature-extraction '
            'pipeline from `test_dataloader.dataset.pipeline`, falling back '
            'to `val_dataloader.dataset.pipeline`, but the config has '
            'neither; set one of them or give the hook an explicit '
            '`pipeline=` (a test pipeline)')

    # --------------------------------------------------------------- refresh
    def refresh(self, runner) -> None:
        """Extract, gather, cluster on rank 0, broadcast, reset (see the
        class doc), then log."""
        start = time.time()
        dataset = runner.train_dataloader.dataset
        warmup = runner.epoch < self.warmup_epochs
        features = self.extract_features(runner)  # 1. extract, 2. gather
        self.check_finite(features, runner, warmup)
        num = features.shape[0]
        if warmup:  # every sample is its own pseudo identity
            labels = np.arange(num, dtype=np.int64)
            summary = dict(num_samples=num, num_clusters=num, num_outliers=0,
                           num_removed_clusters=0, warmup=True)
        else:  # 3. cluster on rank 0, 4. broadcast
            labels, summary = self._broadcast(
                *self._cluster_on_rank0(features, dataset))
            if summary.get('num_clusters', 0) == 0:
                labels, summary = self._previous_labels(runner, summary, num)
        self._reset_head_and_sampler(runner, features, labels, warmup)  # 5.
        self.summary = summary
        if not warmup and self.log_gt_metrics:
            summary.update(self._gt_metrics(dataset, labels))
        summary['time'] = round(time.time() - start, 2)
        self._log(runner, summary)

    @torch.no_grad()
    def extract_features(self, runner) -> torch.Tensor:
        """Steps 1 and 2: the (N, D) features of the whole train set in
        ``sample_idx`` order, on every rank and the model's device.

        Ordinary tensors (not inference tensors), so that ``head.reset``
        may keep them in the memories that later training steps use in
        autograd."""
        indices, features = self._extract_shard(runner)
        return gather_by_index(indices, features,
                               len(runner.train_dataloader.dataset))

    def _extract_shard(self, runner) -> Tuple[torch.Tensor, torch.Tensor]:
        """Step 1: ``(sample_idx, features)`` of this rank's shard, in eval
        mode, after :meth:`sync_buffers`.

        The forward passes run under ``torch.inference_mode``; the batches
        are concatenated outside it, which makes ordinary tensors of them
        (inference tensors cannot be saved for backward, nor changed in
        place, outside inference mode)."""
        if self.pipeline is None:
            self.pipeline = self.resolve_pipeline(runner.cfg)
        self.sync_buffers(runner)
        model = unwrap_model(runner.model)
        extract_set = _ExtractionDataset(runner.train_dataloader.dataset,
                                         self.pipeline)
        loader = DataLoader(
            extract_set,
            batch_size=self.batch_size,
            sampler=DefaultSampler(extract_set, shuffle=False, round_up=True),
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        was_training = model.training
        model.eval()
        feats, idxs = [], []
        progress = self._progress(runner, len(loader), len(loader.sampler))
        try:
            with torch.inference_mode():
                for data in loader:
                    data = model.data_preprocessor(data, False)
                    feats.append(model(**data, mode='tensor'))
                    idxs.append(
                        torch.as_tensor(
                            [s.sample_idx for s in data['data_samples']]))
                    progress(len(idxs[-1]))
        finally:
            model.train(was_training)
        feats = torch.cat(feats)  # outside inference mode: a normal tensor
        return torch.cat(idxs).to(feats.device), feats

    def _progress(self, runner, num_batches: int,
                  num_images: int) -> Callable[[int], None]:
        """A callback taking each batch's size that logs the extraction's
        progress on rank 0 every :attr:`progress_interval` batches (and
        at the last), then its total time; a no-op on other ranks."""
        if get_rank() != 0:
            return lambda size: None
        every = self.progress_interval or max(1, math.ceil(num_batches / 10))
        shard = '' if num_images >= len(runner.train_dataloader.dataset) \
            else ' (rank 0 shard)'
        state = dict(batches=0, images=0, start=time.perf_counter())

        def step(size: int) -> None:
            state['batches'] += 1
            state['images'] += size
            done, images = state['batches'], state['images']
            spent = time.perf_counter() - state['start']
            speed = images / spent if spent > 0 else 0.0
            if done == num_batches:
                print_log(
                    f'Pseudo labels: extracted features of {images} images'
                    f'{shard} in {spent:.2f} s ({speed:.1f} img/s)',
                    logger='current')
            elif done % every == 0:
                eta = round((num_images - images) / speed) if speed else 0
                print_log(
                    f'Pseudo labels: extracting features {images}/'
                    f'{num_images}{shard} ({100 * images / num_images:.0f}%)'
                    f', {speed:.1f} img/s, ETA '
                    f'{datetime.timedelta(seconds=eta)}',
                    logger='current')

        return step

    def _cluster_on_rank0(self, features: torch.Tensor, dataset):
        """Step 3: labels and summary of the label generator on rank 0
        (logging its time and each stage's to the current logger);
        ``(None, {})`` on the other ranks."""
        if get_rank() != 0:
            return None, {}
        camids = _dataset_array(dataset, 'get_camids', 'camid')
        start = time.perf_counter()
        labels, summary = self.label_generator(
            features.float().cpu().numpy(), camids)
        total = time.perf_counter() - start
        stages = getattr(self.label_generator, 'stage_seconds', None) or {}
        times = ', '.join(f'{name} {value:.2f} s'
                          for name, value in stages.items())
        print_log(
            f'Pseudo labels: clustered {features.shape[0]} features in '
            f'{total:.2f} s' + (f' ({times})' if times else ''),
            logger='current')
        return np.asarray(labels, dtype=np.int64), summary

    @staticmethod
    def _broadcast(labels: Optional[np.ndarray],
                   summary: dict) -> Tuple[np.ndarray, dict]:
        """Step 4: rank 0's labels and summary on every rank."""
        return broadcast_array(labels), broadcast_object(summary)

    def _previous_labels(self, runner, summary: dict,
                         num: int) -> Tuple[np.ndarray, dict]:
        """No cluster left: keep the previous labels (with a warning), or
        raise when there are none yet (or only the warm-up's)."""
        why = self.no_cluster_message(summary, num, runner.epoch,
                                      runner.train_dataloader.dataset)
        if self.labels is None or self._last_was_warmup:
            raise RuntimeError(why)
        runner.logger.warning(f'{why}. Keeping the previous pseudo labels')
        return self.labels, dict(self.summary, kept_previous=True)

    def _reset_head_and_sampler(self, runner, features: torch.Tensor,
                                labels: np.ndarray, warmup: bool) -> None:
        """Step 5: refill the head's memories and label buffer, give the
        sampler the labels, and keep them for checkpoints."""
        unwrap_model(runner.model).head.reset(
            features,
            torch.as_tensor(labels, device=features.device),
            warmup=warmup)
        sampler = runner.train_dataloader.sampler
        if hasattr(sampler, 'set_labels'):
            sampler.set_labels(labels)
        self.labels, self._last_was_warmup = labels, warmup

    @staticmethod
    def _gt_metrics(dataset, labels: np.ndarray) -> dict:
        """``gt_nmi``, ``gt_ari``, ``gt_pair_*`` against the dataset's
        ``pid``; empty when it has none."""
        pids = _dataset_array(dataset, 'get_pids', 'pid')
        if (pids < 0).all():
            return {}
        return {
            f'gt_{key}': value
            for key, value in clustering_agreement(pids, labels).items()
        }

    @staticmethod
    def check_finite(features: torch.Tensor, runner, warmup: bool) -> None:
        """Refuse non-finite (NaN / inf) train features before clustering.

        They come from non-finite weights (a diverging run); clustering
        them fails far from the cause (scipy's ``negative axis 1 index:
        -1``) and, during warm-up, nothing would fail at all.

        Raises:
            FloatingPointError: Naming the epoch, how many rows and the
                first non-finite parameters / buffers of the model.
        """
        bad_rows = int((~torch.isfinite(features)).any(dim=1).sum().item())
        if bad_rows == 0:
            return
        model = unwrap_model(runner.model)
        bad = [
            name for name, value in list(model.named_parameters()) +
            list(model.named_buffers())
            if value.is_floating_point() and not torch.isfinite(value).all()
        ]
        where = (f'{len(bad)} parameters / buffers hold NaN or inf '
                 f'({", ".join(bad[:5])}{", ..." if len(bad) > 5 else ""})'
                 if bad else 'every parameter and buffer is finite, so the '
                 'input images or the pipeline produce them')
        raise FloatingPointError(
            f'PseudoLabelHook: {bad_rows} of {features.shape[0]} train-set '
            'features are not finite (NaN or inf) at the '
            f'{"warm-up " if warmup else ""}refresh before epoch '
            f'{runner.epoch + 1} (runner.epoch={runner.epoch}); {where}. The '
            'training diverged: lower the learning rate '
            '(optim_wrapper.optimizer.lr), add gradient clipping '
            '(optim_wrapper.clip_grad) or resume from an earlier '
            'checkpoint')

    def no_cluster_message(self, summary: dict, num: int, epoch: int,
                           dataset) -> str:
        """Why no pseudo-label cluster is left among the ``num`` samples
        of ``dataset`` at ``epoch``, and what to change (see
        :func:`jclreid.clustering.label_generator.no_cluster_advice`)."""
        advice = no_cluster_advice(
            summary, getattr(self.label_generator, 'clusterer', None),
            _dataset_array(dataset, 'get_camids', 'camid'))
        return (f'PseudoLabelHook: no pseudo-label cluster among {num} '
                f'training samples at epoch {epoch}: {advice}')

    @staticmethod
    def _log(runner, summary: dict) -> None:
        """Log the summary as text and write its numbers to the visualizer
        backends (``vis_data/scalars.json`` by default) at the epoch."""
        parts, scalars = [], {}
        for key, value in summary.items():
            if isinstance(value, float):
                parts.append(f'{key}: {value:.4f}')
            else:
                parts.append(f'{key}: {value}')
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scalars[f'pseudo_label/{key}'] = float(value)
        runner.logger.info(f'Epoch {runner.epoch} pseudo labels: ' +
                           ', '.join(parts))
        runner.visualizer.add_scalars(scalars, step=runner.epoch)

    # ----------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the current pseudo labels in ``checkpoint['pseudo_labels']``
        (plain tensor / bool / dict: loadable with ``weights_only=True``)."""
        if self.labels is None:
            return
        checkpoint[PSEUDO_LABELS_KEY] = dict(
            labels=torch.as_tensor(np.asarray(self.labels, dtype=np.int64)),
            last_was_warmup=bool(self._last_was_warmup),
            summary=_plain(self.summary))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the stored pseudo labels; ``before_train`` takes them over
        only when the run resumes from this checkpoint."""
        meta = checkpoint.get('meta') or {}
        self._loaded_state = ((meta.get('epoch'), meta.get('iter')),
                              checkpoint.get(PSEUDO_LABELS_KEY))

    def _restore_labels(self, runner) -> None:
        loaded, self._loaded_state = self._loaded_state, None
        if loaded is None:
            return
        key, state = loaded
        if key != (runner.epoch, runner.iter) or runner.iter == 0 or (
                not state):
            return  # load_from (a new run) or nothing stored
        labels = state.get('labels')
        num = len(runner.train_dataloader.dataset)
        if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or (
                labels.numel() != num):
            shape = (tuple(labels.shape)
                     if isinstance(labels, torch.Tensor) else type(labels))
            runner.logger.warning(
                f'PseudoLabelHook: the resumed checkpoint\'s '
                f'`{PSEUDO_LABELS_KEY}.labels` has shape {shape} but the '
                f'train set has {num} samples; not restored (a refresh that '
                'finds no cluster will then stop the run)')
            return
        self.labels = labels.cpu().numpy().astype(np.int64)
        self._last_was_warmup = bool(state.get('last_was_warmup', False))
        self.summary = dict(state.get('summary') or {})
        runner.logger.info(
            'PseudoLabelHook: restored the pseudo labels of epoch '
            f'{key[0]} from the checkpoint')
