# Copyright (c) jclreid contributors. All rights reserved.
"""UnlabeledFolder: any folder of images, no ids, cameras from a regex or
the sub-folder; the unlabeled configs take the folder from one
``--cfg-options`` override and build without evaluation."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from jclreid.datasets import UnlabeledFolder
from jclreid.datasets.base_reid_dataset import list_images
from jclreid.registry import DATASETS, HOOKS, TRANSFORMS

from _load_module import load_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _write(path, size=(16, 8), value=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full(size + (3, ), value, np.uint8)
    ext = osp.splitext(path)[1].lower()
    ok, buf = cv2.imencode('.png' if ext in ('.png', '') else ext, img)
    assert ok
    with open(path, 'wb') as f:
        f.write(buf.tobytes())


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / 'crops'
    for rel in ('a_c1_0.jpg', 'b_c2_0.PNG', 'sub/c_c10_0.bmp',
                'sub/deeper/d_c2_1.tif', 'sub/e_c1_2.jpeg'):
        _write(str(root / rel))
    (root / 'notes.txt').write_text('not an image')
    return str(root)


def test_recursive_listing_no_ids_no_cameras(folder):
    ds = UnlabeledFolder(data_root=folder)
    rels = sorted(
        osp.relpath(ds.get_data_info(i)['img_path'], folder).replace(
            os.sep, '/') for i in range(len(ds)))
    assert rels == [
        'a_c1_0.jpg', 'b_c2_0.PNG', 'sub/c_c10_0.bmp',
        'sub/deeper/d_c2_1.tif', 'sub/e_c1_2.jpeg'
    ]
    assert (ds.get_pids() == -1).all()
    assert (ds.get_camids() == 0).all()
    assert not ds.has_cameras
    assert ds.metainfo['num_pids'] == 0
    flat = UnlabeledFolder(data_root=folder, recursive=False)
    assert len(flat) == 2


def test_list_images_keyword_is_backward_compatible(folder):
    assert list_images(folder) == ['a_c1_0.jpg', 'b_c2_0.PNG']
    deep = list_images(folder, recursive=True)
    assert len(deep) == 5 and osp.join('sub', 'deeper', 'd_c2_1.tif') in deep
    assert deep == sorted(deep)


def test_cameras_from_regex_are_contiguous_and_numeric(folder):
    ds = UnlabeledFolder(data_root=folder, cam_regex=r'_c(\d+)_')
    assert ds.metainfo['cameras'] == ('1', '2', '10')  # numeric order
    cams = {
        osp.basename(ds.get_data_info(i)['img_path']): ds.get_camids()[i]
        for i in range(len(ds))
    }
    assert cams == {
        'a_c1_0.jpg': 0, 'b_c2_0.PNG': 1, 'c_c10_0.bmp': 2,
        'd_c2_1.tif': 1, 'e_c1_2.jpeg': 0
    }
    assert ds.has_cameras and ds.metainfo['num_cameras'] == 3


def test_cameras_from_folder(tmp_path):
    root = tmp_path / 'cams'
    for rel in ('camB/x/1.png', 'camA/2.png', 'camA/3.jpg'):
        _write(str(root / rel))
    ds = UnlabeledFolder(data_root=str(root), camera_from='folder')
    assert ds.metainfo['cameras'] == ('camA', 'camB')
    assert sorted(ds.get_camids().tolist()) == [0, 0, 1]
    _write(str(root / 'top.png'))
    with pytest.raises(ValueError, match='top.png'):
        UnlabeledFolder(data_root=str(root), camera_from='folder')


def test_clear_errors(tmp_path, folder):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        UnlabeledFolder(data_root=missing)
    empty = tmp_path / 'empty'
    (empty / 'sub').mkdir(parents=True)
    (empty / 'sub' / 'readme.md').write_text('x')
    with pytest.raises(FileNotFoundError, match='no image in .*empty'):
        UnlabeledFolder(data_root=str(empty))
    with pytest.raises(ValueError, match='b_c2_0.PNG'):
        UnlabeledFolder(data_root=folder, cam_regex=r'_c(1\d?)_')
    for bad in (r'_c\d+', r'_(c)(\d+)'):
        with pytest.raises(ValueError, match='exactly one group'):
            UnlabeledFolder(data_root=folder, cam_regex=bad)
    with pytest.raises(ValueError, match='not a valid regular expression'):
        UnlabeledFolder(data_root=folder, cam_regex='(')
    with pytest.raises(ValueError, match='not both'):
        UnlabeledFolder(
            data_root=folder, cam_regex=r'_c(\d+)', camera_from='folder')
    with pytest.raises(ValueError, match='camera_from'):
        UnlabeledFolder(data_root=folder, camera_from='name')
    with pytest.raises(ValueError, match='split'):
        UnlabeledFolder(data_root=folder, split='query')


def test_scene_tiles_through_the_pipeline(tmp_path):
    from jclreid.datasets.synthetic import generate_scenes
    generate_scenes(
        str(tmp_path / 'tiles'), classes=('forest', 'water'),
        images_per_class=2, img_size=24)
    ds = DATASETS.build(
        dict(
            type='UnlabeledFolder',
            data_root=str(tmp_path / 'tiles'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(16, 16), keep_ratio=False),
                dict(type='PackReIDInputs')
            ]))
    assert len(ds) == 4
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 16, 16)
    assert sample['data_samples'].pid == -1


@pytest.fixture(scope='module')
def load_config():
    return load_module('tools/config_loader.py').load_config


@pytest.mark.parametrize('name', ['jcl_r18_unlabeled.py',
                                  'jcl_r18_unlabeled_scenes.py'])
def test_configs_take_the_folder_from_one_override(load_config, folder,
                                                   name):
    from mmengine.config import DictAction
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    # The documented command line, parsed as tools/train.py parses it.
    opts = parser.parse_args([
        '--cfg-options', f'train_dataloader.dataset.data_root={folder}'
    ]).cfg_options
    cfg = load_config(osp.join(ROOT, 'configs', 'jcl', name), opts)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(ds).__name__ == 'UnlabeledFolder' and len(ds) == 5
    assert ds.data_root == folder
    # No labels: no evaluation at all (mmengine wants all three None).
    for kind in ('val', 'test'):
        for field in ('dataloader', 'cfg', 'evaluator'):
            assert cfg.get(f'{kind}_{field}') is None
    assert not any(h['type'] == 'ValBeforeTrainHook'
                   for h in cfg.get('custom_hooks', []))
    # The pseudo-label hook has its own extraction pipeline, with a resize
    # (the user's images may have any size).
    hook = HOOKS.build(cfg.default_hooks.pseudo_label)
    steps = [t['type'] for t in hook.pipeline]
    assert steps[0] == 'LoadImageFromFile' and 'Resize' in steps
    for t in hook.pipeline + list(cfg.train_dataloader.dataset.pipeline):
        TRANSFORMS.build(t)
