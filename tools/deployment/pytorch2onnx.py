# Copyright (c) jclreid contributors. All rights reserved.
"""Export the feature extractor of a jclreid model to ONNX.

The graph maps **normalised** images to L2-normalised embeddings:

- input ``images``: float32 (B, 3, H, W), RGB, ``(pixel - mean) / std``
  with the ``mean`` / ``std`` of the config's
  ``model.data_preprocessor`` (ImageNet's by default); the
  normalisation stays outside the graph, like mmengine's data
  preprocessors, and the values are stored in the model's metadata
  (``mean``, ``std``, ``input_size``, ``flip_test`` as json;
  ``channel_order``);
- output ``features``: float32 (B, D), L2-normalised, equal to what
  ``tools/test.py`` and ``ReIDInferencer`` compute (with
  ``model.flip_test=True`` the flipped image's features are averaged in
  the graph).

The batch axis is dynamic; H and W are fixed (``--shape``, else the
``Resize`` of the config's test pipeline). The model is exported in eval
mode: WaveBlock and the other training-only parts are identities.

The checkpoint is loaded with jclreid's safe loader
(``torch.load(weights_only=True)``, strict keys); ``--trust-checkpoint``
allows full unpickling for files you trust.

Examples:
    python tools/deployment/pytorch2onnx.py configs/jcl/jcl_r18_synthetic.py \\
        work_dirs/jcl_r18_synthetic/epoch_25.pth --out jcl_r18.onnx --verify
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config, DictAction

#: The graph's input and output names.
INPUT_NAME, OUTPUT_NAME = 'images', 'features'


class FeatureExtractor(nn.Module):
    """The exported graph: ``(B, 3, H, W)`` normalised images ->
    ``(B, D)`` L2-normalised features of a JCL model (``extract_feat``;
    averaged with the horizontally flipped images' features and
    normalised again when ``flip``).

    Args:
        model (nn.Module): A model with ``extract_feat``.
        flip (bool): Add the flipped images' features. Defaults to False.
    """

    def __init__(self, model: nn.Module, flip: bool = False) -> None:
        super().__init__()
        self.model, self.flip = model, flip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats = self.model.extract_feat(images)
        if self.flip:
            feats = F.normalize(
                feats + self.model.extract_feat(images.flip(3)), dim=1)
        return feats


def test_input_size(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` of the ``Resize`` in ``test_dataloader.dataset.pipeline``
    (its ``scale`` is ``(w, h)``).

    Raises:
        ValueError: If the pipeline has no ``Resize`` with a ``scale``
            pair; give ``--shape H W`` then.
    """
    pipeline = (cfg.get('test_dataloader') or {}).get('dataset',
                                                      {}).get('pipeline', [])
    for step in pipeline:
        scale = step.get('scale') if isinstance(step, dict) else None
        if step.get('type') == 'Resize' and isinstance(
                scale, (list, tuple)) and len(scale) == 2:
            return int(scale[1]), int(scale[0])
    raise ValueError('the config\'s test_dataloader.dataset.pipeline has no '
                     'Resize with scale=(w, h); give --shape H W')


def build_model(cfg: Config,
                checkpoint: Optional[str],
                trust: bool = False) -> nn.Module:
    """The config's model with the checkpoint's weights (strict, safe
    loading), in eval mode on the CPU. ``checkpoint=None`` keeps the
    initial weights."""
    from jclreid.registry import MODELS
    from jclreid.utils import load_checkpoint_file, load_model_state
    if 'model' not in cfg:
        raise KeyError('the config has no `model` field')
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu',
                                    trust=trust)
        load_model_state(model, ckpt, checkpoint, strict=True)
    if not hasattr(model, 'extract_feat'):
        raise TypeError(f'{type(model).__name__} has no extract_feat; '
                        'expected a re-ID model such as JCL')
    # Contiguous weights: the exporter traces one memory format.
    return model.to(memory_format=torch.contiguous_format).eval()


def normalisation(model: nn.Module) -> dict:
    """``mean``, ``std`` (0-255 scale, RGB) and ``channel_order`` the
    graph's input expects, from the model's data preprocessor."""
    pre = model.data_preprocessor
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    to_rgb = bool(getattr(pre, '_channel_conversion', False))
    return dict(
        mean=[] if mean is None else
        [round(v, 4) for v in mean.flatten().tolist()],
        std=[] if std is None else
        [round(v, 4) for v in std.flatten().tolist()],
        channel_order='rgb' if to_rgb else 'as loaded (bgr)')


