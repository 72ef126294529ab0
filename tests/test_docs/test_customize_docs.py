# Copyright (c) jclreid contributors. All rights reserved.
"""The runnable examples of docs/en/customize_*.md run as written.

Each page holds fenced ``python`` blocks whose first line is
``# file: <relative path>``. The test writes the blocks of the three pages
into one temporary project folder (their paths differ), next to a link to
the repository's ``configs/``, as if ``my_project/`` sat in the repository
root. One subprocess (cwd = that folder, ``PYTHONPATH`` = that folder +
the repository, so that the registrations of the examples never leak into
the test process) runs the drivers, one or two per page: each loads a
config of its page as ``tools/train.py`` does (``register_all_modules``,
then ``Config.fromfile``, which runs ``custom_imports``), builds the
components through the registries and runs them on small data. A test per
driver checks its result.
"""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(REPO, 'docs', 'en')

FENCE = re.compile(r'^```python[ \t]*\n# file: (?P<path>\S+)[ \t]*\n'
                   r'(?P<body>.*?)^```[ \t]*$', re.MULTILINE | re.DOTALL)


def file_blocks(page: str) -> dict:
    """``{relative path: source}`` of the ``# file:`` blocks of a page (the
    marker line kept, so that the written file is the block verbatim)."""
    with open(osp.join(DOCS, page), encoding='utf-8') as f:
        text = f.read()
    blocks = {}
    for m in FENCE.finditer(text):
        path = m.group('path')
        assert path not in blocks, f'{page}: two blocks for {path}'
        assert not osp.isabs(path) and '..' not in path.split('/'), path
        blocks[path] = f'# file: {path}\n' + m.group('body')
    return blocks


def write_project(tmp_path, page: str) -> dict:
    """Write the ``# file:`` blocks of ``page`` under ``tmp_path``."""
    blocks = file_blocks(page)
    for path, source in blocks.items():
        dst = tmp_path / path
        assert not dst.exists(), f'{page}: {path} is also on another page'
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(source, encoding='utf-8')
    return blocks


COMBINED = """
import json
import traceback

from jclreid.utils import register_all_modules

register_all_modules()  # as the tools, plus the default scope
with open('_parts.json', encoding='utf-8') as f:
    parts = json.load(f)
results = {}
for name, source in parts.items():
    namespace = {'__name__': f'_part_{name}'}
    try:
        exec(compile(source, f'<{name} driver>', 'exec'), namespace)
        results[name] = namespace['result']
    except Exception:  # reported by the page's test
        results[name] = dict(error=traceback.format_exc())
print(json.dumps(results))
"""


