# Copyright (c) jclreid contributors. All rights reserved.
"""The English docs build with Sphinx + myst-parser, as
``sphinx-build -b html docs/en <out>`` does, and every ``docs/en/*.md``
becomes an HTML page listed in the index's table of contents (warnings are
allowed, as without ``-W``)."""
import glob
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(REPO, 'docs', 'en')


def test_sphinx_builds_every_page(tmp_path):
    out = tmp_path / 'html'
    proc = subprocess.run(
        [
            sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-d',
            str(tmp_path / 'doctrees'), DOCS,
            str(out)
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = (out / 'index.html').read_text(encoding='utf-8')
    pages = sorted(glob.glob(osp.join(DOCS, '*.md')))
    assert len(pages) >= 10
    missing = []
    for page in pages:
        name = osp.splitext(osp.basename(page))[0]
        html = out / f'{name}.html'
        if not html.is_file():
            missing.append(f'{name}.html not written')
        elif '<h1>' not in html.read_text(encoding='utf-8'):
            missing.append(f'{name}.html has no title')
        elif f'href="{name}.html"' not in index:
            missing.append(f'{name}.html not in the index toctree')
    assert not missing, missing
