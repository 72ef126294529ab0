# Copyright (c) jclreid contributors. All rights reserved.
import time
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader, Dataset

from jclreid.clustering.label_generator import describe as _describe
from jclreid.registry import CLUSTERERS, HOOKS
from jclreid.utils.dist import (broadcast_array, broadcast_buffers,
                                gather_by_index)


class _ExtractionDataset(Dataset):
    """The train set seen through another pipeline (the test pipeline).

    The wrapped dataset is not modified: items are its ``get_data_info``
    dicts (which carry ``sample_idx``) passed through ``pipeline``.
    """

    def __init__(self, dataset,
                 pipeline: Sequence[Union[dict, Callable]]) -> None:
        self.dataset = dataset
        self.pipeline = Compose(list(pipeline))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.dataset.get_data_info(idx))


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def _get(obj, key: str):
    """``obj[key]`` / ``obj.key`` for config dicts and built objects alike;
    None when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _dataset_array(dataset, getter: str, key: str) -> np.ndarray:
    """``dataset.get_pids()`` style accessor with a per-item fallback."""
    fn = getattr(dataset, getter, None)
    if callable(fn):
        return np.asarray(fn(), dtype=np.int64)
    return np.asarray(
        [dataset.get_data_info(i).get(key, -1) for i in range(len(dataset))],
        dtype=np.int64)


#: The checkpoint's top-level key holding the current pseudo labels.
PSEUDO_LABELS_KEY = 'pseudo_labels'


_DROP = object()


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
    if isinstance(value, np.generic):
        return value.item()
    return _DROP


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Refresh the pseudo labels and the memories of JCL.

    Before every ``interval``-th training epoch (and before the first epoch
    after a resume, since memories are not saved in checkpoints):

    0. broadcast rank 0's buffers (BatchNorm running statistics) to every
       rank, so that every rank extracts with the same model;
    1. extract L2-normalised features of the whole train set in eval mode
       with ``pipeline`` (the test pipeline), each rank a shard;
    2. gather them on every rank in ``sample_idx`` order;
    3. cluster on rank 0 with the label generator (distance -> clusterer ->
       filters), then broadcast the labels;
    4. reset the head (cluster memory <- centroids, instance memory <-
       features, label buffer <- labels) and the train sampler;
    5. log the summary, plus NMI / ARI / pairwise precision-recall of the
       pseudo labels against the dataset's ground truth when it has one
       (diagnostics only: ground truth never reaches training).

    During the first ``warmup_epochs`` epochs no clustering happens: every
    sample is its own pseudo identity and the head trains with the instance
    loss only (instance discrimination), which learns from random
    initialisation where clusters of random features would just be cameras.

    The hook also broadcasts rank 0's buffers before every validation and
    test epoch. mmengine wraps the model in DDP with
    ``broadcast_buffers=False``, so each rank's BatchNorm statistics follow
    its own batches; without the broadcast, in-training validation would
    evaluate a mix of slightly different models and differ from
    ``tools/test.py`` on the checkpoint, which rank 0 writes. Only the
    persistent buffers (those a checkpoint holds) are sent: the memories
    and the label buffer are equal on every rank by construction. See
    :func:`jclreid.utils.broadcast_buffers` for why rank 0's buffers are
    broadcast rather than averaged (mmengine's ``SyncBuffersHook``), which
    makes that hook unnecessary. Every JCL training run has this hook, so
    no further config entry is needed.

    ``before_train`` also logs the effective batch once: world size x
    per-rank batch = global batch, and the sampler's P x K.

    Args:
        pipeline (Sequence[dict], optional): Pipeline used to extract
            features of the train set (a test pipeline: no augmentation).
            None takes ``test_dataloader.dataset.pipeline`` of the runner's
            config, or ``val_dataloader.dataset.pipeline`` when there is no
            test dataloader, resolved in ``before_train``; this lets the
            hook be configured in a ``_base_`` file that knows no dataset.
            Defaults to None.
        label_generator (dict | callable, optional): Config of the label
            generator in ``CLUSTERERS``, or a built one. Defaults to None:
            ``dict(type='LabelGenerator')`` with that class's own defaults
            (Jaccard distance k1=30 / k2=6, DBSCAN eps=0.6 / min_samples=4,
            camera-aware filter).
        interval (int): Refresh every ``interval`` epochs. Defaults to 1.
        warmup_epochs (int): Instance-discrimination epochs before the first
            clustering. Defaults to 0.
        batch_size (int): Extraction batch size per rank. Defaults to 64.
        num_workers (int): Extraction dataloader workers. Defaults to 0.
        log_gt_metrics (bool): Log agreement of the pseudo labels with the
            ground truth when the dataset has it. Defaults to True.

    The integer arguments must be ints (a float such as ``interval=1.5`` or
    a bool raises a ``TypeError`` naming the field). When no cluster is
    left after clustering, the error says whether the clusterer found none
    or which filter removed how many (see :meth:`no_cluster_message`); it
    is raised on the first clustering, later ones keep the previous labels
    with that message as a warning.

    Checkpoints carry the current pseudo labels (top-level key
    ``pseudo_labels``: ``labels`` as an int64 tensor, ``last_was_warmup``
    and the last ``summary``); a resumed run takes them over, so that a
    refresh that finds no cluster keeps the previous labels exactly as the
    uninterrupted run does. Every refresh, warm-up included, refuses
    non-finite features with an error naming the epoch and the number of
    non-finite rows (:meth:`check_finite`).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 pipeline: Optional[Sequence[dict]] = None,
                 label_generator: Optional[Union[dict, Callable]] = None,
                 interval: int = 1,
                 warmup_epochs: int = 0,
                 batch_size: int = 64,
                 num_workers: int = 0,
                 log_gt_metrics: bool = True) -> None:
        for field, value, minimum in (('interval', interval, 1),
                                      ('warmup_epochs', warmup_epochs, 0),
                                      ('batch_size', batch_size, 1),
                                      ('num_workers', num_workers, 0)):
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
        if label_generator is None:
            # One place for the defaults: LabelGenerator's own signature.
            label_generator = dict(type='LabelGenerator')
        self.pipeline = None if pipeline is None else list(pipeline)
        self.label_generator = (
            CLUSTERERS.build(label_generator)
            if isinstance(label_generator, dict) else label_generator)
        self.interval = int(interval)
        self.warmup_epochs = int(warmup_epochs)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.log_gt_metrics = log_gt_metrics
        self.labels: Optional[np.ndarray] = None
        self.summary: dict = {}
        self._last_was_warmup = False
        self._loaded_state = None

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        """Check the set-up, resolve ``pipeline=None`` from the config and
        log the effective batch."""
        loader = runner.train_dataloader
        sampler_bs = getattr(loader.sampler, 'batch_size', None)
        if sampler_bs is not None and sampler_bs != loader.batch_size:
            raise ValueError(
                f'train_dataloader.sampler.batch_size ({sampler_bs}) must '
                f'equal train_dataloader.batch_size ({loader.batch_size})')
        if not hasattr(_unwrap(runner.model), 'head') or not hasattr(
                _unwrap(runner.model).head, 'reset'):
            raise TypeError('PseudoLabelHook needs a model with a head that '
                            'has reset(features, labels), e.g. JCL + JCLHead')
        if self.pipeline is None:
            self.pipeline = self.resolve_pipeline(runner.cfg)
        runner.logger.info(self.describe_batch(loader))
        self._restore_labels(runner)

    def before_val_epoch(self, runner) -> None:
        """Every rank evaluates with rank 0's buffers."""
        self.sync_buffers(runner)

    def before_test_epoch(self, runner) -> None:
        """Every rank tests with rank 0's buffers."""
        self.sync_buffers(runner)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def sync_buffers(runner) -> None:
        """Broadcast the persistent buffers (BatchNorm running statistics)
        of the model from rank 0 to every rank; a no-op on one process."""
        broadcast_buffers(_unwrap(runner.model), src=0, persistent_only=True)

    @staticmethod
    def resolve_pipeline(cfg) -> list:
        """The pipeline of the config's test dataloader dataset, or of the
        val dataloader dataset when the former has none.

        Args:
            cfg (Config | dict): The runner's config. A dataloader entry may
                be a config dict or a built ``DataLoader``.

        Returns:
            list: Transform configs (or built transforms).

        Raises:
            KeyError: If neither ``test_dataloader.dataset.pipeline`` nor
                ``val_dataloader.dataset.pipeline`` exists.
        """
        for field in ('test_dataloader', 'val_dataloader'):
            pipeline = _get(_get(_get(cfg, field), 'dataset'), 'pipeline')
            if pipeline is None:
                continue
            # A built dataset holds a Compose; take its transforms.
            transforms = getattr(pipeline, 'transforms', pipeline)
            return list(transforms)
        raise KeyError(
            'PseudoLabelHook(pipeline=None) takes the feature-extraction '
            'pipeline from `test_dataloader.dataset.pipeline`, falling back '
            'to `val_dataloader.dataset.pipeline`, but the config has '
            'neither; set one of them or give the hook an explicit '
            '`pipeline=` (a test pipeline)')

    @staticmethod
    def describe_batch(loader) -> str:
        """One log line: world size x per-rank batch = global batch, and
        the sampler's P x K (its ``describe()`` when it has one)."""
        world_size = get_world_size()
        per_rank = loader.batch_size
        if per_rank is None:
            per_rank = getattr(loader.batch_sampler, 'batch_size', None)
        sampler = loader.sampler
        line = ('Effective batch: world size {} x per-rank batch {} = '
                'global batch {}').format(
                    world_size, per_rank,
                    None if per_rank is None else world_size * per_rank)
        describe = getattr(sampler, 'describe', None)
        if callable(describe):
            return f'{line}; sampler: {describe()}'
        bs = getattr(sampler, 'batch_size', None)
        k = getattr(sampler, 'num_instances', None)
        if bs and k:
            line += (f'; sampler: P x K = {bs // k} x {k} per rank '
                     f'({world_size * (bs // k)} identities per global '
                     'batch)')
        return line

    def before_train_epoch(self, runner) -> None:
        epoch = runner.epoch
        head = _unwrap(runner.model).head
        due = (epoch < self.warmup_epochs
               or (epoch - self.warmup_epochs) % self.interval == 0)
        if due or not head.is_initialized:
            self.refresh(runner)

    # -------------------------------------------------------------- refresh
    @torch.no_grad()
    def extract_features(self, runner) -> torch.Tensor:
        """Features of the whole train set, on every rank.

        Rank 0's buffers are broadcast first (see :meth:`sync_buffers`);
        then each rank extracts a shard in eval mode and the shards are
        gathered.

        Args:
            runner (Runner): Gives ``model``, ``train_dataloader.dataset``
                and, when ``pipeline`` is None, ``cfg``.

        Returns:
            Tensor: (N, D) features in ``sample_idx`` order, on the model's
            device.
        """
        if self.pipeline is None:
            self.pipeline = self.resolve_pipeline(runner.cfg)
        self.sync_buffers(runner)
        dataset = runner.train_dataloader.dataset
        model = _unwrap(runner.model)
        extract_set = _ExtractionDataset(dataset, self.pipeline)
        sampler = DefaultSampler(extract_set, shuffle=False, round_up=True)
        loader = DataLoader(
            extract_set,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        was_training = model.training
        model.eval()
        feats, idxs = [], []
        try:
            for data in loader:
                data = model.data_preprocessor(data, False)
                feats.append(model(**data, mode='tensor'))
                idxs.append(
                    torch.as_tensor([s.sample_idx
                                     for s in data['data_samples']]))
        finally:
            model.train(was_training)
        device = feats[0].device
        return gather_by_index(
            torch.cat(idxs).to(device), torch.cat(feats), len(dataset))

    def refresh(self, runner) -> None:
        """Extract, cluster, broadcast and reset (see the class doc)."""
        start = time.time()
        epoch = runner.epoch
        dataset = runner.train_dataloader.dataset
        model = _unwrap(runner.model)
        head = model.head
        features = self.extract_features(runner)
        num = features.shape[0]
        warmup = epoch < self.warmup_epochs
        self.check_finite(features, runner, warmup)

        if warmup:
            labels = np.arange(num, dtype=np.int64)
            summary = dict(num_samples=num, num_clusters=num, num_outliers=0,
                           num_removed_clusters=0, warmup=True)
        else:
            labels, summary = self._cluster(features, dataset)
            if summary.get('num_clusters', 0) == 0:
                why = self.no_cluster_message(summary, num, epoch, dataset)
                if self.labels is None or self._last_was_warmup:
                    raise RuntimeError(why)
                runner.logger.warning(
                    f'{why}. Keeping the previous pseudo labels')
                labels = self.labels
                summary = dict(self.summary, kept_previous=True)

        head.warmup = warmup
        head.reset(features, torch.as_tensor(labels, device=features.device))
        sampler = runner.train_dataloader.sampler
        if hasattr(sampler, 'set_labels'):
            sampler.set_labels(labels)
        self.labels = labels
        self.summary = summary
        self._last_was_warmup = warmup

        if not warmup and self.log_gt_metrics:
            summary.update(self._gt_metrics(dataset, labels))
        summary['time'] = round(time.time() - start, 2)
        self._log(runner, summary)

    @staticmethod
    def check_finite(features: torch.Tensor, runner, warmup: bool) -> None:
        """Refuse non-finite (NaN / inf) train features before clustering.

        Non-finite features come from non-finite weights (a diverging run);
        clustering them fails far from the cause (scipy's ``negative axis
        1 index: -1``) and, during warm-up, nothing would fail at all.

        Args:
            features (Tensor): (N, D) extracted features.
            runner (Runner): Gives the epoch and the model (whose parameters
                and buffers holding NaN / inf are named in the message).
            warmup (bool): Whether this is a warm-up refresh (named in the
                message).

        Raises:
            FloatingPointError: Some rows are not finite; the message names
                the epoch, how many rows and the first non-finite
                parameters.
        """
        bad_rows = int((~torch.isfinite(features)).any(dim=1).sum().item())
        if bad_rows == 0:
            return
        model = _unwrap(runner.model)
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

    # ------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the current pseudo labels in ``checkpoint['pseudo_labels']``
        (plain tensor / bool / dict: loadable with ``weights_only=True``),
        so that a resumed run that finds no cluster keeps them as the
        uninterrupted run does."""
        if self.labels is None:
            return
        checkpoint[PSEUDO_LABELS_KEY] = dict(
            labels=torch.as_tensor(np.asarray(self.labels, dtype=np.int64)),
            last_was_warmup=bool(self._last_was_warmup),
            summary=_plain(self.summary))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the stored pseudo labels; they are taken over in
        ``before_train`` only when the run resumes from this checkpoint."""
        meta = checkpoint.get('meta') or {}
        self._loaded_state = ((meta.get('epoch'), meta.get('iter')),
                              checkpoint.get(PSEUDO_LABELS_KEY))

    def _restore_labels(self, runner) -> None:
        loaded = getattr(self, '_loaded_state', None)
        self._loaded_state = None
        if loaded is None:
            return
        key, state = loaded
        if key != (runner.epoch, runner.iter) or runner.iter == 0:
            return  # load_from: a new run
        if not state:
            return
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

    def no_cluster_message(self, summary: dict, num: int, epoch: int,
                           dataset) -> str:
        """Why no pseudo-label cluster is left, and what to change.

        Tells apart a clusterer that found nothing (raise ``eps``, lower
        ``min_samples``) from filters that removed every cluster it found
        (named with the count each removed; for ``CameraAwareFilter``:
        ``min_cameras`` and the train set's camera ids).

        Args:
            summary (dict): The label generator's summary
                (``num_clusters_found``, ``removed_by_filter``; a custom
                generator without them gets the clusterer advice).
            num (int): Number of training samples.
            epoch (int): The epoch.
            dataset: The train set (its camera ids are counted).

        Returns:
            str: The message.
        """
        clusterer = getattr(self.label_generator, 'clusterer', None)
        name = ('the clusterer' if clusterer is None else
                f'the clusterer {_describe(clusterer)}')
        found = summary.get('num_clusters_found')
        head = (f'PseudoLabelHook: no pseudo-label cluster among {num} '
                f'training samples at epoch {epoch}')
        if not found:
            return (f'{head}: {name} found no cluster; increase its `eps` '
                    '(label_generator.clusterer.eps) or lower `min_samples`'
                    ' in the config')
        removed_by = summary.get('removed_by_filter') or {}
        culprits = ', '.join(f'{k} removed {v}'
                             for k, v in removed_by.items() if v)
        msg = (f'{head}: {name} found {found} clusters, but the filters '
               f'removed all of them ({culprits or "no count reported"}); '
               'raising eps will not help.')
        if any(k.startswith('CameraAwareFilter') and v
               for k, v in removed_by.items()):
            cams = np.unique(_dataset_array(dataset, 'get_camids', 'camid'))
            msg += (
                ' CameraAwareFilter keeps only clusters whose images come '
                'from at least `min_cameras` cameras, and no cluster did; '
                f'the train set has {cams.size} camera ids '
                f'({cams[:10].tolist()}{"..." if cams.size > 10 else ""}). '
                'Check that the camera ids are right (e.g. the camera part '
                'of the dataset\'s file-name pattern), lower `min_cameras` '
                '(label_generator.filters; 1 keeps every cluster), or add '
                '`warmup_epochs` so that the features stop grouping images '
                'by camera before the first clustering')
        else:
            msg += ' Loosen or remove that filter (label_generator.filters)'
        return msg

    def _cluster(self, features: torch.Tensor, dataset):
        labels = None
        summary: dict = {}
        if get_rank() == 0:
            camids = _dataset_array(dataset, 'get_camids', 'camid')
            labels, summary = self.label_generator(
                features.float().cpu().numpy(), camids)
            labels = np.asarray(labels, dtype=np.int64)
        if get_world_size() > 1:
            labels = broadcast_array(labels, src=0)
            summary = self._broadcast_summary(summary)
        return labels, summary

    @staticmethod
    def _broadcast_summary(summary: dict) -> dict:
        from mmengine.dist import broadcast_object_list
        obj = [summary]
        broadcast_object_list(obj, src=0)
        return obj[0]

    @staticmethod
    def _gt_metrics(dataset, labels: np.ndarray) -> dict:
        from sklearn.metrics import (adjusted_rand_score,
                                     normalized_mutual_info_score)

        from jclreid.evaluation.functional import pairwise_precision_recall
        pids = _dataset_array(dataset, 'get_pids', 'pid')
        if (pids < 0).all():
            return {}
        # Outliers are singletons for NMI / ARI.
        pred = labels.copy()
        out = pred < 0
        pred[out] = pred.max(initial=-1) + 1 + np.arange(out.sum())
        precision, recall, fscore = pairwise_precision_recall(pids, labels)
        return dict(
            gt_nmi=float(normalized_mutual_info_score(pids, pred)),
            gt_ari=float(adjusted_rand_score(pids, pred)),
            gt_pair_precision=float(precision),
            gt_pair_recall=float(recall),
            gt_pair_fscore=float(fscore))

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
