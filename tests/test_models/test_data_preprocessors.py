# Copyright (c) jclreid contributors. All rights reserved.
"""ReIDDataPreprocessor: the stacked uint8 path equals mmengine's
ImgDataPreprocessor; every other batch takes mmengine's own path."""
import pytest
import torch


def test_preprocessor_batches_as_mmengine_converts_images():
    from mmengine.model import ImgDataPreprocessor
    from jclreid.models.data_preprocessors import ReIDDataPreprocessor
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    ours = ReIDDataPreprocessor(mean=mean, std=std)
    ref = ImgDataPreprocessor(mean=mean, std=std, bgr_to_rgb=True)
    gen = torch.Generator().manual_seed(0)
    imgs = list(
        torch.randint(
            0, 256, (4, 3, 32, 16), generator=gen, dtype=torch.uint8))
    batches = [
        imgs,  # one size: stacked
        torch.stack(imgs),  # already stacked
        imgs[:2] + [imgs[2][:, :24]],  # two sizes: padded by mmengine
        [x.float() for x in imgs],  # float images
    ]
    for inputs in batches:
        out = ours(dict(inputs=inputs, data_samples=None), True)
        expected = ref(dict(inputs=inputs, data_samples=None), True)
        assert torch.equal(out['inputs'], expected['inputs'])
        assert out['data_samples'] is None
    assert torch.equal(batches[3][0], imgs[0].float())  # not changed
    with pytest.raises(TypeError, match='channels_last'):
        ReIDDataPreprocessor(channels_last='yes')
