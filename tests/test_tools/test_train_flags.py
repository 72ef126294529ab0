# Copyright (c) jclreid contributors. All rights reserved.
"""tools/train.py --amp and --channels-last: the configs they build, the
refusal of AMP on a device mmengine's AmpOptimWrapper does not support,
and channels-last training computing what contiguous training does."""
import os.path as osp
import sys

import pytest
import torch

from jclreid.registry import MODELS

from _load_module import load_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')


@pytest.fixture(scope='module')
def train_tool():
    return load_module('tools/train.py')


def _cfg(tool, monkeypatch, *flags):
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, *flags])
    args = tool.parse_args()
    return tool.merge_args(tool.load_config(CONFIG, None, None), args)


def test_amp_selects_amp_optim_wrapper(train_tool, monkeypatch):
    cfg = _cfg(train_tool, monkeypatch, '--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert _cfg(train_tool, monkeypatch).optim_wrapper.type == 'OptimWrapper'
    # AMP is refused, naming the device, where mmengine cannot train it.
    for device in ('cpu', 'mps'):
        with pytest.raises(SystemExit, match=f"'{device}'"):
            train_tool.check_amp_device(cfg, device)
    train_tool.check_amp_device(cfg, 'cuda')
    train_tool.check_amp_device(_cfg(train_tool, monkeypatch), 'cpu')


@pytest.mark.skipif(torch.cuda.is_available(), reason='would train')
def test_amp_on_cpu_stops_before_the_runner(train_tool, monkeypatch, tmp_path):
    monkeypatch.setattr(
        sys, 'argv',
        ['train.py', CONFIG, '--amp', '--work-dir',
         str(tmp_path)])
    monkeypatch.setattr(train_tool.SafeCheckpointRunner, 'from_cfg',
                        lambda cfg: pytest.fail('the runner was built'))
    with pytest.raises(SystemExit, match="needs a CUDA.*'cpu'"):
        train_tool.main()


def test_channels_last_sets_the_data_preprocessor(train_tool, monkeypatch):
    cfg = _cfg(train_tool, monkeypatch, '--channels-last')
    pre = cfg.model.data_preprocessor
    assert pre.channels_last is True
    assert pre.type == 'ReIDDataPreprocessor' and len(pre.mean) == 3
    assert 'channels_last' not in _cfg(train_tool,
                                       monkeypatch).model.data_preprocessor


def _model(channels_last):
    """The r18 synthetic config's JCL (random initialisation)."""
    from mmengine.config import Config
    model = Config.fromfile(CONFIG).model
    model.data_preprocessor.channels_last = channels_last
    torch.manual_seed(0)
    return MODELS.build(model)


def test_channels_last_loss_equals_contiguous():
    from jclreid.structures import ReIDDataSample
    plain, nhwc = _model(False), _model(True)
    nhwc.load_state_dict(plain.state_dict())
    assert nhwc.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    assert plain.backbone.conv1.weight.is_contiguous()
    gen = torch.Generator().manual_seed(1)
    feats = torch.nn.functional.normalize(
        torch.randn(16, 512, generator=gen), dim=1)
    labels = torch.arange(16) % 4
    batch = dict(
        inputs=list(
            torch.randint(
                0, 256, (8, 3, 64, 32), generator=gen, dtype=torch.uint8)),
        data_samples=[
            ReIDDataSample(metainfo=dict(sample_idx=i)) for i in range(8)
        ])
    losses = []
    for model in (plain, nhwc):
        model.head.reset(feats, labels, warmup=False)
        data = model.data_preprocessor(dict(batch), True)
        assert data['inputs'].is_contiguous(
            memory_format=(torch.channels_last if model is
                           nhwc else torch.contiguous_format))
        torch.manual_seed(2)  # the same WaveBlock stripes
        losses.append(model(**data, mode='loss'))
    assert set(losses[0]) == {'loss_cluster', 'loss_instance'}
    for key, value in losses[0].items():
        assert losses[1][key].item() == pytest.approx(value.item(), abs=1e-4)


def test_tensorboard_appends_the_backend(train_tool, monkeypatch):
    cfg = _cfg(train_tool, monkeypatch, '--tensorboard')
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend'
    ]
    assert [b['type'] for b in _cfg(train_tool, monkeypatch).visualizer
            .vis_backends] == ['LocalVisBackend']
    # Once only; a config without a visualizer gets both backends.
    train_tool.add_tensorboard(cfg)
    assert len(cfg.visualizer.vis_backends) == 2
    from mmengine.config import Config
    bare = train_tool.add_tensorboard(Config(dict()))
    assert bare.visualizer.type == 'Visualizer'
    assert [b['type'] for b in bare.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend'
    ]


def test_tensorboard_missing_is_a_clear_error(train_tool, monkeypatch):
    # None in sys.modules makes `import torch.utils.tensorboard` fail.
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    with pytest.raises(SystemExit, match='pip install tensorboard'):
        _cfg(train_tool, monkeypatch, '--tensorboard')


def test_tensorboard_run_writes_an_events_file(train_tool, tmp_path):
    """A short run with the visualizer --tensorboard builds writes
    TensorBoard events next to the json logs, with the logged scalars."""
    pytest.importorskip('tensorboard')
    import glob

    from mmengine.config import Config
    from mmengine.visualization import Visualizer
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator

    from _toy_runner import toy_runner
    cfg = train_tool.add_tensorboard(
        Config(dict(visualizer=dict(
            type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]))))
    runner = toy_runner(
        tmp_path, max_epochs=2, visualizer=dict(cfg.visualizer),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)))
    runner.train()
    Visualizer.get_current_instance().close()
    events = glob.glob(str(tmp_path / '*' / 'vis_data' / 'events.out.*'))
    assert len(events) == 1
    assert glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))
    acc = EventAccumulator(events[0])
    acc.Reload()
    assert 'loss' in acc.Tags()['scalars']
    assert len(acc.Scalars('loss')) == 4  # 2 epochs x 2 iterations
