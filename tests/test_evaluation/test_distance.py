# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import (compute_distance, cosine_distance,
                                euclidean_distance)


def test_cosine_against_direct_computation():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 5, generator=g), torch.randn(11, 5, generator=g)
    expected = torch.tensor(
        [[1 - float(x @ y) / float(x.norm() * y.norm()) for y in b]
         for x in a])
    for chunk_size in (1, 3, 4096):
        out = cosine_distance(a, b, chunk_size=chunk_size)
        assert out.shape == (7, 11) and out.dtype == torch.float32
        assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(compute_distance(a, b), cosine_distance(a, b))
    # Identical directions are at distance 0 (clamped, never negative).
    self_dist = cosine_distance(a, 3 * a).diagonal()
    assert (self_dist >= 0).all() and (self_dist < 1e-6).all()


def test_euclidean_against_direct_computation():
    rng = np.random.RandomState(0)
    a, b = rng.randn(6, 4), rng.randn(9, 4)  # numpy input is accepted
    expected = ((a[:, None] - b[None])**2).sum(-1)
    for chunk_size in (2, 4096):
        out = euclidean_distance(a, b, chunk_size=chunk_size)
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    plain = euclidean_distance(a, b, squared=False).numpy()
    np.testing.assert_allclose(plain, np.sqrt(expected), atol=1e-5)
    np.testing.assert_allclose(
        compute_distance(a, b, 'euclidean').numpy(), expected, atol=1e-5)
    assert (euclidean_distance(a, a).diagonal() >= 0).all()


def test_bad_arguments():
    a = torch.randn(3, 4)
    with pytest.raises(ValueError, match='metric must be one of'):
        compute_distance(a, a, 'manhattan')
    with pytest.raises(ValueError, match='same dimension'):
        compute_distance(a, torch.randn(3, 5))
    with pytest.raises(ValueError, match='2-D'):
        compute_distance(torch.randn(4), a)
