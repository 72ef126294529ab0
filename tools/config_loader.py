# Copyright (c) jclreid contributors. All rights reserved.
"""How ``tools/train.py`` and ``tools/test.py`` read a config (imported
from the tools' own folder, which Python puts first on ``sys.path`` when a
tool runs)."""
import os.path as osp
from typing import Optional

from mmengine.config import Config


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read ``path``, merge the ``--cfg-options`` overrides and set
    ``work_dir``: the given one, else the config's own, else
    ``./work_dirs/<config name>``.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``key=value`` overrides.
        work_dir (str, optional): Work directory override.

    Returns:
        Config: The merged config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg
