# Copyright (c) jclreid contributors. All rights reserved.
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from jclreid.utils import (broadcast_array, broadcast_buffers, gather_by_index,
                           teardown_distributed)

from _free_port import free_port


def _worker(rank, port, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    total = 7
    # Interleaved shards as DefaultSampler gives them, padded with index 0.
    idx = torch.tensor([0, 2, 4, 6]) if rank == 0 else torch.tensor(
        [1, 3, 5, 0])
    values = torch.stack([idx.float() * 10, idx.float()], dim=1)
    out = gather_by_index(idx, values, total)
    labels = broadcast_array(
        np.array([5, 6, 7]) if rank == 0 else None, src=0)
    torch.save(dict(out=out, labels=labels),
               os.path.join(out_dir, f'{rank}.pth'))
    dist.destroy_process_group()


def test_gather_by_index_and_broadcast_two_ranks(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2)
    for rank in range(2):
        res = torch.load(tmp_path / f'{rank}.pth', weights_only=False)
        expected = torch.stack(
            [torch.arange(7.) * 10, torch.arange(7.)], dim=1)
        assert torch.equal(res['out'], expected)
        assert res['labels'].tolist() == [5, 6, 7]


def test_gather_single_process_errors():
    out = gather_by_index(torch.tensor([2, 0, 1]), torch.tensor([2., 0, 1]),
                          3)
    assert out.tolist() == [0., 1., 2.]
    import pytest
    with pytest.raises(RuntimeError, match='held'):
        gather_by_index(torch.tensor([0]), torch.tensor([1.]), 2)


def test_broadcast_buffers_is_a_noop_on_one_process():
    bn = torch.nn.BatchNorm1d(3)
    bn.running_mean.fill_(2.)
    before = bn.running_mean
    broadcast_buffers(bn)
    assert bn.running_mean is before
    assert bn.running_mean.tolist() == [2., 2., 2.]


def test_teardown_distributed_destroys_the_process_group():
    teardown_distributed()  # no process group: nothing to do
    assert not dist.is_initialized()
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
        world_size=1)
    try:
        teardown_distributed()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
