# Copyright (c) jclreid contributors. All rights reserved.
"""Score raw pixels with a config's test set and test metric.

The floor any learned embedding must beat: every test image after the test
pipeline, flattened and mean-centred, is its own feature.

Example:
    python tools/analysis_tools/raw_pixel_baseline.py \
        configs/jcl/jcl_r18_synthetic_scenes.py
"""
import argparse

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from jclreid.registry import DATASETS, METRICS
from jclreid.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(
        description='Evaluate raw-pixel features with the test metric')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args()


def raw_pixel_metrics(cfg: Config) -> dict:
    """Test metrics of mean-centred raw-pixel features."""
    init_default_scope(cfg.get('default_scope', 'jclreid'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = [dataset[i] for i in range(len(dataset))]
    feats = torch.stack([s['inputs'].float().flatten() for s in samples])
    feats = feats - feats.mean(0, keepdim=True)
    evaluator = cfg.test_evaluator
    evaluator = evaluator if isinstance(evaluator, list) else [evaluator]
    results = {}
    for metric_cfg in evaluator:
        metric = METRICS.build(metric_cfg)
        batch = []
        for sample, feat in zip(samples, feats):
            data_sample = sample['data_samples']
            data_sample.set_pred_feature(feat)
            batch.append(data_sample.to_dict())
        metric.process(None, batch)
        results.update(metric.evaluate(len(batch)))
    return results


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    results = raw_pixel_metrics(cfg)
    print('raw pixels: ' + '  '.join(f'{k}: {v:.2f}'
                                     for k, v in results.items()))


if __name__ == '__main__':
    main()
