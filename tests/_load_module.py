# Copyright (c) jclreid contributors. All rights reserved.
"""Load a script that is not part of a package (``tools/*.py``, another
test module) as a module, by its path under the repository root.

Importable as ``_load_module`` from the test modules: pytest puts ``tests/``
on ``sys.path`` for ``tests/conftest.py``.
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Optional

__all__ = ['ROOT', 'load_module']

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_module(relpath: str, name: Optional[str] = None) -> ModuleType:
    """Execute ``ROOT/relpath`` as a fresh module.

    The script's own folder is on ``sys.path`` while it runs, as when it is
    run from the command line, so that its imports of its neighbours (e.g.
    ``from config_loader import load_config`` in ``tools/train.py``)
    resolve; it is removed again afterwards.

    Args:
        relpath (str): Path of the ``.py`` file relative to the repository
            root, e.g. ``'tools/train.py'``.
        name (str, optional): Module name; defaults to the path with ``/``
            and the extension replaced, e.g. ``'tools_train'``.

    Returns:
        ModuleType: The executed module (not added to ``sys.modules``).
    """
    path = osp.join(ROOT, relpath)
    if name is None:
        name = osp.splitext(relpath)[0].replace('/', '_')
    folder = osp.dirname(path)
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module
