# Copyright (c) jclreid contributors. All rights reserved.
"""tools/group_images.py end to end on the embedded synthetic persons and
scenes written as unlabeled folders, with random-initialised checkpoints:
groups agree with the hidden truth (far better than a shuffled grouping),
the outputs exist and decode, unreadable files are named, and a rerun with
another eps reuses the cached features while a changed checkpoint does
not."""
import csv
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from jclreid.apis import ReIDInferencer
from jclreid.evaluation.functional.clustering import clustering_agreement
from jclreid.registry import MODELS

from _load_module import load_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PERSON_CFG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_unlabeled.py')
SCENE_CFG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_unlabeled_scenes.py')


@pytest.fixture(scope='module')
def tool():
    return load_module('tools/group_images.py')


def _checkpoint(config, path, seed):
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from jclreid.datasets.synthetic import generate_persons, generate_scenes
    root = tmp_path_factory.mktemp('group_images')
    generate_persons(
        str(root / 'market'), num_train_ids=12, num_test_ids=1,
        num_distractors=0, seed=1)
    persons = str(root / 'market' / 'bounding_box_train')
    scenes = str(root / 'scenes')
    generate_scenes(
        scenes, classes=('forest', 'water', 'farmland', 'residential'),
        images_per_class=12, img_size=48)
    return dict(
        root=root,
        persons=persons,
        scenes=scenes,
        person_ckpt=_checkpoint(PERSON_CFG, root / 'person.pth', 0),
        person_ckpt2=_checkpoint(PERSON_CFG, root / 'person2.pth', 1),
        scene_ckpt=_checkpoint(SCENE_CFG, root / 'scene.pth', 0))


def _snapshot(folder):
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            p = osp.join(dirpath, f)
            st = os.stat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


def _rows(out):
    with open(osp.join(out, 'groups.csv'), newline='') as f:
        return list(csv.DictReader(f))


def _agreement(rows, truth_of):
    truth = [truth_of(r['path']) for r in rows]
    groups = np.array([int(r['group']) for r in rows])
    _, truth = np.unique(truth, return_inverse=True)
    shuffled = np.random.RandomState(0).permutation(groups)
    return (clustering_agreement(truth, groups),
            clustering_agreement(truth, shuffled))


def _check_outputs(out, rows):
    sheets = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    groups = sorted({int(r['group']) for r in rows if int(r['group']) >= 0})
    assert [f'group_{g:04d}.png' for g in groups] == \
        [s for s in sheets if s.startswith('group_')]
    has_outliers = any(r['group'] == '-1' for r in rows)
    assert ('outliers.png' in sheets) == has_outliers
    page = open(osp.join(out, 'index.html'), encoding='utf-8').read()
    for s in sheets:
        img = cv2.imread(osp.join(out, s))
        assert img is not None and img.shape[2] == 3, s
        assert f'src="{s}"' in page
    for g in groups:
        size = sum(int(r['group']) == g for r in rows)
        assert f'group {g}: {size} images' in page
    return sheets


def test_persons_end_to_end_and_cache(tool, data, tmp_path, monkeypatch,
                                      capsys):
    before = _snapshot(data['persons'])
    out = str(tmp_path / 'out')
    calls = []
    extract = ReIDInferencer.extract

    def counting(self, *args, **kwargs):
        calls.append(1)
        return extract(self, *args, **kwargs)

    monkeypatch.setattr(ReIDInferencer, 'extract', counting)
    args = [
        PERSON_CFG, data['person_ckpt'], data['persons'], '--out', out,
        '--cam-regex', r'_c(\d+)s', '--device', 'cpu', '--eps', '0.5'
    ]
    tool.main(args)
    assert len(calls) == 1
    rows = _rows(out)
    assert len(rows) == len(before)
    assert {r['camera'] for r in rows} <= set('123456')
    got, shuffled = _agreement(rows, lambda p: osp.basename(p)[:4])
    # Even random features carry identity (colours): far above chance.
    assert got['ari'] > shuffled['ari'] + 0.1, (got, shuffled)
    assert got['pair_precision'] > shuffled['pair_precision'] + 0.08
    _check_outputs(out, rows)
    assert 'extracted' in capsys.readouterr().out

    # Another eps: the cached features, no extraction.
    tool.main(args[:-1] + ['0.3'])
    assert len(calls) == 1
    assert 'read from' in capsys.readouterr().out
    rows_03 = _rows(out)
    assert sorted(r['path'] for r in rows_03) == sorted(
        r['path'] for r in rows)
    assert sum(r['group'] == '-1' for r in rows_03) >= sum(
        r['group'] == '-1' for r in rows)  # smaller eps, more outliers
    _check_outputs(out, rows_03)  # the sheets of eps=0.5 are gone

    # Another checkpoint: extracted again.
    args[1] = data['person_ckpt2']
    tool.main(args)
    assert len(calls) == 2
    # A changed image list (a new file): extracted again.
    folder = str(tmp_path / 'copy')
    shutil.copytree(data['persons'], folder)
    args[2] = folder
    tool.main(args)
    assert len(calls) == 3
    shutil.copy(osp.join(folder, sorted(os.listdir(folder))[0]),
                osp.join(folder, 'new_c1s1_1.jpg'))
    tool.main(args)
    assert len(calls) == 4
    assert _snapshot(data['persons']) == before  # never modified


