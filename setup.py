# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'jclreid', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Read a requirements file, following ``-r`` includes."""
    reqs = []
    path = osp.join(HERE, fname)
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                sub = osp.join(osp.dirname(fname), line[3:].strip())
                reqs.extend(parse_requirements(sub))
            else:
                reqs.append(line)
    return reqs


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='jclreid',
    version=get_version(),
    description='Joint Contrastive Learning for unsupervised person '
    're-identification and remote-sensing scene classification',
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.8',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'all': parse_requirements('requirements/runtime.txt') +
        parse_requirements('requirements/optional.txt') +
        parse_requirements('requirements/tests.txt'),
        'optional': parse_requirements('requirements/optional.txt'),
        'tests': parse_requirements('requirements/tests.txt'),
        'docs': parse_requirements('requirements/docs.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
