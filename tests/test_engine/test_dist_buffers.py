# Copyright (c) jclreid contributors. All rights reserved.
"""Two gloo ranks with deliberately different BatchNorm buffers: the
PseudoLabelHook's extraction (and its val / test sync) leaves rank 0's
buffers on every rank, and the gathered features equal a one-process
extraction of the same model with rank 0's buffers."""
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import jclreid.datasets  # noqa: F401  (registers PackReIDInputs)
import jclreid.models  # noqa: F401  (registers JCL)
from jclreid.engine.hooks import PseudoLabelHook
from jclreid.registry import MODELS
from jclreid.utils import broadcast_buffers
from jclreid.utils.dist import broadcast_object

from _free_port import free_port

NUM = 11  # odd: DefaultSampler pads the shards
PIPE = [dict(type='PackReIDInputs')]
DIM = 16


class _TinySet:
    """In-memory 32x16 images with the ``get_data_info`` of a dataset."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.imgs = rng.integers(0, 256, (NUM, 32, 16, 3), dtype=np.uint8)

    def __len__(self):
        return NUM

    def get_data_info(self, idx):
        return dict(img=self.imgs[idx], sample_idx=idx, pid=idx % 3,
                    camid=idx % 2)


def _model():
    """JCL with a two-block conv + BN backbone (a ResNet would only be
    slower) and the BN neck."""
    torch.manual_seed(0)
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, DIM, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(DIM), nn.ReLU())
    return MODELS.build(
        dict(
            type='JCL',
            backbone=backbone,
            neck=dict(type='ReIDNeck', in_channels=DIM, pooling='avg'),
            head=dict(type='JCLHead', feat_dim=DIM)))


def _set_bn_buffers(model, seed):
    """Running statistics and ``num_batches_tracked`` that depend on
    ``seed`` (as if trained on different batches)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features,
                                                   generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features,
                                                 generator=g))
            m.num_batches_tracked.fill_(seed)


def _bn_buffers(model):
    return {
        k: v.clone()
        for k, v in model.state_dict().items()
        if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))
    }


def _runner(model):
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=_TinySet()),
        # pipeline=None resolves to the test dataloader's pipeline.
        cfg=dict(test_dataloader=dict(dataset=dict(pipeline=PIPE))))


def _no_clustering(features, camids):
    raise AssertionError('extraction only')


class _Odd(nn.Module):

    def __init__(self, rank):
        super().__init__()
        self.register_buffer('count', torch.tensor(10 + rank))
        self.register_buffer('flag', torch.tensor([rank == 0, rank == 1]))
        self.register_buffer(
            'scratch', torch.full((2, ), float(rank)), persistent=False)


def _worker(rank, port, out_dir):
    from mmengine.model import MMDistributedDataParallel

    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    torch.set_num_threads(1)
    # A spawned process runs no conftest; registering only what is used
    # (not the clustering / evaluation imports) keeps the start-up short.
    from mmengine.registry import DefaultScope
    DefaultScope.get_instance('test_dist_buffers', scope_name='jclreid')
    out = {}
    model = MMDistributedDataParallel(
        module=_model(), device_ids=None, broadcast_buffers=False)
    # DDP's construction broadcast rank 0's buffers: diverge afterwards, as
    # training on different batches does.
    _set_bn_buffers(model.module, 1 + rank)
    runner = _runner(model)
    hook = PseudoLabelHook(
        pipeline=None, label_generator=_no_clustering, batch_size=4)
    out['feats'] = hook.extract_features(runner)
    out['after_extract'] = _bn_buffers(model.module)
    _set_bn_buffers(model.module, 10 + rank)
    hook.before_val_epoch(runner)
    out['after_val'] = _bn_buffers(model.module)
    _set_bn_buffers(model.module, 20 + rank)
    hook.before_test_epoch(runner)
    out['after_test'] = _bn_buffers(model.module)

    # Non-persistent buffers are skipped on request; ints and bools are
    # copied exactly.
    odd = _Odd(rank)
    broadcast_buffers(odd, persistent_only=True)
    out['odd_persistent'] = {k: v.clone() for k, v in odd.named_buffers()}
    broadcast_buffers(odd)
    out['odd_all'] = {k: v.clone() for k, v in odd.named_buffers()}
    # Different buffers on the ranks: every rank raises, none hangs.
    try:
        broadcast_buffers(nn.BatchNorm1d(3 + rank))
    except ValueError as e:
        out['mismatch'] = str(e)
    # A summary dict from rank 0 (what the hook broadcasts after
    # clustering); the other ranks' argument is ignored.
    out['summary'] = broadcast_object(
        dict(num_clusters=3, removed_by_filter={'F': 1}) if rank == 0 else
        {}, src=0)
    torch.save(out, os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('dist_buffers')
    mp.spawn(_worker, args=(free_port(), str(out_dir)), nprocs=2)
    return [
        torch.load(out_dir / f'rank{r}.pth', weights_only=False)
        for r in range(2)
    ]


def test_every_rank_gets_rank0_buffers(ranks):
    r0, r1 = ranks
    for stage, seed in [('after_extract', 1), ('after_val', 10),
                        ('after_test', 20)]:
        expected = _model()
        _set_bn_buffers(expected, seed)  # rank 0's
        expected = _bn_buffers(expected)
        assert r0[stage].keys() == r1[stage].keys() == expected.keys()
        for k, v in expected.items():
            assert torch.equal(r0[stage][k], v), (stage, k)
            assert torch.equal(r1[stage][k], v), (stage, k)
            assert r1[stage][k].dtype == v.dtype


def test_gathered_features_equal_one_process(ranks):
    r0, r1 = ranks
    assert torch.equal(r0['feats'], r1['feats'])
    assert r0['feats'].shape == (NUM, DIM)

    model = _model()
    _set_bn_buffers(model, 1)  # rank 0's buffers
    hook = PseudoLabelHook(
        pipeline=PIPE, label_generator=_no_clustering, batch_size=4)
    single = hook.extract_features(_runner(model))
    torch.testing.assert_close(r0['feats'], single, atol=1e-6, rtol=0)
    # The buffers matter: rank 1's give other features.
    _set_bn_buffers(model, 2)
    other = hook.extract_features(_runner(model))
    assert (other - single).abs().max() > 1e-3


def test_int_bool_and_non_persistent_buffers(ranks):
    r0, r1 = ranks
    for r in ranks:
        assert r['odd_persistent']['count'].item() == 10
        assert r['odd_persistent']['flag'].tolist() == [True, False]
        assert r['odd_persistent']['count'].dtype == torch.int64
        assert r['odd_all']['scratch'].tolist() == [0., 0.]
    assert r1['odd_persistent']['scratch'].tolist() == [1., 1.]
    assert 'rank(s) [1]' in r0['mismatch'] and r0['mismatch'] == r1[
        'mismatch']


def test_broadcast_object(ranks):
    for r in ranks:
        assert r['summary'] == dict(num_clusters=3, removed_by_filter={'F': 1})
    # One process: the object itself.
    obj = dict(a=[1, 2])
    assert broadcast_object(obj) is obj
