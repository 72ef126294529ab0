# Copyright (c) jclreid contributors. All rights reserved.
"""Random generator states in checkpoints, so that resuming is exact."""
import random
import warnings
from functools import partial
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook

from jclreid.registry import HOOKS

#: The checkpoint's top-level key holding the generators' states.
CHECKPOINT_KEY = 'rng_state'


def get_rng_state() -> Dict:
    """The states of Python's ``random``, numpy's global generator and
    torch's CPU (and CUDA, when available) generators, as plain tensors,
    ints, floats and strings (loadable with ``weights_only=True``).

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA, ``cuda`` (a
        list with one state per device).
    """
    version, internal, gauss_next = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=dict(
            version=int(version),
            state=torch.tensor(internal, dtype=torch.int64),
            gauss_next=None if gauss_next is None else float(gauss_next)),
        numpy=dict(
            bit_generator=str(name),
            keys=torch.from_numpy(np.asarray(keys).astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state().clone())
    if torch.cuda.is_available():
        state['cuda'] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: Dict, where: str = 'the checkpoint') -> None:
    """Restore what :func:`get_rng_state` returned.

    Args:
        state (dict): The states.
        where (str): How errors name the source. Defaults to
            ``'the checkpoint'``.

    Raises:
        ValueError: A state is malformed; the message names the entry.
    """
    try:
        py = state['python']
        random.setstate(
            (int(py['version']), tuple(int(v) for v in py['state'].tolist()),
             py['gauss_next']))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f'{where}: `{CHECKPOINT_KEY}.python` is not a '
                         f'Python random state ({err})') from err
    try:
        npy = state['numpy']
        np.random.set_state(
            (npy['bit_generator'], npy['keys'].cpu().numpy().astype(np.uint32),
             int(npy['pos']), int(npy['has_gauss']),
             float(npy['cached_gaussian'])))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f'{where}: `{CHECKPOINT_KEY}.numpy` is not a numpy '
                         f'random state ({err})') from err
    try:
        torch.set_rng_state(state['torch'].cpu())
    except (KeyError, TypeError, RuntimeError, AttributeError) as err:
        raise ValueError(f'{where}: `{CHECKPOINT_KEY}.torch` is not a torch '
                         f'random state ({err})') from err
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            warnings.warn(
                f'{where}: `{CHECKPOINT_KEY}.cuda` holds {len(cuda)} CUDA '
                f'generator states but {torch.cuda.device_count()} devices '
                'are visible; the CUDA generators are not restored')
        else:
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def seed_worker(worker_id: int,
                num_workers: int,
                rank: int,
                seed: int,
                epoch: int,
                disable_subprocess_warning: bool = False) -> None:
    """Seed a dataloader worker from ``(seed, epoch, rank, worker_id)``.

    mmengine's ``worker_init_fn`` seeds every worker with
    ``seed + num_workers * rank + worker_id``, the same in every epoch: with
    ``persistent_workers=False`` each epoch's workers replay the random
    stream of the previous epoch. Mixing in the epoch gives each epoch its
    own stream, and the seed of an epoch does not depend on what ran
    before it, so a resumed run seeds its workers as the uninterrupted one.

    Args:
        worker_id (int): Worker index in ``[0, num_workers)``.
        num_workers (int): Workers of the dataloader (kept for mmengine's
            signature).
        rank (int): Process rank.
        seed (int): The run's seed.
        epoch (int): The epoch (0-based).
        disable_subprocess_warning (bool): Silence warnings in workers other
            than the first. Defaults to False.
    """
    entropy = [int(seed) % (2**32), int(epoch), int(rank), int(worker_id)]
    worker_seed = int(
        np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators' states in checkpoints and restore them
    on resume, so that a resumed run equals an uninterrupted one.

    Augmentation draws from numpy's global generator (mmcv's
    ``cache_randomness`` transforms, ``np.random``), WaveBlock from torch's
    generator and some code from Python's ``random``; none of them is in an
    mmengine checkpoint, so a resumed run used to draw other numbers than
    the uninterrupted one. This hook:

    * captures the states of Python's ``random``, numpy's global generator
      and torch's CPU and CUDA generators at the end of every training epoch
      (before ``CheckpointHook`` saves; in distributed runs every rank's
      states are gathered) and writes them to the checkpoint under the
      top-level key ``rng_state`` (plain tensors, ints and floats: the
      checkpoint still loads with ``weights_only=True``);
    * on resume, restores them in ``before_train``, i.e. after everything
      that reseeds at start-up (mmengine's ``set_random_seed`` when the
      Runner is built and again in ``resume`` when the seed differs), and
      before the first epoch's pseudo-label refresh and sampler seeding;
      each rank gets its own states (rank 0's, with a warning, when the
      world size changed);
    * makes validation during training leave the generators as it found
      them (states saved in ``before_val`` and restored in ``after_val``),
      so that an epoch's checkpoint holds exactly the states the next epoch
      starts from, whether validation runs in between or not;
    * with ``reseed_workers=True``, seeds the train dataloader's workers
      from ``(seed, epoch, rank, worker id)`` at every epoch
      (:func:`seed_worker`) instead of mmengine's epoch-independent seed,
      and restarts ``persistent_workers`` at every epoch so that they are
      reseeded: a resumed run's workers then draw what the uninterrupted
      run's workers drew. The workers' own generator states cannot be
      saved (they live in other processes); reseeding per epoch makes that
      unnecessary.

    A checkpoint saved in the middle of an epoch (``by_epoch=False``) gets
    rank 0's current states; mmengine's epoch-based loop restarts that epoch
    on resume anyway, so such a resume is not exact.

    Args:
        reseed_workers (bool): Seed the train dataloader's workers per
            epoch (and restart persistent workers every epoch, at the cost
            of starting them again). A custom ``worker_init_fn`` in the
            config is left alone (with a warning). Defaults to True.

    ``priority`` is 85: after ``ValBeforeTrainHook`` (``LOW``) in
    ``before_train``, and before ``CheckpointHook`` (``VERY_LOW``) in
    ``after_train_epoch``.
    """

    priority = 85

    def __init__(self, reseed_workers: bool = True) -> None:
        if not isinstance(reseed_workers, bool):
            raise TypeError('RandomStateHook.reseed_workers must be True or '
                            f'False, got {reseed_workers!r}')
        self.reseed_workers = reseed_workers
        # (epoch, iter) of the end-of-epoch states, and every rank's states.
        self._epoch_states: Optional[Tuple[Tuple[int, int], List]] = None
        self._loaded: Optional[Tuple[Tuple, Optional[Dict], str]] = None
        self._val_state: Optional[Dict] = None
        self._warned_custom_init = False

    # ------------------------------------------------------------- saving
    def after_train_epoch(self, runner) -> None:
        """Capture (and, distributed, gather) the states the next epoch
        starts from; ``CheckpointHook`` runs after this hook."""
        state = get_rng_state()
        states = (
            all_gather_object(state) if get_world_size() > 1 else [state])
        self._epoch_states = ((runner.epoch + 1, runner.iter), states)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the states to ``checkpoint['rng_state']``: a list with one
        entry per rank."""
        meta = checkpoint.get('meta') or {}
        key = (meta.get('epoch'), meta.get('iter'))
        if self._epoch_states is not None and self._epoch_states[0] == key:
            states = self._epoch_states[1]
        elif self._val_state is not None:
            states = [self._val_state]  # saved during validation
        else:
            states = [get_rng_state()]
        checkpoint[CHECKPOINT_KEY] = list(states)

    # ------------------------------------------------------------ resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the loaded states; they are restored in ``before_train`` if
        this load is a resume (``load_from`` alone restores nothing)."""
        meta = checkpoint.get('meta') or {}
        self._loaded = ((meta.get('epoch'), meta.get('iter')),
                        checkpoint.get(CHECKPOINT_KEY),
                        str(meta.get('experiment_name', 'the checkpoint')))

    def before_train(self, runner) -> None:
        """Restore the generators when the run resumes from a checkpoint."""
        if self._loaded is None:
            return
        key, states, name = self._loaded
        self._loaded = None
        if key != (runner.epoch, runner.iter) or runner.iter == 0:
            return  # load_from: a new run, its own seed
        if not states:
            runner.logger.warning(
                'The resumed checkpoint holds no random generator states '
                f'(`{CHECKPOINT_KEY}`: written without RandomStateHook); '
                'augmentation and WaveBlock draw other numbers than the '
                'uninterrupted run would, so the results will differ')
            return
        rank, world_size = get_rank(), get_world_size()
        if len(states) == world_size:
            state = states[rank]
        else:
            state = states[0]
            runner.logger.warning(
                f'The resumed checkpoint holds the random generator states '
                f'of {len(states)} processes but this run has {world_size}; '
                'every process takes those of rank 0, so the resumed run '
                'will not equal the uninterrupted one exactly')
        set_rng_state(state, where=f'checkpoint of {name}, epoch {key[0]}')
        runner.logger.info(
            'Restored the random generator states (python, numpy, torch'
            f'{", cuda" if "cuda" in state else ""}) of epoch {key[0]}')

    # ------------------------------------------------------ dataloader seeds
    def before_train_epoch(self, runner) -> None:
        """Seed this epoch's train workers from (seed, epoch, rank, id)."""
        if not self.reseed_workers:
            return
        loader = runner.train_dataloader
        if not isinstance(loader, torch.utils.data.DataLoader) or (
                loader.num_workers == 0):
            return
        fn = loader.worker_init_fn
        if isinstance(fn, partial) and fn.func in (mmengine_worker_init_fn,
                                                   seed_worker):
            kwargs = dict(fn.keywords)
            loader.worker_init_fn = partial(
                seed_worker,
                num_workers=kwargs.get('num_workers', loader.num_workers),
                rank=kwargs.get('rank', get_rank()),
                seed=kwargs['seed'],
                epoch=runner.epoch,
                disable_subprocess_warning=kwargs.get(
                    'disable_subprocess_warning', False))
        elif not self._warned_custom_init:
            self._warned_custom_init = True
            runner.logger.warning(
                'RandomStateHook(reseed_workers=True) leaves the custom '
                f'train_dataloader.worker_init_fn {fn!r} alone; a resumed '
                'run equals the uninterrupted one only if it seeds the '
                'workers from the epoch')
            return
        iterator = getattr(loader, '_iterator', None)
        if loader.persistent_workers and iterator is not None:
            # Persistent workers keep last epoch's generators: start them
            # again so that worker_init_fn reseeds them for this epoch.
            shutdown = getattr(iterator, '_shutdown_workers', None)
            if callable(shutdown):
                shutdown()
            loader._iterator = None

    # ---------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        """Save the states: validation must not move them."""
        self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        """Restore the states saved in ``before_val``."""
        if self._val_state is not None:
            set_rng_state(self._val_state, where='RandomStateHook.after_val')
            self._val_state = None
