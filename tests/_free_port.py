# Copyright (c) jclreid contributors. All rights reserved.
"""A free local TCP port for the tests that start a process group.

Importable as ``_free_port`` from the test modules: pytest puts ``tests/``
on ``sys.path`` for ``tests/conftest.py``.
"""
import socket

__all__ = ['free_port']


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on at the time of the call
    (the OS picks it; it is released before returning)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
