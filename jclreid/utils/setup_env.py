# Copyright (c) jclreid contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope

from .compat import register_checkpoint_loader


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every jclreid module so that its classes register themselves.

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
