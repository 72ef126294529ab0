# Copyright (c) jclreid contributors. All rights reserved.
"""Bad input a user can give, and the error each one gets: every message
names the file or field at fault and says what was expected."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
# Helpers of the dataset and clustering tests (``tests/`` is on sys.path:
# the test folders have no ``__init__.py``).
from test_clustering.test_label_generator import _blobs
from test_datasets.test_reid_datasets import _touch
from test_datasets.test_scene_folder import _make

from jclreid.engine.hooks import PseudoLabelHook
from jclreid.models import ReIDResNet
from jclreid.registry import DATASETS, MODELS, TRANSFORMS

MARKET_DIRS = ('bounding_box_train', 'query', 'bounding_box_test')


def _market(root, train_names):
    _touch(root / 'bounding_box_train', train_names)
    return dict(type='Market1501', data_root=str(root))


# ---------------------------------------------------------------- data root
def test_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.*does not exist'):
        DATASETS.build(
            dict(type='Market1501', data_root=str(tmp_path / 'nowhere')))


def test_missing_split_folder(tmp_path):
    (tmp_path / 'm').mkdir()
    with pytest.raises(FileNotFoundError,
                       match='bounding_box_train.*does not exist; expected'):
        DATASETS.build(dict(type='Market1501', data_root=str(tmp_path / 'm')))


def test_empty_split(tmp_path):
    (tmp_path / 'm' / 'bounding_box_train').mkdir(parents=True)
    with pytest.raises(FileNotFoundError,
                       match='no image in .*bounding_box_train'):
        DATASETS.build(dict(type='Market1501', data_root=str(tmp_path / 'm')))


# ------------------------------------------------------------- name parsing
@pytest.mark.parametrize('dataset', ['Market1501', 'DukeMTMCReID'])
@pytest.mark.parametrize('name,what', [
    ('-_c1s1_000001_00.jpg', 'does not match the pattern'),
    ('x001_c1s1_000001_00.jpg', 'does not match the pattern'),
    ('0001_c0s1_000001_00.jpg', 'camera field .0. is out of range'),
])
def test_market_style_names(tmp_path, dataset, name, what):
    cfg = _market(tmp_path / 'm', ['0001_c1s1_000002_00.jpg', name])
    with pytest.raises(ValueError) as err:
        DATASETS.build(dict(cfg, type=dataset))
    msg = str(err.value)
    assert name in msg and what.replace('.', "'") in msg
    assert 'expected names like' in msg


@pytest.mark.parametrize('line,what', [
    ('garbage', 'does not parse'),
    ('0000/0000_000_01_0303morning_0015_0.jpg x',
     "pid field 'x' is not an integer"),
    ('0000/0000_000_00_0303morning_0015_0.jpg 0',
     "camera field '00' is out of range"),
    ('0000/0000_000_xx_0303morning_0015_0.jpg 0',
     "camera field 'xx' is not an integer"),
    ('0000/0000.jpg 0', 'there is no camera field'),
])
def test_msmt17_list_lines(tmp_path, line, what):
    root = tmp_path / 'msmt'
    (root / 'train').mkdir(parents=True)
    (root / 'list_train.txt').write_text(
        '0000/0000_000_01_0303morning_0015_0.jpg 0\n' + line + '\n')
    (root / 'list_val.txt').write_text('')
    with pytest.raises(ValueError) as err:
        DATASETS.build(dict(type='MSMT17', data_root=str(root)))
    msg = str(err.value)
    assert 'line 2 of' in msg and 'list_train.txt' in msg and what in msg


# --------------------------------------------------------------- ReIDFolder
def test_reid_folder_needs_a_camid_group(tmp_path):
    root = tmp_path / 'crops'
    _touch(root / 'train', ['id1_cam1_a.png', 'id2_cam2_b.png'])
    with pytest.raises(ValueError) as err:
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root),
                 pattern=r'id(?P<pid>\d+)_cam(?P<cam>\d+)'))
    msg = str(err.value)
    assert 'no named group "camid"' in msg and "'cam'" in msg
    assert 'has_cameras=False' in msg
    with pytest.raises(ValueError, match='has_cameras=False but pattern'):
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root), has_cameras=False,
                 pattern=r'id(?P<pid>\d+)_cam(?P<camid>\d+)'))
    with pytest.raises(ValueError, match=r'id1_cam1_a.png.*camid field '
                       r"'1' is out of range \(must be >= 2\)"):
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root), camid_offset=2,
                 pattern=r'id(?P<pid>\d+)_cam(?P<camid>\d+)'))
    with pytest.raises(ValueError, match=r'id1_cam1_a.png.*pid field '
                       "'id1' is not an integer"):
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root),
                 pattern=r'(?P<pid>id\d+)_cam(?P<camid>\d+)'))


def test_reid_folder_without_cameras_is_explicit_and_logged(
        tmp_path, monkeypatch):
    root = tmp_path / 'crops'
    _touch(root / 'query', ['id1_a.png'])
    _touch(root / 'gallery', ['id1_b.png', 'id2_c.png'])
    logged = []
    monkeypatch.setattr('jclreid.datasets.reid_folder.print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    test = DATASETS.build(
        dict(type='ReIDFolder', data_root=str(root), split='test',
             has_cameras=False, pattern=r'id(?P<pid>\d+)'))
    # Query and gallery count as two cameras: evaluation keeps every match.
    assert test.get_camids().tolist() == [0, 1, 1]
    assert len(logged) == 1 and 'has_cameras=False' in logged[0][0]
    assert logged[0][1]['logger'] == 'current'


# -------------------------------------------------------------- SceneFolder
def test_one_class_scene_folder(tmp_path):
    _make(tmp_path / 'ucm', dict(forest=4))
    with pytest.raises(ValueError, match=r'ucm.*1 class folder .*forest.*'
                       'at least 2'):
        DATASETS.build(dict(type='SceneFolder',
                            data_root=str(tmp_path / 'ucm')))


# ------------------------------------------------------------------- images
def test_truncated_and_non_image_files(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    ok, buf = cv2.imencode('.png', np.zeros((16, 8, 3), np.uint8))
    truncated = tmp_path / 'truncated.png'
    truncated.write_bytes(buf.tobytes()[:len(buf) // 2])
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    for path in (truncated, text):
        with pytest.raises(OSError, match=f'{path.name}.*could not be '
                           'decoded'):
            load(dict(img_path=str(path)))
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(dict(img_path=str(tmp_path / 'gone.png')))


# ------------------------------------------------------------------- config
def test_unknown_type_and_misspelt_field():
    with pytest.raises(KeyError, match='ReIDResNett is not in'):
        MODELS.build(dict(type='ReIDResNett', depth=18))
    with pytest.raises(TypeError, match="ReIDResNet.*'dpeth'"):
        MODELS.build(dict(type='ReIDResNet', dpeth=18))


@pytest.mark.parametrize('field,value', [('interval', 1.5),
                                         ('warmup_epochs', True),
                                         ('batch_size', 8.0),
                                         ('num_workers', 0.5)])
def test_hook_integer_fields(field, value):
    with pytest.raises(TypeError,
                       match=f'PseudoLabelHook.{field} must be an int'):
        PseudoLabelHook(pipeline=[], **{field: value})


# -------------------------------------------------------------- input size
def test_input_smaller_than_the_network():
    plain = ReIDResNet(depth=18, wam=None)
    assert plain.min_input_size == (16, 16)
    with pytest.raises(ValueError, match='input size 16x8.*minimum 16x16'):
        plain(torch.zeros(1, 3, 16, 8))
    # A WAM after stage 3 (stride 16) needs 2 rows there for ratio 0.3.
    wam = ReIDResNet(depth=18, wam=dict(stages=(2, 3))).train()
    assert wam.min_input_size == (17, 16)
    with pytest.raises(ValueError, match='input size 16x16.*minimum 17x16'):
        wam(torch.zeros(2, 3, 16, 16))
    wam(torch.zeros(2, 3, 17, 16))
    assert wam.wam3.wave.last_stripe[1] - wam.wam3.wave.last_stripe[0] == 1


# ------------------------------------------------------------ zero clusters
def _refresh(hook, features, camids):
    dataset = SimpleNamespace(get_camids=lambda: camids)
    runner = SimpleNamespace(
        epoch=3,
        model=SimpleNamespace(head=None),
        train_dataloader=SimpleNamespace(dataset=dataset))
    hook.extract_features = lambda runner: torch.as_tensor(features)
    hook.refresh(runner)


def _hook(eps, min_samples=4):
    return PseudoLabelHook(
        pipeline=[],
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=10, k2=4),
            clusterer=dict(
                type='DBSCANClusterer', eps=eps, min_samples=min_samples),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)]))


def test_zero_clusters_from_the_clusterer():
    x, y = _blobs()
    with pytest.raises(RuntimeError) as err:
        _refresh(_hook(eps=0.01, min_samples=100), x, y % 2)
    msg = str(err.value)
    assert 'DBSCANClusterer(eps=0.01, min_samples=100) found no cluster' \
        in msg and 'increase its `eps`' in msg and 'epoch 3' in msg


def test_zero_clusters_after_the_camera_filter():
    x, y = _blobs()
    # Every blob is seen by one camera: DBSCAN finds 8 clusters, the
    # camera-aware filter removes all 8. Raising eps would not help.
    with pytest.raises(RuntimeError) as err:
        _refresh(_hook(eps=0.6), x, y % 3)
    msg = str(err.value)
    assert 'DBSCANClusterer(eps=0.6, min_samples=4) found 8 clusters' in msg
    assert 'CameraAwareFilter(min_cameras=2) removed 8' in msg
    assert 'raising eps will not help' in msg
    assert '3 camera ids' in msg and '`min_cameras`' in msg