def test_persons_without_cameras_skip_the_camera_filter(tool, data,
                                                        tmp_path, capsys):
    out = str(tmp_path / 'out')
    tool.main([
        PERSON_CFG, data['person_ckpt'], data['persons'], '--out', out,
        '--eps', '0.5'
    ])
    text = capsys.readouterr().out
    assert 'no cameras' in text and 'CameraAwareFilter skipped' in text
    rows = _rows(out)
    assert all(r['camera'] == '' for r in rows)
    page = open(osp.join(out, 'index.html'), encoding='utf-8').read()
    assert 'CameraAwareFilter skipped' in page


def test_scenes_end_to_end(tool, data, tmp_path):
    out = str(tmp_path / 'out')
    tool.main([
        SCENE_CFG, data['scene_ckpt'], data['scenes'], '--out', out,
        '--max-per-sheet', '10', '--batch-size', '16', '--truth-regex',
        '^([^/]+)/'
    ])
    rows = _rows(out)
    assert len(rows) == 48
    got, shuffled = _agreement(rows,
                               lambda p: osp.basename(osp.dirname(p)))
    with open(osp.join(out, 'summary.json')) as f:
        assert json.load(f)['agreement'] == pytest.approx(got)
    assert got['nmi'] > shuffled['nmi'] + 0.2, (got, shuffled)
    assert got['ari'] > shuffled['ari'] + 0.1, (got, shuffled)
    sheets = _check_outputs_paginated(out, rows)
    assert sheets