def run_drivers(tmp_path, parts: dict, timeout: int = 300) -> dict:
    """Run the driver sources ``parts`` (name -> source, each setting
    ``result``) one after the other in one subprocess in ``tmp_path`` (one
    start-up of torch and mmengine for all pages); return name ->
    ``result`` or ``dict(error=traceback)``."""
    (tmp_path / '_driver.py').write_text(COMBINED, encoding='utf-8')
    (tmp_path / '_parts.json').write_text(
        json.dumps({k: textwrap.dedent(v)
                    for k, v in parts.items()}),
        encoding='utf-8')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), REPO] +
        ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env.setdefault('OMP_NUM_THREADS', '1')
    env.setdefault('MKL_NUM_THREADS', '1')
    proc = subprocess.run([sys.executable, '_driver.py'],
                          cwd=str(tmp_path),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f'driver failed (rc={proc.returncode})\n--- stdout\n'
        f'{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('{')]
    assert lines, f'no JSON result; stdout:\n{proc.stdout[-4000:]}'
    return json.loads(lines[-1])


PAGES = ('customize_models.md', 'customize_clustering.md',
         'customize_datasets.md')


@pytest.fixture(scope='module')
def page_results(tmp_path_factory):
    """The three pages' files in one project folder (their paths differ),
    the drivers of the pages run on them; name -> result."""
    tmp_path = tmp_path_factory.mktemp('customize_docs')
    for page in PAGES:
        write_project(tmp_path, page)
    # The configs' `_base_ = ['../configs/...']` as from the repository root.
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')
    return run_drivers(
        tmp_path,
        dict(models=MODELS_DRIVER, neck_memory=NECK_MEMORY_DRIVER,
             clustering=CLUSTERING_DRIVER, datasets=DATASETS_DRIVER,
             metric=METRIC_DRIVER)), tmp_path


def page_result(page_results, name: str) -> dict:
    results, _ = page_results
    out = results[name]
    if 'error' in out:
        pytest.fail(f'the {name} driver failed:\n{out["error"]}')
    return out


def test_extraction_finds_every_marked_block():
    """Each page has its file blocks, and every ``# file:`` marker sits at
    the top of a ``python`` block the extractor finds."""
    expected = {
        'customize_models.md': {
            'my_project/tiny_cnn.py', 'my_project/weighted_loss.py',
            'my_project/tiny_jcl_synthetic.py', 'my_project/mlp_neck.py',
            'my_project/running_mean_memory.py',
            'my_project/tiny_jcl_mlp_neck.py'
        },
        'customize_clustering.md': {
            'my_project/my_clustering.py',
            'my_project/jcl_r18_synthetic_agglo.py'
        },
        'customize_datasets.md': {
            'my_project/csv_reid.py', 'my_project/jcl_r18_csv.py',
            'my_project/jcl_r18_folder.py', 'my_project/per_camera_map.py',
            'my_project/jcl_r18_csv_percam.py'
        },
    }
    for page, paths in expected.items():
        blocks = file_blocks(page)
        assert set(blocks) == paths, (page, sorted(blocks))
        with open(osp.join(DOCS, page), encoding='utf-8') as f:
            markers = re.findall(r'^# file: (\S+)', f.read(), re.MULTILINE)
        assert sorted(markers) == sorted(paths), (page, markers)
        for path, source in blocks.items():
            compile(source, path, 'exec')  # valid Python as written


# --------------------------------------------------------------- models
MODELS_DRIVER = '''
import json

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from jclreid.registry import MODELS
from jclreid.structures import ReIDDataSample

torch.manual_seed(0)
cfg = Config.fromfile('my_project/tiny_jcl_synthetic.py')
model = MODELS.build(cfg.model)
optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

n, k = 16, 4  # 4 pseudo identities x 4 images, the synthetic size 64x32
data = dict(
    inputs=[torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8)
            for _ in range(n)],
    data_samples=[ReIDDataSample(metainfo=dict(sample_idx=i))
                  for i in range(n)])
model.eval()
with torch.no_grad():
    feats = model(**model.data_preprocessor(data, False), mode='tensor')
maps = model.backbone(torch.zeros(2, 3, 64, 32))
labels = torch.arange(n) // k
model.head.reset(feats, labels)
model.train()
before = [p.detach().clone() for p in model.backbone.parameters()]
log_vars = model.train_step(data, optim_wrapper)
changed = sum(not torch.equal(a, p.detach())
              for a, p in zip(before, model.backbone.parameters()))

# Warm-up (no centroids): the instance term only.
model.head.reset(feats, torch.arange(n), warmup=True)
warm_vars = model.train_step(data, optim_wrapper)

# min_weight=1 weights every sample 1: the cluster term is then exactly
# the standard ClusterContrastLoss.
loss_type = type(model.head.loss_module)
unweighted = MODELS.build(dict(type=loss_type.__name__, min_weight=1.0))
reference = MODELS.build(dict(type='ClusterContrastLoss', temperature=0.05))
c = torch.nn.functional.normalize(torch.randn(3, 128), dim=1)
y = torch.tensor([0, 0, 1, 1, 2, 2, -1, 0])
# near and far members (cosine to their centroid from ~0.1 to ~0.95)
scale = torch.tensor([3.0, 0.1, 2.0, 0.5, 1.0, 0.2, 1.0, 4.0])[:, None]
f = torch.nn.functional.normalize(
    c[y.clamp(min=0)] * scale + 0.1 * torch.randn(8, 128), dim=1)
same = torch.allclose(
    unweighted.cluster_term(f, c, y), reference(f, c, y), atol=1e-6)
weighted = MODELS.build(dict(type=loss_type.__name__, min_weight=0.1))
differs = not torch.allclose(
    weighted.cluster_term(f, c, y), reference(f, c, y), atol=1e-4)

result = json.loads(json.dumps(dict(
    backbone=type(model.backbone).__name__,
    backbone_module=type(model.backbone).__module__,
    loss=loss_type.__name__,
    min_weight=model.head.loss_module.min_weight,
    neck_in=model.neck.bn.num_features,
    feat_dim=model.head.feat_dim,
    feat_shape=list(feats.shape),
    map_shape=list(maps[-1].shape),
    log_vars={k: float(v) for k, v in log_vars.items()},
    warm_vars={k: float(v) for k, v in warm_vars.items()},
    changed=changed,
    num_params=len(before),
    same_as_reference=same,
    weighting_differs=differs)))
'''


def test_customize_models_page(page_results):
    out = page_result(page_results, 'models')
    assert out['backbone'] == 'TinyCNN'
    assert out['backbone_module'] == 'my_project.tiny_cnn'
    assert out['loss'] == 'CentroidWeightedJointLoss'
    assert out['min_weight'] == 0.1
    assert out['neck_in'] == out['feat_dim'] == 128
    assert out['feat_shape'] == [16, 128]
    assert out['map_shape'] == [2, 128, 8, 4]  # three stride-2 stages
    log_vars = out['log_vars']
    assert set(log_vars) == {'loss', 'loss_cluster', 'loss_instance'}
    assert all(v == v and abs(v) < 1e4 for v in log_vars.values())
    assert log_vars['loss_cluster'] > 0 and log_vars['loss_instance'] > 0
    assert log_vars['loss'] == pytest.approx(
        log_vars['loss_cluster'] + log_vars['loss_instance'], rel=1e-5)
    # the optimiser stepped the new backbone
    assert out['changed'] == out['num_params'] > 0
    assert set(out['warm_vars']) == {'loss', 'loss_instance'}
    assert out['same_as_reference'] and out['weighting_differs']


# --------------------------------------------------- models: neck, memory
NECK_MEMORY_DRIVER = """
import json

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from jclreid.registry import MODELS
from jclreid.structures import ReIDDataSample

torch.manual_seed(0)
cfg = Config.fromfile('my_project/tiny_jcl_mlp_neck.py')
model = MODELS.build(cfg.model)
optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
n = 16
data = dict(
    inputs=[torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8)
            for _ in range(n)],
    data_samples=[ReIDDataSample(metainfo=dict(sample_idx=i))
                  for i in range(n)])
inputs = model.data_preprocessor(data, False)['inputs']

# The whole model in eval mode, as feature extraction runs it.
model.eval()
with torch.no_grad():
    feats = model(inputs, mode='tensor')
    maps = model.backbone(inputs)
    raw = model.neck(maps)
    bare = model.neck(maps[-1])
    single = model(inputs[:1], mode='tensor')
    preds = model(inputs[:3], [ReIDDataSample() for _ in range(3)],
                  mode='predict')
norms = feats.norm(dim=1)

# A training step of the whole model: 4 clusters, sample 3 an outlier.
labels = torch.tensor([0, 0, 0, -1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
model.head.reset(feats, labels)
mem = model.head.cluster_memory
counts_reset = mem.counts.tolist()
model.train()
neck_before = [p.detach().clone() for p in model.neck.parameters()]
log_vars = model.train_step(data, optim_wrapper)
neck_changed = sum(not torch.equal(a, p.detach())
                   for a, p in zip(neck_before, model.neck.parameters()))
counts_step = mem.counts.tolist()
centroid_norms = mem.features.norm(dim=1).tolist()
# Warm-up: the cluster memory is neither refilled nor updated.
model.head.reset(feats, torch.arange(n), warmup=True)
warm_vars = model.train_step(data, optim_wrapper)
counts_warm = mem.counts.tolist()
rows_warm = mem.num_clusters

# The update rule on a hand-made case through the head's loss.
head, e = model.head, torch.eye(64)
head.reset(torch.stack([e[0], e[0], e[1], e[1], e[2], e[1]]),
           torch.tensor([0, 0, 1, 1, -1, 1]))
old = head.cluster_memory.features
hand = dict(counts0=head.cluster_memory.counts.tolist())
loss1 = head.loss(torch.stack([e[3], e[3], e[5]]),
                  [ReIDDataSample(metainfo=dict(sample_idx=i))
                   for i in (0, 1, 4)])
hand.update(
    losses1=sorted(loss1),
    step1=head.cluster_memory.features[:, :6].tolist(),
    counts1=head.cluster_memory.counts.tolist(),
    old_after=old[:, :6].tolist(),  # the tensor the loss read
    instance0=head.instance_memory.features[0, :6].tolist())
head.loss(torch.stack([e[4], e[4]]),
          [ReIDDataSample(metainfo=dict(sample_idx=i)) for i in (0, 2)])
hand.update(step2=head.cluster_memory.features[:, :6].tolist(),
            counts2=head.cluster_memory.counts.tolist())
# only outliers in the batch: nothing changes
head.loss(e[6:7], [ReIDDataSample(metainfo=dict(sample_idx=4))])
hand.update(step3=head.cluster_memory.features[:, :6].tolist(),
            counts3=head.cluster_memory.counts.tolist())

errors = []
try:
    MODELS.build(dict(type='RunningMeanClusterMemory', feat_dim=8,
                      prior_weight=0))
except ValueError as err:
    errors.append(str(err))
try:
    head.cluster_memory.reset(torch.ones(3, 8))
except ValueError as err:
    errors.append(str(err))

result = json.loads(json.dumps(dict(
    neck=type(model.neck).__name__,
    neck_module=type(model.neck).__module__,
    pool=type(model.neck.pool).__name__,
    memory=type(mem).__name__,
    memory_module=type(mem).__module__,
    instance_memory=type(model.head.instance_memory).__name__,
    prior_weight=mem.prior_weight,
    feat_dim=model.head.feat_dim,
    map_shape=list(maps[-1].shape),
    feat_shape=list(feats.shape),
    norm_err=float((norms - 1).abs().max()),
    raw_shape=list(raw.shape),
    raw_norm_err=float((raw.norm(dim=1) - 1).abs().min()),
    normalised_raw=bool(torch.allclose(F.normalize(raw, dim=1), feats,
                                       atol=1e-5)),
    bare_same=bool(torch.allclose(bare, raw)),
    single_same=bool(torch.allclose(single[0], feats[0], atol=1e-5)),
    pred_shapes=[list(s.pred_feature.shape) for s in preds],
    log_vars={k: float(v) for k, v in log_vars.items()},
    warm_vars={k: float(v) for k, v in warm_vars.items()},
    neck_changed=neck_changed,
    neck_params=len(neck_before),
    counts_reset=counts_reset,
    counts_step=counts_step,
    centroid_norms=centroid_norms,
    counts_warm=counts_warm,
    rows_warm=rows_warm,
    hand=hand,
    errors=errors)))
"""


def _unit(vec):
    norm = math.sqrt(sum(v * v for v in vec))
    return [v / norm for v in vec]


def test_customize_models_neck_and_memory(page_results):
    out = page_result(page_results, 'neck_memory')
    assert (out['neck'], out['neck_module']) == ('GeMMLPNeck',
                                                 'my_project.mlp_neck')
    assert out['pool'] == 'GeneralizedMeanPooling'
    assert (out['memory'], out['memory_module']) == (
        'RunningMeanClusterMemory', 'my_project.running_mean_memory')
    assert out['instance_memory'] == 'InstanceMemory'  # the base's
    assert out['prior_weight'] == 2.0
    # neck: (B, 128, 8, 4) maps -> (B, 64), normalised by the model only
    assert out['feat_dim'] == 64
    assert out['map_shape'] == [16, 128, 8, 4]
    assert out['feat_shape'] == out['raw_shape'] == [16, 64]
    assert out['norm_err'] < 1e-5
    assert out['raw_norm_err'] > 1e-2  # the neck itself does not normalise
    assert out['normalised_raw'] and out['bare_same']
    assert out['single_same']  # eval: a batch of one gives the same
    assert out['pred_shapes'] == [[64]] * 3

    log_vars = out['log_vars']
    assert set(log_vars) == {'loss', 'loss_cluster', 'loss_instance'}
    assert all(v == v and 0 < v < 1e4 for v in log_vars.values())
    assert out['neck_changed'] == out['neck_params'] == 7  # p, 2 W, 2 BN
    # n_k = prior 2 + the batch's members; the outlier is not counted
    assert out['counts_reset'] == [2.0] * 4
    assert out['counts_step'] == [5.0, 6.0, 6.0, 6.0]
    assert out['centroid_norms'] == pytest.approx([1.0] * 4, abs=1e-5)
    assert set(out['warm_vars']) == {'loss', 'loss_instance'}
    assert out['counts_warm'] == out['counts_step']
    assert out['rows_warm'] == 4

    hand = out['hand']
    r2, r5, r17 = math.sqrt(2), math.sqrt(5), math.sqrt(17)
    assert hand['counts0'] == [2.0, 2.0]
    assert hand['losses1'] == ['loss_cluster', 'loss_instance']
    # c0 = normalise(2 e0 + e3 + e3); c1 has no sample, e5 is an outlier
    assert hand['step1'][0] == pytest.approx([1 / r2, 0, 0, 1 / r2, 0, 0],
                                             abs=1e-6)
    assert hand['step1'][1] == pytest.approx([0, 1, 0, 0, 0, 0], abs=1e-6)
    assert hand['counts1'] == [4.0, 2.0]
    # the loss's tensor is not overwritten by the update
    assert hand['old_after'] == [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]]
    # the base's InstanceMemory: normalise(0.2 e0 + 0.8 e3)
    assert hand['instance0'] == pytest.approx(
        _unit([0.2, 0, 0, 0.8, 0, 0]), abs=1e-6)
    # c0 = normalise(4 c0 + e4), c1 = normalise(2 e1 + e4)
    assert hand['step2'][0] == pytest.approx(
        [2 * r2 / r17, 0, 0, 2 * r2 / r17, 1 / r17, 0], abs=1e-6)
    assert hand['step2'][1] == pytest.approx([0, 2 / r5, 0, 0, 1 / r5, 0],
                                             abs=1e-6)
    assert hand['counts2'] == [5.0, 3.0]
    # a ClusterMemory (momentum 0.2, mode 'mean') would give c0 =
    # normalise(0.2 e0 + 0.8 e3) at step 1: the rule differs
    assert hand['step1'][0][0] != pytest.approx(
        _unit([0.2, 0.8])[0], abs=1e-3)
    assert hand['step3'] == hand['step2']
    assert hand['counts3'] == hand['counts2']
    bad_weight, bad_shape = out['errors']
    assert 'prior_weight' in bad_weight
    assert '(C, 64) centroids' in bad_shape and '(3, 8)' in bad_shape


# ----------------------------------------------------------- clustering
CLUSTERING_DRIVER = '''
import json

import numpy as np
import scipy.sparse as sp
import torch
from mmengine.config import Config

from jclreid.registry import CLUSTERERS, HOOKS
cfg = Config.fromfile('my_project/jcl_r18_synthetic_agglo.py')
# The hook of the config builds the generator, as in training.
hook = HOOKS.build(cfg.default_hooks.pseudo_label)
gen = hook.label_generator

# Record what the generator passes to the distance.
distance = gen.distance
received = []


def recording_distance(features, max_distance=None):
    received.append(max_distance)
    return distance(features, max_distance=max_distance)


gen.distance = recording_distance

# 5 tight blobs of 8 on orthogonal directions + 3 loners; blobs 0-3 span
# cameras 0 and 1, blob 4 is seen by camera 0 only.
rng = np.random.default_rng(0)
dim, size = 32, 8
basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0].T  # orthonormal
feats, truth, camids = [], [], []
for b in range(5):
    pts = basis[b] + 0.02 * rng.standard_normal((size, dim))
    feats.append(pts)
    truth += [b] * size
    camids += [i % 2 for i in range(size)] if b < 4 else [0] * size
for j in range(3):
    feats.append(basis[5 + j][None])
    truth.append(-1)
    camids.append(j % 2)
feats = np.concatenate(feats).astype(np.float32)
feats /= np.linalg.norm(feats, axis=1, keepdims=True)
truth, camids = np.array(truth), np.array(camids)
labels, summary = gen(feats, camids)

# The distance alone: dense = 1 - cos; sparse keeps exactly the pairs at
# <= max_distance, the zero diagonal stored.
dense_dist = type(distance)(sparse=False)(feats)
cos_ok = bool(np.allclose(dense_dist, np.clip(1 - feats @ feats.T, 0, 2),
                          atol=1e-5))
sparse_dist = distance(torch.from_numpy(feats), max_distance=0.4)
stored = sparse_dist.tocoo()
expect_pairs = int((dense_dist <= 0.4).sum())
diag_stored = int((stored.row == stored.col).sum())

clusterer = gen.clusterer
# Complete linkage below the threshold: the truncated sparse matrix gives
# the same clusters as the full dense one.
pairs = set(zip(clusterer(dense_dist).tolist(),
                clusterer(sparse_dist).tolist()))
same_dense_sparse = len(pairs) == len({a for a, _ in pairs}) == len(
    {b for _, b in pairs}) == 5 + 3

# A fixed number of clusters, average linkage: needs every distance.
fixed = CLUSTERERS.build(dict(
    type='AgglomerativeClusterer', n_clusters=5, linkage='average'))
blobs = truth >= 0
fixed_labels = fixed(dense_dist[np.ix_(blobs, blobs)])
errors = []
for bad in (dict(), dict(n_clusters=3, distance_threshold=0.2),
            dict(n_clusters=3, linkage='ward')):
    try:
        CLUSTERERS.build(dict(type='AgglomerativeClusterer', **bad))
    except ValueError as e:
        errors.append(str(e))

filt = CLUSTERERS.build(dict(type='MinClusterSizeFilter', min_size=3))
f_labels, f_info = filt(np.array([5, 5, 5, 9, 9, -1, 2, 2, 2, 2]), None)

result = json.loads(json.dumps(dict(
    stages=[repr(distance), repr(gen.clusterer)] +
    [repr(f) for f in gen.filters],
    received=received,
    clusterer_max_distance=gen.clusterer.max_distance,
    fixed_max_distance=fixed.max_distance,
    labels=labels.tolist(),
    truth=truth.tolist(),
    summary={k: v for k, v in summary.items()},
    cos_ok=cos_ok,
    sparse=bool(sp.issparse(sparse_dist)),
    stored_max=float(stored.data.max()),
    stored=int(stored.nnz),
    expect_pairs=expect_pairs,
    diag_stored=diag_stored,
    same_dense_sparse=same_dense_sparse,
    fixed_labels=fixed_labels.tolist(),
    fixed_truth=truth[blobs].tolist(),
    errors=errors,
    filter_labels=f_labels.tolist(),
    filter_info=f_info)))
'''


def _same_partition(a, b) -> bool:
    """Whether two label lists group the items identically."""
    pairs = set(zip(a, b))
    return len(pairs) == len(set(a)) == len(set(b))


def test_customize_clustering_page(page_results):
    out = page_result(page_results, 'clustering')
    assert out['stages'] == [
        'CosineDistance(sparse=True)',
        "AgglomerativeClusterer(n_clusters=None, distance_threshold=0.4, "
        "linkage='complete')", 'MinClusterSizeFilter(min_size=2)',
        'CameraAwareFilter(min_cameras=2)'
    ]
    # LabelGenerator calls the distance once, with the clusterer's bound.
    assert out['clusterer_max_distance'] == 0.4
    assert out['received'] == [0.4]
    assert out['fixed_max_distance'] is None

    labels, truth = out['labels'], out['truth']
    # blobs 0-3 are found exactly; blob 4 (one camera) and the loners
    # (singletons) become outliers.
    kept = [t for t in truth if t in (0, 1, 2, 3)]
    assert _same_partition(
        [lab for lab, t in zip(labels, truth) if t in kept], kept)
    assert all(lab == -1 for lab, t in zip(labels, truth) if t in (4, -1))
    assert sorted(set(labels)) == [-1, 0, 1, 2, 3]
    s = out['summary']
    assert s['num_clusters'] == 4
    assert s['num_clusters_found'] == 8  # 5 blobs + 3 singletons
    assert s['num_outliers'] == 8 + 3
    assert s['num_removed_clusters'] == 4
    assert s['removed_by_filter'] == {
        'MinClusterSizeFilter(min_size=2)': 3,
        'CameraAwareFilter(min_cameras=2)': 1
    }
    assert s['size_min'] == s['size_max'] == 8

    assert out['cos_ok'] and out['sparse']
    assert out['stored_max'] <= 0.4
    assert out['stored'] == out['expect_pairs'] < len(truth)**2
    assert out['diag_stored'] == len(truth)  # explicit zeros kept
    assert out['same_dense_sparse']
    assert _same_partition(out['fixed_labels'], out['fixed_truth'])
    assert len(out['errors']) == 3
    # contiguous in increasing order of the old ids: 2 -> 0, 5 -> 1
    assert out['filter_labels'] == [1, 1, 1, -1, -1, -1, 0, 0, 0, 0]
    assert out['filter_info'] == {'num_removed_clusters': 1}


# ------------------------------------------------------------- datasets
DATASETS_DRIVER = '''
import json
import os

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from jclreid.registry import DATASETS, MODELS

# A tiny CSV dataset: 4 identities x 2 cameras x 2 images for training,
# 2 query and 4 gallery images; images of odd sizes (the pipeline resizes).
rng = np.random.default_rng(0)
root = 'data/my_csv_reid'
os.makedirs(f'{root}/images')
rows = dict(train=[], query=[], gallery=[])
for pid in range(1, 5):
    for cam in range(2):
        for k in range(2):
            name = f'images/{pid:04d}_c{cam}_{k}.jpg'
            rows['train'].append((name, pid, cam))
for split, items in (('query', [(7, 0), (8, 1)]),
                     ('gallery', [(7, 1), (8, 0), (7, 2), (0, 2)])):
    for i, (pid, cam) in enumerate(items):
        rows[split].append((f'images/{split}_{i}.png', pid, cam))
for items in rows.values():
    for name, _, _ in items:
        img = rng.integers(0, 256, (50 + len(name), 23, 3), dtype=np.uint8)
        assert mmcv.imwrite(img, f'{root}/{name}')
header = {'train': 'path,pid,camid\\n', 'query': '', 'gallery': '# g\\n'}
for split, items in rows.items():
    with open(f'{root}/{split}.csv', 'w') as f:
        f.write(header[split])
        f.writelines(f'{n}, {p},{c}\\n' for n, p, c in items)
        f.write('\\n')

cfg = Config.fromfile('my_project/jcl_r18_csv.py')
train_set = DATASETS.build(cfg.train_dataloader.dataset)
test_set = DATASETS.build(cfg.test_dataloader.dataset)
val_set = DATASETS.build(cfg.val_dataloader.dataset)
item = train_set[0]
info = train_set.get_data_info(3)

# Through the train dataloader of the config (PseudoIdentitySampler,
# collate) and the model's data preprocessor.
loader_cfg = cfg.train_dataloader.copy()
loader_cfg.update(batch_size=8, num_workers=0, persistent_workers=False)
loader_cfg.sampler.update(batch_size=8, iters_per_epoch=2)
loader = Runner.build_dataloader(loader_cfg, seed=0)
batch = next(iter(loader))
pre = MODELS.build(cfg.model.data_preprocessor)
batch_inputs = pre(batch, True)['inputs']

errors = []
with open(f'{root}/bad.csv', 'w') as f:
    f.write('images/0001_c0_0.jpg,1,0\\nimages/0001_c0_1.jpg,one,0\\n')
with open(f'{root}/short.csv', 'w') as f:
    f.write('images/0001_c0_0.jpg,1\\n')
for lists in (dict(train='bad.csv'), dict(train='short.csv'),
              dict(train='missing.csv')):
    try:
        DATASETS.build(dict(type='CSVReID', data_root=root,
                            list_files=lists))
    except (ValueError, FileNotFoundError) as e:
        errors.append(str(e))

# The ReIDFolder example of the page.
froot = 'data/my_folder_reid'
for split, names in (('train', ['person001_cam0_0001.jpg',
                                'person001_cam3_0002.jpg',
                                'person002_cam1_0001.jpg']),
                     ('query', ['person005_cam0_0001.jpg']),
                     ('gallery', ['person005_cam2_0001.jpg',
                                  'person006_cam2_0001.jpg'])):
    os.makedirs(f'{froot}/{split}')
    for n in names:
        mmcv.imwrite(np.zeros((64, 32, 3), np.uint8), f'{froot}/{split}/{n}')
fcfg = Config.fromfile('my_project/jcl_r18_folder.py')
folder_train = DATASETS.build(fcfg.train_dataloader.dataset)
folder_test = DATASETS.build(fcfg.test_dataloader.dataset)

result = json.loads(json.dumps(dict(
    type=type(train_set).__name__,
    module=type(train_set).__module__,
    len_train=len(train_set),
    len_test=len(test_set),
    len_val=len(val_set),
    test_split=test_set.split,
    metainfo={k: train_set.metainfo[k]
              for k in ('dataset_name', 'num_pids', 'num_cameras', 'split')},
    pids=train_set.get_pids().tolist(),
    camids=train_set.get_camids().tolist(),
    info={k: info[k] for k in ('img_path', 'pid', 'camid', 'is_query',
                                'sample_idx')},
    is_query=[test_set.get_data_info(i)['is_query']
              for i in range(len(test_set))],
    test_pids=test_set.get_pids().tolist(),
    inputs=[str(item['inputs'].dtype), list(item['inputs'].shape)],
    sample=dict(pid=item['data_samples'].pid,
                camid=item['data_samples'].camid,
                sample_idx=item['data_samples'].sample_idx,
                img_path=item['data_samples'].img_path),
    batch_shape=list(batch_inputs.shape),
    batch_dtype=str(batch_inputs.dtype),
    batch_idx=sorted(s.sample_idx for s in batch['data_samples']),
    errors=errors,
    folder=dict(
        type=type(folder_train).__name__,
        pids=folder_train.get_pids().tolist(),
        camids=folder_train.get_camids().tolist(),
        test_camids=folder_test.get_camids().tolist(),
        test_query=[folder_test.get_data_info(i)['is_query']
                    for i in range(len(folder_test))]))))
'''


def test_customize_datasets_page(page_results):
    out = page_result(page_results, 'datasets')
    assert out['type'] == 'CSVReID'
    assert out['module'] == 'my_project.csv_reid'
    assert out['len_train'] == 16  # header, blank line skipped
    assert out['len_test'] == out['len_val'] == 2 + 4
    assert out['test_split'] == 'test'
    assert out['metainfo'] == dict(
        dataset_name='CSVReID', num_pids=4, num_cameras=2, split='train')
    assert out['pids'] == [p for p in range(1, 5) for _ in range(4)]
    assert out['camids'] == [0, 0, 1, 1] * 4
    info = out['info']
    assert info['img_path'] == 'data/my_csv_reid/images/0001_c1_1.jpg'
    assert os.path.isfile(page_results[1] / info['img_path'])
    assert (info['pid'], info['camid'], info['is_query'],
            info['sample_idx']) == (1, 1, False, 3)
    assert out['is_query'] == [True] * 2 + [False] * 4
    assert out['test_pids'] == [7, 8, 7, 8, 7, 0]
    # the config's test pipeline: uint8 (3, 64, 32) from odd-sized images
    assert out['inputs'] == ['torch.uint8', [3, 64, 32]]
    assert out['sample'] == dict(
        pid=1, camid=0, sample_idx=0,
        img_path='data/my_csv_reid/images/0001_c0_0.jpg')
    assert out['batch_shape'] == [8, 3, 64, 32]
    assert out['batch_dtype'] == 'torch.float32'
    assert len(set(out['batch_idx'])) == 8
    assert all(0 <= i < 16 for i in out['batch_idx'])
    bad, short, missing = out['errors']
    assert 'line 2 of' in bad and 'bad.csv' in bad and "'one'" in bad
    assert 'line 1 of' in short and '2 fields' in short
    assert 'missing.csv' in missing and 'does not exist' in missing
    folder = out['folder']
    assert folder['type'] == 'ReIDFolder'
    assert folder['pids'] == [1, 1, 2]
    assert folder['camids'] == [0, 3, 1]  # camid_offset=0
    assert folder['test_camids'] == [0, 2, 2]
    assert folder['test_query'] == [True, False, False]


# --------------------------------------------------------- datasets: metric
METRIC_DRIVER = """
import json
import math

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample

cfg = Config.fromfile('my_project/jcl_r18_csv_percam.py')


def sample(idx, angle, pid, camid, is_query):
    t = math.radians(angle)
    return ReIDDataSample(metainfo=dict(
        sample_idx=idx, pid=pid, camid=camid,
        is_query=is_query)).set_pred_feature(
            torch.tensor([math.cos(t), math.sin(t)]))


# The page's case plus two queries without a true match: pid 3 from
# camera 1 (camera 1 keeps a valid query) and from camera 2 (its only one).
queries = [(-10, 1, 0), (5, 2, 0), (75, 1, 1), (30, 3, 1), (150, 3, 2)]
gallery = [(0, 1, 1), (20, 2, 0), (40, 1, 0), (60, 2, 1), (80, 0, 1),
           (100, -1, 0), (120, 1, 2)]
samples = [sample(i, *q, True) for i, q in enumerate(queries)]
samples += [sample(len(queries) + i, *g, False)
            for i, g in enumerate(gallery)]

metric = METRICS.build(cfg.test_evaluator[1])
metric.process(None, [s.to_dict() for s in samples[:4]])
metric.process(None, [s.to_dict() for s in samples[4:]])
direct = metric.compute_metrics(metric.results)
shuffled = metric.compute_metrics(metric.results[::-1])
record = metric.results[0]

evaluator = Evaluator(cfg.test_evaluator)
evaluator.process(samples[:7])
evaluator.process(samples[7:])
both = evaluator.evaluate(len(samples))
euclidean = METRICS.build(dict(type='PerCameraMAP', metric='euclidean',
                               prefix='eu'))
euclidean.process(None, [s.to_dict() for s in samples])
eu = euclidean.evaluate(len(samples))

errors = []
for subset in (samples[:5],                  # no gallery
               samples[3:5] + samples[5:]):  # no query has a match
    m = METRICS.build(dict(type='PerCameraMAP'))
    m.process(None, [s.to_dict() for s in subset])
    try:
        m.compute_metrics(m.results)
    except ValueError as err:
        errors.append(str(err))

result = json.loads(json.dumps(dict(
    type=type(metric).__name__,
    module=type(metric).__module__,
    evaluator_types=[c['type'] for c in cfg.test_evaluator],
    val_type=cfg.val_evaluator['type'],
    record=sorted(record),
    direct=direct,
    shuffled=shuffled,
    both=both,
    eu=eu,
    errors=errors)))
"""


def test_customize_datasets_metric(page_results):
    out = page_result(page_results, 'metric')
    assert (out['type'], out['module']) == ('PerCameraMAP',
                                            'my_project.per_camera_map')
    assert out['evaluator_types'] == ['ReIDMetric', 'PerCameraMAP']
    assert out['val_type'] == 'ReIDMetric'
    assert out['record'] == ['camid', 'feature', 'is_query', 'pid']
    # By hand. Camera 0: query pid 1 ranks g0 (1st, a match), g1, g3, g4,
    # g6 (5th, a match) once g2 (same camera) and g5 (junk) are removed:
    # AP = (1/1 + 2/5) / 2 = 0.7; query pid 2 has its only match, g3, 3rd
    # of g0, g2, g3, g4, g6: AP = 1/3. Camera 1: query pid 1 ranks g4, g3,
    # g2 (3rd), g6 (4th), g1: AP = (1/3 + 2/4) / 2 = 5/12; the pid-3
    # queries have no match (skipped), so camera 2 is left out.
    cam0, cam1 = 100 * (0.7 + 1 / 3) / 2, 100 * 5 / 12
    expected = dict(mAP_cam0=cam0, mAP_cam1=cam1,
                    mAP_mean=(cam0 + cam1) / 2)
    assert out['direct'] == pytest.approx(expected, abs=1e-4)
    assert out['shuffled'] == pytest.approx(expected, abs=1e-4)
    both = out['both']
    assert {k for k in both if k.startswith('percam/')} == {
        'percam/mAP_cam0', 'percam/mAP_cam1', 'percam/mAP_mean'
    }
    assert both['percam/mAP_mean'] == pytest.approx(expected['mAP_mean'],
                                                    abs=1e-4)
    # ReIDMetric's mAP is the mean over the 3 valid queries.
    assert both['reid/mAP'] == pytest.approx((2 * cam0 + cam1) / 3,
                                             abs=1e-4)
    assert both['reid/mAP'] != pytest.approx(both['percam/mAP_mean'],
                                             abs=1e-2)
    # unit features: squared euclidean = 2 - 2 cos ranks alike
    assert out['eu'] == pytest.approx(
        {f'eu/{k}': v for k, v in expected.items()}, abs=1e-4)
    no_gallery, no_match = out['errors']
    assert 'query and gallery' in no_gallery
    assert 'no query has a true match' in no_match
