# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

from jclreid.apis import ReIDInferencer
from jclreid.registry import MODELS
from jclreid.utils import CheckpointMismatchError, UnsafeCheckpointError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')


class _Evil:

    def __reduce__(self):
        return (print, ('pwned', ))


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    """A randomly initialised ResNet-18 JCL in mmengine's checkpoint
    format, and its state dict."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth')
    save_checkpoint(dict(meta=dict(epoch=1), state_dict=model.state_dict()),
                    path)
    return path, model.state_dict()


@pytest.fixture(scope='module')
def inferencer(ckpt):
    return ReIDInferencer(CONFIG, ckpt[0], device='cpu', batch_size=3)


@pytest.fixture
def images(tmp_path):
    rng = np.random.RandomState(0)
    folder = tmp_path / 'gallery'
    folder.mkdir()
    arrays = []
    for i in range(5):
        img = rng.randint(0, 255, (48 + 4 * i, 24, 3)).astype(np.uint8)
        # Images in reverse name order, to check sorting.
        cv2.imwrite(str(folder / f'{4 - i:02d}.png'), img)
        arrays.append(img)
    (folder / 'notes.txt').write_text('not an image')
    return folder, arrays[::-1]


def test_loads_checkpoint_weights(inferencer, ckpt):
    assert not inferencer.model.training
    assert inferencer.device == torch.device('cpu')
    own = inferencer.model.state_dict()
    for key, value in ckpt[1].items():
        torch.testing.assert_close(own[key], value)


def test_default_device():
    inf = ReIDInferencer(Config.fromfile(CONFIG))
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert inf.device.type == expected
    assert next(inf.model.parameters()).device.type == expected


def test_extract_paths_folders_arrays(inferencer, images):
    folder, arrays = images
    from_folder = inferencer.extract(str(folder), progress=False)
    assert from_folder.shape == (5, 512) and from_folder.dtype == torch.float32
    torch.testing.assert_close(from_folder.norm(dim=1), torch.ones(5))
    # Arrays take the same test pipeline as files (decoded BGR).
    from_arrays = inferencer.extract(arrays, progress=False)
    torch.testing.assert_close(from_folder, from_arrays)
    # Input order, batch-size independent; a single path.
    paths = [str(folder / f'{i:02d}.png') for i in (3, 0)]
    two = inferencer.extract(paths, batch_size=1, progress=False)
    torch.testing.assert_close(two, from_folder[[3, 0]])
    one = inferencer(paths[1], progress=False)
    torch.testing.assert_close(one, from_folder[[0]])


def test_progress_bar_for_long_lists(inferencer, images, capsys):
    folder, _ = images
    inferencer.extract(str(folder), batch_size=2)
    assert '5/5' in capsys.readouterr().err
    inferencer.extract(str(folder), batch_size=2, progress=False)
    inferencer.extract(str(folder), batch_size=8)  # one batch
    assert '5/5' not in capsys.readouterr().err


def test_search_ranks_the_same_image_first(inferencer, images):
    folder, arrays = images
    results = inferencer.search(
        [str(folder / '02.png'), arrays[4]], str(folder), topk=3,
        progress=False)
    assert len(results) == 2 and all(len(r) == 3 for r in results)
    first = results[0][0]
    assert first['index'] == 2
    assert first['path'] == str(folder / '02.png')
    assert first['distance'] == pytest.approx(0, abs=1e-5)
    assert results[1][0]['index'] == 4
    for r in results:
        d = [x['distance'] for x in r]
        assert d == sorted(d)
    # topk larger than the gallery; arrays have no path.
    res = inferencer.search(arrays[0], arrays[:2], topk=10, progress=False)
    assert [x['index'] for x in res[0]][0] == 0 and len(res[0]) == 2
    assert res[0][0]['path'] is None


def test_bad_inputs_name_the_file(inferencer, images, tmp_path):
    folder, _ = images
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(ValueError, match='missing.jpg'):
        inferencer.extract([str(folder / '00.png'), missing], progress=False)
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'\x89PNG not really')
    with pytest.raises(ValueError, match='corrupt.png'):
        inferencer.extract(str(corrupt), progress=False)
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='empty'):
        inferencer.extract(str(empty))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        inferencer.extract(np.zeros((4, 4), np.uint8))
    with pytest.warns(UserWarning, match='corrupt.png'):
        feats = inferencer.extract(
            [str(corrupt), str(folder / '00.png'), missing],
            on_error='skip', progress=False)
    assert feats.shape == (1, 512)
    assert inferencer.skipped == [str(corrupt), missing]


def test_checkpoint_is_loaded_safely(ckpt, tmp_path, capsys):
    evil = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=ckpt[1], x=_Evil()), evil)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        ReIDInferencer(CONFIG, evil, device='cpu')
    assert 'pwned' not in capsys.readouterr().out
    partial = str(tmp_path / 'partial.pth')
    torch.save(dict(state_dict={'neck.bn.weight': torch.ones(512)}), partial)
    with pytest.raises(CheckpointMismatchError, match='partial.pth'):
        ReIDInferencer(CONFIG, partial, device='cpu')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        ReIDInferencer('nope.py')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu(ckpt, inferencer, images):
    folder, arrays = images
    gpu = ReIDInferencer(CONFIG, ckpt[0], device='cuda')
    assert next(gpu.model.parameters()).is_cuda
    feats = gpu.extract(str(folder), progress=False)
    assert feats.device.type == 'cpu'
    torch.testing.assert_close(
        feats, inferencer.extract(arrays, progress=False), atol=1e-3,
        rtol=1e-3)
