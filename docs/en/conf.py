# Copyright (c) jclreid contributors. All rights reserved.
"""Sphinx configuration of the English docs.

Build from the repository root::

    sphinx-build -b html docs/en work_dirs/docs_html

The pages are Markdown, read by myst-parser (``pip install -e '.[docs]'``);
``index.rst`` lists them with a glob, so a new ``docs/en/*.md`` page needs
no change here.
"""
import os.path as osp

HERE = osp.dirname(osp.abspath(__file__))


def _version() -> str:
    """``jclreid.version.__version__`` without importing jclreid (and
    torch), as setup.py reads it."""
    scope: dict = {}
    path = osp.join(HERE, '..', '..', 'jclreid', 'version.py')
    with open(path, encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


project = 'jclreid'
author = 'jclreid contributors'
copyright = 'jclreid contributors'
release = _version()
version = release

extensions = ['myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
# tables/: tables written by tools/analysis_tools/run_seeds.py (results.md
# quotes them) and their runs' result.json files, not pages of their own.
# _build: a build inside the source folder.
exclude_patterns = ['_build', 'tables/**', '**/.ipynb_checkpoints']

# Anchors for `page.md#a-heading` links (GitHub's slugs) down to ###.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']
# A link to a page or anchor that does not exist is a warning
# (`myst.xref_missing`), not an error: the build stays -W-free, but read the
# warnings. Links to files outside docs/en (e.g. a project's README) cannot
# be resolved by Sphinx and warn the same way.

html_theme = 'alabaster'
html_title = f'jclreid {release}'
# _static/<page>/ holds the pictures of the pages (linked by relative paths)
html_static_path = []
pygments_style = 'sphinx'
