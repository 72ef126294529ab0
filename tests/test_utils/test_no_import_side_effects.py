# Copyright (c) jclreid contributors. All rights reserved.
"""Importing jclreid and its subpackages changes no global mmengine state;
``register_all_modules()`` makes checkpoints load safely and local files
write atomically. Each check runs in a fresh interpreter."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SUBPACKAGES = ('jclreid', 'jclreid.models', 'jclreid.datasets',
               'jclreid.clustering', 'jclreid.evaluation', 'jclreid.engine',
               'jclreid.utils', 'jclreid.structures', 'jclreid.registry')

# Prints nothing; fails with a message naming what changed.
SCRIPT = textwrap.dedent('''
    import importlib
    from mmengine.fileio import io as mmengine_io
    from mmengine.fileio.backends import registry_utils
    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import CheckpointLoader

    def state():
        return dict(
            schemes=dict(CheckpointLoader._schemes),
            backends=dict(registry_utils.backends),
            prefixes=dict(registry_utils.prefix_to_backends),
            backend_instances=dict(mmengine_io.backend_instances),
            default_scope=DefaultScope.get_current_instance())

    before = state()
    for name in {subpackages!r}:
        importlib.import_module(name)
    after = state()
    for key in before:
        assert before[key] == after[key], (
            f'importing jclreid changed {{key}}: {{before[key]}} -> '
            f'{{after[key]}}')

    from mmengine.fileio import get_file_backend
    from jclreid.utils import AtomicLocalBackend, register_all_modules
    from jclreid.utils import checkpoint
    register_all_modules()
    for path in ('/x.pth', 'x.pth', 'https://x/y.pth', 's3://b/x.pth',
                 'torchvision://resnet18', 'open-mmlab://x', 'mmcls://x'):
        loader = CheckpointLoader._get_checkpoint_loader(path)
        assert loader.__module__ == checkpoint.__name__, (path, loader)
    backend = get_file_backend('/tmp/x.pth')
    assert type(backend) is AtomicLocalBackend, backend
    ''')


def _run(script):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, '-c', script],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_import_changes_nothing_then_registration_applies():
    proc = _run(SCRIPT.format(subpackages=SUBPACKAGES))
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_import_is_light():
    """``import jclreid`` loads neither torch nor mmengine."""
    proc = _run('import sys, jclreid; '
                'print(sorted(m for m in sys.modules '
                "if m.split('.')[0] in ('torch', 'mmengine')))")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == '[]', proc.stdout
