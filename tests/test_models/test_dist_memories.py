# Copyright (c) jclreid contributors. All rights reserved.
"""Two gloo ranks updating memories from different batches end identical,
and equal to one process updating from the concatenated batch."""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from jclreid.models import JCLHead

from _free_port import free_port


def _data():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(12, 8, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2, -1, 0, 1])
    batch = torch.nn.functional.normalize(torch.randn(8, 8, generator=g), 1)
    indices = torch.tensor([0, 2, 4, 9, 1, 3, 5, 10])
    return feats, labels, batch, indices


def _worker(rank, port, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    torch.set_num_threads(1)
    feats, labels, batch, indices = _data()
    head = JCLHead(feat_dim=8)
    head.reset(feats, labels)
    part = slice(0, 4) if rank == 0 else slice(4, 8)
    head.update_memories(batch[part], labels[indices[part]], indices[part])
    torch.save(
        dict(
            cluster=head.cluster_memory.features,
            instance=head.instance_memory.features),
        os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


def test_two_ranks_match_single_process(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2)
    r0 = torch.load(tmp_path / 'rank0.pth')
    r1 = torch.load(tmp_path / 'rank1.pth')
    assert torch.equal(r0['cluster'], r1['cluster'])
    assert torch.equal(r0['instance'], r1['instance'])

    feats, labels, batch, indices = _data()
    head = JCLHead(feat_dim=8)
    head.reset(feats, labels)
    head.update_memories(batch, labels[indices], indices)
    assert torch.allclose(r0['cluster'], head.cluster_memory.features)
    assert torch.allclose(r0['instance'], head.instance_memory.features)
    # The update did something.
    assert not torch.allclose(
        head.instance_memory.features[0],
        torch.nn.functional.normalize(feats, dim=1)[0])
