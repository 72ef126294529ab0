# Copyright (c) jclreid contributors. All rights reserved.
"""Every registry of jclreid, in one module.

Each registry is a child of the matching mmengine root registry, so that the
mmengine ``Runner`` finds jclreid components when ``default_scope='jclreid'``.
``locations`` lists the modules imported lazily the first time a registry is
used, which is where the classes register themselves.

``CLUSTERERS`` has no mmengine parent: it holds the pseudo-label machinery
(distances, clusterers, filters and the label generator).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'CLUSTERERS', 'build_if_config'
]

# Runner pieces.
RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, locations=['jclreid.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMENGINE_RUNNER_CONSTRUCTORS,
    locations=['jclreid.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['jclreid.engine'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, locations=['jclreid.engine.hooks'])
LOG_PROCESSORS = Registry(
    'log processor',
    parent=MMENGINE_LOG_PROCESSORS,
    locations=['jclreid.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['jclreid.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['jclreid.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['jclreid.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['jclreid.engine'])

# Data.
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['jclreid.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['jclreid.datasets.samplers'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['jclreid.datasets.transforms'])

# Models: backbones, necks, heads, memories, losses, re-ID models and data
# preprocessors all live here, as in mmpretrain.
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['jclreid.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['jclreid.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['jclreid.models'])
TASK_UTILS = Registry(
    'task util', parent=MMENGINE_TASK_UTILS, locations=['jclreid.models'])

# Evaluation.
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['jclreid.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['jclreid.evaluation'])

# Visualisation: mmengine's visualizers and backends (jclreid adds none).
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS)
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS)

# Pseudo-label machinery: distances, clusterers, cluster filters and label
# generators. No mmengine parent.
CLUSTERERS = Registry('clusterer', locations=['jclreid.clustering'])


def build_if_config(cfg, registry: Registry, **default_args):
    """Build ``cfg`` with ``registry`` when it is a config dict; return it
    unchanged when it is already built (a module, a callable) or None.

    Components take either a config or an object, so that a config file and
    Python code (tests, notebooks) compose them alike.

    Args:
        cfg (dict | object | None): Config (with ``type``) or an object.
        registry (Registry): Where ``type`` is looked up.
        **default_args: Defaults for arguments the config leaves out.

    Returns:
        object | None: The built component, ``cfg`` itself when it is not
        a dict.
    """
    if not isinstance(cfg, dict):
        return cfg
    return registry.build(cfg, default_args=default_args or None)
