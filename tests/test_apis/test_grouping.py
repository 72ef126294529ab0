# Copyright (c) jclreid contributors. All rights reserved.
"""jclreid.apis.grouping: group ordering and centre distances, the feature
cache and its key, the CSV, the contact sheets and index.html."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from jclreid.apis import grouping
from jclreid.clustering import CameraAwareFilter
from jclreid.evaluation.functional.clustering import clustering_agreement


def _blobs(num_groups=4, per_group=(9, 7, 5, 5), dim=16, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.linalg.qr(rng.randn(dim, dim))[0][:num_groups]
    feats, truth = [], []
    for g, n in enumerate(per_group):
        x = centres[g] + 0.05 * rng.randn(n, dim)
        feats.append(x / np.linalg.norm(x, axis=1, keepdims=True))
        truth += [g] * n
    return np.concatenate(feats).astype(np.float32), np.asarray(truth)


def _cfg(eps=0.5, filters=True):
    gen = dict(
        type='LabelGenerator',
        distance=dict(type='JaccardDistance', k1=6, k2=2),
        clusterer=dict(type='DBSCANClusterer', eps=eps, min_samples=3),
        filters=[dict(type='CameraAwareFilter', min_cameras=2)]
        if filters else [])
    return Config(dict(default_hooks=dict(pseudo_label=dict(
        type='PseudoLabelHook', label_generator=gen))))


def test_order_groups_largest_first():
    labels = np.array([5, 2, 2, -1, 5, 5, 7, 2, 9, 9, 9])
    # sizes: 5 -> 3 (first at 0), 2 -> 3 (first at 1), 9 -> 3, 7 -> 1
    assert grouping.order_groups(labels).tolist() == [
        0, 1, 1, -1, 0, 0, 3, 1, 2, 2, 2
    ]
    assert grouping.order_groups(np.array([-1, -1])).tolist() == [-1, -1]


def test_group_features_recovers_blobs_and_distances():
    feats, truth = _blobs()
    gen, notes = grouping.build_label_generator(
        _cfg(), use_camera_filter=False)
    assert not any(isinstance(f, CameraAwareFilter) for f in gen.filters)
    assert any('CameraAwareFilter skipped' in n for n in notes)
    labels, dist, summary = grouping.group_features(feats, gen)
    agree = clustering_agreement(truth, labels)
    assert agree['ari'] > 0.99, agree
    sizes = np.bincount(labels[labels >= 0])
    assert (np.diff(sizes) <= 0).all()  # largest group first
    assert summary['num_clusters'] == sizes.size == 4
    inliers = labels >= 0
    assert np.isnan(dist[~inliers]).all()
    assert (dist[inliers] >= -1e-6).all() and (dist[inliers] < 0.1).all()
    # The distance is 1 - cos to the normalised group mean.
    g0 = feats[labels == 0]
    c = g0.mean(0) / np.linalg.norm(g0.mean(0))
    np.testing.assert_allclose(dist[labels == 0], 1 - g0 @ c, atol=1e-5)


def test_eps_override_and_camera_filter_kept():
    gen, notes = grouping.build_label_generator(_cfg(), eps=0.25)
    assert gen.clusterer.eps == 0.25 and notes == ['clusterer eps set to 0.25']
    assert any(isinstance(f, CameraAwareFilter) for f in gen.filters)
    # The config itself is not changed.
    cfg = _cfg()
    grouping.build_label_generator(cfg, eps=0.9)
    assert cfg.default_hooks.pseudo_label.label_generator.clusterer.eps == \
        0.5


def test_cache_roundtrip_and_key(tmp_path):
    files = []
    for i in range(3):
        p = tmp_path / f'{i}.png'
        p.write_bytes(b'x' * (i + 1))
        files.append(str(p))
    key = grouping.features_cache_key('abc', dict(type='JCL'), [], files)
    assert key == grouping.features_cache_key('abc', dict(type='JCL'), [],
                                              files)
    # Another checkpoint, model, pipeline, file list, size or mtime.
    others = [
        grouping.features_cache_key('abd', dict(type='JCL'), [], files),
        grouping.features_cache_key('abc', dict(type='X'), [], files),
        grouping.features_cache_key('abc', dict(type='JCL'),
                                    [dict(type='Resize')], files),
        grouping.features_cache_key('abc', dict(type='JCL'), [], files[:2]),
    ]
    st = os.stat(files[0])
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    others.append(
        grouping.features_cache_key('abc', dict(type='JCL'), [], files))
    assert len({key, *others}) == len(others) + 1

    feats = np.random.RandomState(0).randn(2, 4).astype(np.float32)
    path = str(tmp_path / 'features.npz')
    grouping.save_cached_features(path, key, feats, files[:2], [files[2]])
    out = grouping.load_cached_features(path, key)
    assert out is not None
    np.testing.assert_array_equal(out[0], feats)
    assert out[1] == files[:2] and out[2] == [files[2]]
    assert grouping.load_cached_features(path, others[0]) is None
    assert grouping.load_cached_features(str(tmp_path / 'no.npz'), key) is \
        None
    (tmp_path / 'bad.npz').write_bytes(b'not a zip')
    assert grouping.load_cached_features(str(tmp_path / 'bad.npz'), key) is \
        None


def test_csv_sheets_and_index(tmp_path):
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    names = ['a.png', 'b&<c>.png', 'd "e".png', 'f.png', 'g.png', 'h.png',
             'i.png']
    paths = []
    for k, n in enumerate(names):
        p = str(img_dir / n)
        cv2.imwrite(p, np.full((20, 10, 3), 30 * k, np.uint8))
        paths.append(p)
    labels = np.array([1, 0, 0, -1, 0, 1, 0])
    dist = np.array([0.2, 0.3, 0.1, np.nan, 0.05, 0.1, 0.2])
    out = tmp_path / 'out'
    out.mkdir()
    csv_path = str(out / grouping.CSV_FILE)
    cams = ['1', '2', '2', '1', '3', '1', '2']
    grouping.write_groups_csv(csv_path, paths, labels, dist, cams)
    rows = grouping.read_groups_csv(csv_path)
    assert [osp.basename(r['path']) for r in rows] == [
        'g.png', 'd "e".png', 'i.png', 'b&<c>.png',  # group 0 by distance
        'h.png', 'a.png', 'f.png'
    ]
    assert [r['group'] for r in rows] == [0, 0, 0, 0, 1, 1, -1]
    assert rows[-1]['distance'] is None and rows[0]['distance'] == 0.05
    assert rows[0]['camera'] == '3'

    sheets = grouping.write_contact_sheets(
        str(out), paths, labels, dist, cams, cell_size=(32, 16),
        max_per_sheet=3)
    files = [s['file'] for s in sheets]
    assert files == [
        'group_0000.png', 'group_0000_p2.png', 'group_0001.png',
        'outliers.png'
    ]
    for f in files:
        img = cv2.imread(str(out / f))
        assert img is not None and img.ndim == 3
    grouping.write_index_html(str(out), sheets, paths,
                              dict(folder=str(img_dir), num_groups=2))
    page = (out / grouping.INDEX_FILE).read_text()
    for f in files:
        assert f'src="{f}"' in page
    assert 'group 0: 4 images, page 2/2' in page
    assert 'b&amp;&lt;c&gt;.png' in page and 'b&<c>' not in page
    assert 'd &quot;e&quot;.png' in page
    assert 'href="../imgs/b%26%3Cc%3E.png"' in page  # relative, quoted


def test_truth_agreement(tmp_path):
    folder = str(tmp_path)
    paths = [osp.join(folder, 'a', f'{pid:04d}_{k}.jpg')
             for pid in (1, 2, 3) for k in range(3)]
    perfect = np.repeat([2, 0, 1], 3)
    agree = grouping.truth_agreement(paths, perfect, folder, r'(\d{4})_')
    assert agree['nmi'] == pytest.approx(1) and agree['ari'] == \
        pytest.approx(1)
    merged = np.repeat([0, 0, 1], 3)
    agree = grouping.truth_agreement(paths, merged, folder, r'(\d{4})_')
    assert agree['pair_recall'] == 1 and agree['pair_precision'] == \
        pytest.approx(9 / 18)
    # By folder: every image in 'a', one class.
    one = grouping.truth_agreement(paths, perfect, folder, r'^([^/]+)/')
    assert one['pair_precision'] == 1
    with pytest.raises(ValueError, match='0001_0.jpg'):
        grouping.truth_agreement(paths, perfect, folder, r'_(x)')
    with pytest.raises(ValueError, match='one group'):
        grouping.truth_agreement(paths, perfect, folder, r'\d')