def _check_outputs_paginated(out, rows):
    page = open(osp.join(out, 'index.html'), encoding='utf-8').read()
    sheets = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    for s in sheets:
        assert cv2.imread(osp.join(out, s)) is not None
        assert f'src="{s}"' in page
    sizes = np.bincount([int(r['group']) + 1 for r in rows])
    # A group of more than 10 images has ceil(size / 10) pages.
    for g, size in enumerate(sizes[1:]):
        pages = [s for s in sheets if s.startswith(f'group_{g:04d}')]
        assert len(pages) == -(-size // 10), (g, size, pages)
    return sheets


def test_unreadable_files_skip_or_raise(tool, data, tmp_path, capsys):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for n in sorted(os.listdir(data['persons']))[:12]:
        shutil.copy(osp.join(data['persons'], n), str(folder / n))
    (folder / 'broken_c1s1_9.jpg').write_bytes(b'not a jpeg at all')
    out = str(tmp_path / 'out')
    base = [
        PERSON_CFG, data['person_ckpt'], str(folder), '--out', out,
        '--eps', '0.5', '--cam-regex', r'_c(\d)'
    ]
    with pytest.raises(SystemExit) as err:
        tool.main(base)
    assert 'broken_c1s1_9.jpg' in str(err.value)
    assert not osp.exists(osp.join(out, 'groups.csv'))
    with pytest.warns(UserWarning, match='broken_c1s1_9.jpg'):
        tool.main(base + ['--on-error', 'skip'])
    assert 'broken_c1s1_9.jpg' in capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == 12
    assert not any('broken' in r['path'] for r in rows)
    page = open(osp.join(out, 'index.html'), encoding='utf-8').read()
    assert 'unreadable' in page and 'broken_c1s1_9.jpg' in page
    # From the cache, raise still stops and skip still names it.
    with pytest.raises(SystemExit, match='broken_c1s1_9.jpg'):
        tool.main(base)


def test_bad_arguments(tool, data, tmp_path):
    with pytest.raises(SystemExit, match='inside the image folder'):
        tool.main([
            PERSON_CFG, data['person_ckpt'], data['persons'], '--out',
            osp.join(data['persons'], 'groups')
        ])
    assert not osp.exists(osp.join(data['persons'], 'groups'))
    with pytest.raises(SystemExit, match='nowhere'):
        tool.main([
            PERSON_CFG, data['person_ckpt'],
            str(tmp_path / 'nowhere'), '--out',
            str(tmp_path / 'out')
        ])
    with pytest.raises(SystemExit, match='missing.pth'):
        tool.main([
            PERSON_CFG,
            str(tmp_path / 'missing.pth'), data['persons'], '--out',
            str(tmp_path / 'out')
        ])


@pytest.fixture(scope='module')
def to_folder_tool():
    return load_module('tools/misc/groups_to_folder.py')


@pytest.mark.parametrize('cameras', [True, False])
def test_groups_to_folder_reid_layout(to_folder_tool, data, tmp_path,
                                      cameras):
    from jclreid.apis.grouping import write_groups_csv
    from jclreid.datasets import ReIDFolder
    before = _snapshot(data['persons'])
    paths = sorted(
        osp.join(data['persons'], n) for n in os.listdir(data['persons']))
    # A corrected grouping: the hidden identities, a few dropped (-1).
    labels = np.array([int(osp.basename(p)[:4]) for p in paths])
    labels[::7] = -1
    cams = [osp.basename(p).split('_')[1][1] for p in paths]
    csv_path = str(tmp_path / 'groups.csv')
    write_groups_csv(csv_path, paths, labels, np.zeros(len(paths)),
                     cams if cameras else None)
    out = str(tmp_path / 'labelled')
    to_folder_tool.main([csv_path, out])
    kwargs = {} if cameras else dict(
        pattern=r'(?P<pid>-?\d+)_', has_cameras=False)
    ds = ReIDFolder(data_root=out, split='train', **kwargs)
    assert len(ds) == (labels >= 0).sum()
    assert sorted(ds.get_pids().tolist()) == sorted(labels[labels >= 0])
    if cameras:  # camera names '1'..'6' -> c1..c6 -> camid 0..5
        want = sorted(int(c) - 1 for c, g in zip(cams, labels) if g >= 0)
        assert sorted(ds.get_camids().tolist()) == want
    with open(osp.join(out, 'mapping.csv')) as f:
        mapping = list(csv.DictReader(f))
    for row in mapping:  # every copy is byte-identical to its source
        with open(row['source'], 'rb') as a, \
                open(osp.join(out, row['copy']), 'rb') as b:
            assert a.read() == b.read()
    assert _snapshot(data['persons']) == before  # copied, never moved
    with pytest.raises(SystemExit, match='not empty'):
        to_folder_tool.main([csv_path, out])


def test_groups_to_folder_scene_layout(to_folder_tool, data, tmp_path):
    from jclreid.apis.grouping import write_groups_csv
    from jclreid.datasets import SceneFolder
    paths, labels = [], []
    for k, cls in enumerate(sorted(os.listdir(data['scenes']))):
        for n in sorted(os.listdir(osp.join(data['scenes'], cls))):
            paths.append(osp.join(data['scenes'], cls, n))
            labels.append(k)
    csv_path = str(tmp_path / 'groups.csv')
    write_groups_csv(csv_path, paths, np.array(labels),
                     np.zeros(len(paths)))
    out = str(tmp_path / 'classes')
    to_folder_tool.main([csv_path, out, '--layout', 'scenes'])
    ds = SceneFolder(data_root=out, split='train', train_ratio=0.5)
    assert ds.metainfo['classes'] == ('0000', '0001', '0002', '0003')
    assert len(ds) == len(paths) // 2
