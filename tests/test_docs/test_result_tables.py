# Copyright (c) jclreid contributors. All rights reserved.
"""The result tables in README.md and docs/en are what the committed run
records summarise to: every row of the headline and ablation tables is
rebuilt from ``docs/en/tables/runs/`` with ``run_seeds.make_table`` and must
appear verbatim in each document that quotes it, and every ablation config
has a record for each of the 3 seeds."""
import glob
import json
import os.path as osp

import pytest

from _load_module import ROOT, load_module

RUNS = osp.join(ROOT, 'docs', 'en', 'tables', 'runs')
SEEDS = (0, 1, 2)
HEADLINE = ('jcl_r18_synthetic', 'jcl_r18_synthetic_scenes',
            'jcl_r18_digits')


@pytest.fixture(scope='module')
def run_seeds():
    return load_module('tools/analysis_tools/run_seeds.py')


def _load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _rows(table):
    return [line for line in table.splitlines() if line.startswith('| `')]


def _assert_quoted(rows, docs):
    for doc in docs:
        with open(osp.join(ROOT, doc), encoding='utf-8') as f:
            text = f.read()
        for row in rows:
            assert row in text, f'{doc} lacks the row built from the ' \
                f'records:\n{row}'


def test_headline_table_matches_its_records(run_seeds):
    results = {
        cfg: [_load(osp.join(RUNS, 'final', cfg, f'seed{s}.json'))
              for s in SEEDS]
        for cfg in HEADLINE
    }
    for cfg, runs in results.items():
        assert [r['seed'] for r in runs] == list(SEEDS)
        assert all(r['config'].endswith(f'{cfg}.py') for r in runs)
    rows = _rows(run_seeds.make_table(results))
    assert len(rows) == len(HEADLINE)
    _assert_quoted(rows, ('docs/en/tables/headline_seeds.md', 'README.md',
                          'docs/en/results.md'))


def test_ablation_table_matches_its_records(run_seeds):
    configs = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(ROOT, 'configs', 'jcl', 'ablations',
                                    '*.py')))
    results = {}
    for cfg in configs:
        paths = [osp.join(RUNS, 'ablations', cfg, f'seed{s}', 'result.json')
                 for s in SEEDS]
        missing = [p for p in paths if not osp.isfile(p)]
        assert not missing, f'ablation {cfg} has no record {missing}'
        results[cfg] = [_load(p) for p in paths]
    rows = _rows(run_seeds.make_table(results))
    assert len(rows) == len(configs)
    _assert_quoted(rows, ('docs/en/tables/ablations.md', 'docs/en/results.md'))