def export(model: nn.Module,
           out: str,
           shape: Tuple[int, int],
           opset: int = 17,
           flip: bool = False) -> FeatureExtractor:
    """Export ``model``'s feature extractor to ``out`` (written to a
    temporary file, then moved into place).

    Args:
        model (nn.Module): The model, in eval mode.
        out (str): The ``.onnx`` path.
        shape (tuple[int, int]): Input ``(H, W)``.
        opset (int): ONNX opset. Defaults to 17.
        flip (bool): Flip-test averaging in the graph. Defaults to False.

    Returns:
        FeatureExtractor: The exported module (eval mode).
    """
    import onnx
    extractor = FeatureExtractor(model, flip).eval()
    dummy = torch.zeros(2, 3, *shape)
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.onnx', dir=folder)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter (no onnxscript needed) is deprecated
            # in favour of torch.export; the backbone's input-size check
            # is a constant for the fixed H, W.
            warnings.simplefilter('ignore', DeprecationWarning)
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            torch.onnx.export(
                extractor, (dummy, ),
                tmp,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={
                    INPUT_NAME: {0: 'batch'},
                    OUTPUT_NAME: {0: 'batch'}
                },
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False)
        proto = onnx.load(tmp)
        onnx.checker.check_model(proto)
        meta = dict(normalisation(model), input_size=list(shape),
                    flip_test=flip)
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key = key
            entry.value = value if isinstance(value, str) else json.dumps(
                value)
        onnx.save(proto, tmp)
        umask = os.umask(0)  # mkstemp makes 0600 files; use the umask
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return extractor


def verify(extractor: nn.Module,
           onnx_file: str,
           shape: Tuple[int, int],
           batch_sizes: Sequence[int] = (1, 3),
           atol: float = 1e-4,
           seed: int = 0) -> float:
    """Run ``onnx_file`` with onnxruntime (CPU) on random normalised images
    of each batch size and compare with PyTorch.

    Returns:
        float: The largest absolute difference.

    Raises:
        AssertionError: If a difference exceeds ``atol`` or a shape
            differs, naming the batch size.
    """
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for batch in batch_sizes:
        images = torch.randn(batch, 3, *shape, generator=gen)
        with torch.no_grad():
            expected = extractor(images).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: images.numpy()})[0]
        if got.shape != expected.shape:
            raise AssertionError(f'batch {batch}: onnxruntime gave shape '
                                 f'{got.shape}, PyTorch {expected.shape}')
        diff = float(np.abs(got - expected).max())
        if diff > atol:
            raise AssertionError(
                f'batch {batch}: onnxruntime and PyTorch features differ by '
                f'up to {diff:.3g} (> {atol:g})')
        worst = max(worst, diff)
    return worst


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a jclreid feature extractor to ONNX')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='input height and width (default: the Resize of the test '
        'pipeline)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset')
    parser.add_argument(
        '--verify', action='store_true',
        help='compare onnxruntime with PyTorch on batches of 1 and 3 '
        'random images (max abs difference <= --atol)')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='allow full unpickling of the checkpoint (can run arbitrary '
        'code: only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from jclreid.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config!r} does not exist')
    if not args.out.endswith('.onnx'):
        raise SystemExit(f'--out {args.out!r}: expected a .onnx file')
    if osp.abspath(args.out) in (osp.abspath(args.config),
                                 osp.abspath(args.checkpoint)):
        raise SystemExit('--out must not be the config or the checkpoint')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = tuple(args.shape) if args.shape else test_input_size(cfg)
    if min(shape) < 1:
        raise SystemExit(f'--shape must be positive, got {shape}')
    model = build_model(cfg, args.checkpoint, args.trust_checkpoint)
    flip = bool(getattr(model, 'flip_test', False))
    extractor = export(model, args.out, shape, args.opset, flip)
    norm = normalisation(model)
    print(f'exported {args.out}: input {INPUT_NAME} (batch, 3, {shape[0]}, '
          f'{shape[1]}) float32, {norm["channel_order"]}, (x - mean) / std '
          f'with mean={norm["mean"]} std={norm["std"]}; output '
          f'{OUTPUT_NAME} (batch, D) L2-normalised'
          f'{" (flip-test averaged)" if flip else ""}')
    if args.verify:
        try:
            diff = verify(extractor, args.out, shape, atol=args.atol)
        except AssertionError as err:
            raise SystemExit(f'verification failed: {err}') from None
        print(f'verified with onnxruntime on batches of 1 and 3: max abs '
              f'difference {diff:.2e} (<= {args.atol:g})')


if __name__ == '__main__':
    sys.exit(main())
