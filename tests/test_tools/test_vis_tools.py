# Copyright (c) jclreid contributors. All rights reserved.
"""tools/infer.py, tools/visualization/vis_ranked_list.py and
vis_features.py as subprocesses on tiny generated data."""
import os
import os.path as osp
import pickle
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

from jclreid.registry import DATASETS, METRICS, MODELS
from jclreid.structures import ReIDDataSample
from jclreid.utils.safe_pickle import UnsafePickleError
from jclreid.visualization import GREEN, QUERY_COLOUR, RED

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')
TOOLS = osp.join(ROOT, 'tools')
GAP = 4


def _run(args, cwd, check=True):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _run_inline(args, monkeypatch):
    """Run a tool in this process (fast; for the error paths)."""
    monkeypatch.setattr(sys, 'argv', [args[0]] + args[1:])
    monkeypatch.syspath_prepend(TOOLS)
    runpy.run_path(args[0], run_name='__main__')


def _colour(img, top, col, cell_w, title_h=0):
    """BGR colour of the frame of cell ``col`` in the row starting at
    ``top`` (one pixel inside the corner)."""
    x = GAP + col * (cell_w + GAP)
    return tuple(int(v) for v in img[top + title_h + 1, x + 1])


def _title_height(img):
    """Rows above the first frame pixel of the query cell."""
    column = img[:, GAP + 1]
    rows = np.flatnonzero((column == QUERY_COLOUR).all(axis=1))
    return int(rows[0]) - GAP - 1


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Tiny synthetic persons (Market-1501 layout), a randomly initialised
    checkpoint holding pseudo labels, and the train set size."""
    root = tmp_path_factory.mktemp('vis')
    data_root = str(root / 'persons')
    dataset = DATASETS.build(
        dict(type='SyntheticReID', data_root=data_root, split='train',
             num_train_ids=4, num_test_ids=3, num_distractors=2,
             num_cameras=3))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    labels = torch.arange(len(dataset)) % 3
    labels[0] = -1
    ckpt = str(root / 'epoch_1.pth')
    save_checkpoint(
        dict(meta=dict(epoch=1), state_dict=model.state_dict(),
             pseudo_labels=dict(labels=labels, last_was_warmup=False)), ckpt)
    opts = [f'train_dataloader.dataset.data_root={data_root}'] + [
        f'train_dataloader.dataset.{k}'
        for k in ('num_train_ids=4', 'num_test_ids=3', 'num_distractors=2',
                  'num_cameras=3')
    ]
    return dict(root=root, data_root=data_root, ckpt=ckpt, opts=opts)


def test_infer(data, tmp_path):
    gallery = osp.join(data['data_root'], 'bounding_box_test')
    names = sorted(n for n in os.listdir(gallery) if not n.startswith('-1'))
    query = osp.join(gallery, names[0])
    out = str(tmp_path / 'ranked.png')
    proc = _run([
        osp.join(TOOLS, 'infer.py'), CONFIG, data['ckpt'], '--query', query,
        '--gallery', gallery, '--topk', '3', '--out', out, '--device', 'cpu',
        '--cell-size', '64', '32'
    ], cwd=str(tmp_path))
    lines = [ln.split() for ln in proc.stdout.splitlines()
             if ln.startswith('  ')]
    assert len(lines) == 3
    # The query itself is in the gallery: rank 1 at distance 0.
    assert lines[0][0] == '1' and float(lines[0][1]) < 1e-4
    assert lines[0][2] == query
    dists = [float(ln[1]) for ln in lines]
    assert dists == sorted(dists)
    img = cv2.imread(out)
    assert img is not None
    assert img.shape[1] == GAP + 4 * (32 + GAP)
    title_h = _title_height(img)
    assert _colour(img, GAP, 0, 32, title_h) == QUERY_COLOUR
    assert _colour(img, GAP, 1, 32, title_h) == GREEN  # same identity
    qid = names[0].split('_')[0]
    for col, line in enumerate(lines, 1):
        same = osp.basename(line[2]).split('_')[0] == qid
        assert _colour(img, GAP, col, 32, title_h) == (GREEN if same else RED)


def test_infer_bad_paths(data, tmp_path, monkeypatch):
    gallery = tmp_path / 'gallery'
    gallery.mkdir()
    (gallery / '0001_c1s1_000001_00.jpg').write_bytes(b'not a jpeg')
    src = osp.join(data['data_root'], 'query')
    query = osp.join(src, sorted(os.listdir(src))[0])
    out = str(tmp_path / 'r.png')
    with pytest.raises(ValueError, match='0001_c1s1_000001_00.jpg'):
        _run_inline([
            osp.join(TOOLS, 'infer.py'), CONFIG, data['ckpt'], '--query',
            query, '--gallery', str(gallery), '--out', out, '--device', 'cpu'
        ], monkeypatch)
    with pytest.raises(SystemExit, match='missing.jpg'):
        _run_inline([
            osp.join(TOOLS, 'infer.py'), CONFIG, data['ckpt'], '--query',
            str(tmp_path / 'missing.jpg'), '--gallery', str(gallery), '--out',
            out
        ], monkeypatch)
    assert not osp.exists(out)


def _write_dump(tmp_path):
    """A DumpReIDRanking file for 2 queries x 4 gallery images. Query 0
    (pid 2) ranks its own identity first (AP 1); query 1 (pid 1) ranks
    pids 3 and 4 before its match (AP 1/3)."""
    folder = tmp_path / 'imgs'
    folder.mkdir()
    # (pid, camid, is_query, feature)
    rows = [(2, 0, True, [0, 1, 0]), (1, 0, True, [1, 0, 0]),
            (1, 1, False, [0.2, 0, 1]), (3, 1, False, [1, 0.1, 0]),
            (2, 1, False, [0, 1, 0.1]), (4, 1, False, [0.5, 0.5, 0.5])]
    samples = []
    for idx, (pid, cam, is_query, feat) in enumerate(rows):
        path = str(folder / f'{idx}.png')
        cv2.imwrite(path, np.full((32, 16, 3), 40 * idx, np.uint8))
        s = ReIDDataSample(metainfo=dict(
            pid=pid, camid=cam, is_query=is_query, sample_idx=idx,
            img_path=path))
        s.set_pred_feature(torch.tensor(feat, dtype=torch.float32))
        samples.append(s.to_dict())
    out = str(tmp_path / 'dump.pkl')
    metric = METRICS.build(dict(type='DumpReIDRanking', out_file=out))
    metric.process(None, samples)
    metric.evaluate(len(samples))
    return out


def test_vis_ranked_list(tmp_path, monkeypatch, capsys):
    dump = _write_dump(tmp_path)
    out = str(tmp_path / 'lists.png')
    for worst_first in (True, False):
        args = [
            osp.join(TOOLS, 'visualization', 'vis_ranked_list.py'), dump,
            '--out', out, '--topk', '3', '--cell-size', '32', '16'
        ]
        if worst_first:  # as a user runs it
            stdout = _run(args + ['--worst-first'], cwd=str(tmp_path)).stdout
        else:
            _run_inline(args, monkeypatch)
            stdout = capsys.readouterr().out
        assert '2 queries x top-3' in stdout
        img = cv2.imread(out)
        assert img.shape[1] == GAP + 4 * (16 + GAP)
        title_h = _title_height(img)
        row_h = (img.shape[0] - GAP - title_h) // 2
        good, bad = (GAP + row_h, GAP) if worst_first else (GAP,
                                                            GAP + row_h)
        assert _colour(img, good, 0, 16, title_h) == QUERY_COLOUR
        assert _colour(img, good, 1, 16, title_h) == GREEN
        assert [_colour(img, bad, c, 16, title_h)
                for c in (1, 2, 3)] == [RED, RED, GREEN]


class _Evil:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_vis_ranked_list_refuses_crafted_pickle(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    crafted = tmp_path / 'crafted.pkl'
    crafted.write_bytes(
        pickle.dumps(dict(features=np.zeros((1, 2)), x=_Evil(marker))))
    with pytest.raises(UnsafePickleError, match=r'crafted\.pkl.*system'):
        _run_inline([
            osp.join(TOOLS, 'visualization', 'vis_ranked_list.py'),
            str(crafted), '--out', str(tmp_path / 'x.png')
        ], monkeypatch)
    assert not marker.exists()
    assert not (tmp_path / 'x.png').exists()


def test_vis_features(data, tmp_path, monkeypatch):
    dump = _write_dump(tmp_path)
    out = str(tmp_path / 'tsne.png')
    proc = _run([
        osp.join(TOOLS, 'visualization', 'vis_features.py'), '--dump', dump,
        '--color-by', 'camid', '--out', out
    ], cwd=str(tmp_path))
    assert '6 features, 2 cameras' in proc.stdout
    img = cv2.imread(out)
    assert img.shape == (560, 640, 3)
    # Pseudo labels come from the checkpoint (train set); a dump has none.
    with pytest.raises(SystemExit, match='pseudo labels'):
        _run_inline([
            osp.join(TOOLS, 'visualization', 'vis_features.py'), '--dump',
            dump, '--color-by', 'label', '--out', out
        ], monkeypatch)
    out2 = str(tmp_path / 'tsne_label.png')
    proc = _run([
        osp.join(TOOLS, 'visualization', 'vis_features.py'), CONFIG,
        data['ckpt'], '--split', 'train', '--color-by', 'label', '--out',
        out2, '--device', 'cpu', '--cfg-options'
    ] + data['opts'], cwd=str(tmp_path))
    assert '3 pseudo labels, 1 outliers' in proc.stdout
    assert cv2.imread(out2).shape == (560, 640, 3)
