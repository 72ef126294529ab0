# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .setup_env import register_all_modules


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Load a config the way every tool does.

    Registers all jclreid modules, reads ``path``, merges the
    ``--cfg-options`` overrides and sets ``work_dir``: the given one, else
    the config's own, else ``./work_dirs/<config name>``.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``key=value`` overrides.
        work_dir (str, optional): Work directory override.

    Returns:
        Config: The merged config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg
