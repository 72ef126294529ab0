# Copyright (c) jclreid contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py: a random-initialised ResNet-18 JCL
(with WAM) exported with a dynamic batch axis; onnxruntime's features
equal PyTorch's on batches of 1 and 3."""
import os.path as osp

import numpy as np
import pytest
import torch

from _load_module import load_module

pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')


@pytest.fixture(scope='module')
def tool():
    return load_module('tools/deployment/pytorch2onnx.py')


@pytest.fixture(scope='module')
def exported(tool, tmp_path_factory):
    """A random-init checkpoint of the r18 synthetic config, exported."""
    from mmengine.config import Config

    from jclreid.registry import MODELS
    folder = tmp_path_factory.mktemp('onnx')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    # Non-trivial BatchNorm statistics, so that eval mode matters.
    for name, buf in model.named_buffers():
        if name.endswith('running_mean'):
            buf.normal_(0, 0.1)
        elif name.endswith('running_var'):
            buf.uniform_(0.5, 1.5)
    ckpt = folder / 'random_r18.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = folder / 'model.onnx'
    tool.main([CONFIG, str(ckpt), '--out', str(out), '--verify'])
    return tool, ckpt, out


def test_onnxruntime_equals_pytorch_on_batches_1_and_3(exported):
    tool, ckpt, out = exported
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    model = tool.build_model(cfg, str(ckpt))
    assert not model.training and not any(m.training for m in model.modules())
    session = ort.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    (inp, ), (outp, ) = session.get_inputs(), session.get_outputs()
    assert (inp.name, outp.name) == ('images', 'features')
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == [3, 64, 32]
    gen = torch.Generator().manual_seed(3)
    for batch in (1, 3):
        images = torch.randn(batch, 3, 64, 32, generator=gen)
        with torch.no_grad():
            expected = model.extract_feat(images).numpy()
        got = session.run(['features'], {'images': images.numpy()})[0]
        assert got.shape == (batch, 512)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    # The graph is the eval-mode model: training mode (WaveBlock's random
    # stripes, batch statistics) gives other features.
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        train_mode = model.extract_feat(images).numpy()
    assert np.abs(train_mode - got).max() > 1e-3


def test_metadata_and_pytorch_pipeline_equivalence(exported):
    """The metadata states the normalisation the input needs; feeding
    ``(rgb - mean) / std`` of a uint8 BGR image gives the features of the
    model's own data preprocessor."""
    import onnx
    tool, ckpt, out = exported
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta['mean'] == '[123.675, 116.28, 103.53]'
    assert meta['std'] == '[58.395, 57.12, 57.375]'
    assert meta['channel_order'] == 'rgb'
    assert meta['input_size'] == '[64, 32]' and meta['flip_test'] == 'false'
    from mmengine.config import Config
    model = tool.build_model(Config.fromfile(CONFIG), str(ckpt))
    bgr = np.random.default_rng(0).integers(0, 256, (2, 64, 32, 3),
                                            dtype=np.uint8)
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[torch.from_numpy(b).permute(2, 0, 1) for b in bgr]),
            False)
        expected = model(data['inputs'], mode='tensor').numpy()
    rgb = bgr[..., ::-1].astype(np.float32)
    mean = np.array([123.675, 116.28, 103.53], dtype=np.float32)
    std = np.array([58.395, 57.12, 57.375], dtype=np.float32)
    images = ((rgb - mean) / std).transpose(0, 3, 1, 2).copy()
    session = ort.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    got = session.run(['features'], {'images': images})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_bad_arguments_are_refused(tool, tmp_path):
    with pytest.raises(SystemExit, match='expected a .onnx file'):
        tool.main([CONFIG, 'x.pth', '--out', str(tmp_path / 'm.txt')])
    with pytest.raises(SystemExit, match='does not exist'):
        tool.main([str(tmp_path / 'nope.py'), 'x.pth', '--out',
                   str(tmp_path / 'm.onnx')])
    with pytest.raises(FileNotFoundError):
        tool.main([CONFIG, str(tmp_path / 'missing.pth'), '--out',
                   str(tmp_path / 'm.onnx')])
    assert not (tmp_path / 'm.onnx').exists()
    from mmengine.config import Config
    with pytest.raises(ValueError, match='--shape H W'):
        tool.test_input_size(Config(dict(test_dataloader=dict(
            dataset=dict(pipeline=[dict(type='PackReIDInputs')])))))
