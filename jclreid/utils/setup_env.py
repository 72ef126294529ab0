# Copyright (c) jclreid contributors. All rights reserved.
import datetime
import os
import warnings

from mmengine import DefaultScope

from .checkpoint import register_checkpoint_loader
from .fileio import register_atomic_local_backend


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every jclreid module so that its classes register themselves,
    and make mmengine load checkpoints safely and write local files
    atomically.

    Importing jclreid changes no global state; this function does: it
    registers the safe ``weights_only`` loaders as mmengine's
    ``CheckpointLoader`` schemes (:func:`register_checkpoint_loader`) and
    :class:`~jclreid.utils.AtomicLocalBackend` as mmengine's backend for
    local paths (:func:`register_atomic_local_backend`). Both are
    idempotent.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'jclreid'`` so that registries look up jclreid components
            first. Defaults to True.
    """
    import jclreid.clustering  # noqa: F401,F403
    import jclreid.datasets  # noqa: F401,F403
    import jclreid.engine  # noqa: F401,F403
    import jclreid.evaluation  # noqa: F401,F403
    import jclreid.models  # noqa: F401,F403
    import jclreid.structures  # noqa: F401,F403
    register_checkpoint_loader()
    register_atomic_local_backend()

    if not init_default_scope:
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('jclreid', scope_name='jclreid')
    elif current_scope.scope_name != 'jclreid':
        warnings.warn(f'The current default scope "{current_scope.scope_name}"'
                      ' is not "jclreid"; `register_all_modules` creates a '
                      'new default scope named "jclreid".')
        new_instance_name = f'jclreid-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='jclreid')


def setup_cpu_distributed(cfg, launcher: str) -> None:
    """Prepare a distributed run on machines without CUDA.

    mmengine's ``launcher='pytorch'`` calls ``torch.cuda.set_device`` and
    fails without a GPU. When CUDA is absent this initialises the process
    group with the ``gloo`` backend (from the torchrun environment) before
    the Runner is built, and makes the model wrapper use no device ids.
    With CUDA present it does nothing: mmengine sets up NCCL itself.

    Args:
        cfg (Config): The run config, modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    import torch
    import torch.distributed as torch_dist
    if launcher == 'none' or torch.cuda.is_available():
        return
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def teardown_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, then destroy the
    default process group.

    A process that exits with its process group alive leaves the backend's
    threads (gloo's, NCCL's) to be torn down during interpreter shutdown,
    which can abort the process (``terminate called without an active
    exception``, exit code -6) after the run itself succeeded. Call this at
    the end of a successful ``tools/train.py`` or ``tools/test.py``; it does
    nothing when no process group was initialised.
    """
    import torch.distributed as torch_dist
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    torch_dist.barrier()
    torch_dist.destroy_process_group()


def apply_num_threads(cfg) -> None:
    """Apply the config field ``num_threads`` (torch intra-op threads).

    On small CPU machines more threads than free cores slow training down
    by an order of magnitude; configs meant for laptops set it (e.g. 1).
    ``None`` or absent leaves torch's default.
    """
    import torch
    num_threads = cfg.get('num_threads', None)
    if num_threads is None:
        return
    if not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError('config field num_threads must be a positive int or '
                         f'None, got {num_threads!r}')
    torch.set_num_threads(num_threads)


_WORLD_SIZE_ENV = dict(
    pytorch='WORLD_SIZE', slurm='SLURM_NTASKS', mpi='OMPI_COMM_WORLD_SIZE')


def launcher_world_size(launcher: str) -> int:
    """Number of processes a launcher starts, read before the Runner exists.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        int: 1 for ``'none'``, else the launcher's environment variable
        (``WORLD_SIZE``, ``SLURM_NTASKS`` or ``OMPI_COMM_WORLD_SIZE``).
    """
    if launcher == 'none':
        return 1
    return int(os.environ.get(_WORLD_SIZE_ENV[launcher], 1))


def apply_global_batch_size(cfg, world_size: int) -> None:
    """Split the config field ``global_batch_size`` over the processes.

    Cluster Contrast's recipe is a step of 16 pseudo identities x 16 images
    (256), whatever the number of GPUs. A config that states
    ``global_batch_size`` gets ``train_dataloader.batch_size`` and its
    sampler's ``batch_size`` set to ``global_batch_size // world_size``, so
    one GPU trains with the same 256-image steps as four (memory
    permitting). ``global_batch_size=None`` (or absent) keeps the per-process
    batch as written, e.g. for a GPU too small for the recipe's batch (then
    ``--auto-scale-lr`` scales the learning rate).

    Args:
        cfg (Config): The run config, modified in place.
        world_size (int): Number of training processes.
    """
    total = cfg.get('global_batch_size', None)
    if total is None:
        return
    loader = cfg.train_dataloader
    k = loader.sampler.get('num_instances', 1)
    if (not isinstance(total, int) or total < 1 or total % world_size
            or (total // world_size) % k):
        raise ValueError(
            f'config field global_batch_size ({total!r}) must be a positive '
            f'multiple of the number of processes ({world_size}) x '
            f'train_dataloader.sampler.num_instances ({k})')
    per_rank = total // world_size
    if loader.batch_size != per_rank:
        from mmengine.logging import print_log
        print_log(
            f'global_batch_size={total} on {world_size} process(es): '
            f'train_dataloader.batch_size {loader.batch_size} -> {per_rank}'
            ' (set global_batch_size=None to keep the per-process batch)',
            logger='current')
    loader.batch_size = per_rank
    loader.sampler.batch_size = per_rank
