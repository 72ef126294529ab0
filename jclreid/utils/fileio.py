# Copyright (c) jclreid contributors. All rights reserved.
"""Atomic writes of local files (checkpoints) through mmengine's fileio."""
import os
import os.path as osp
import re
from pathlib import Path
from typing import List, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io

_REGISTERED = False

#: Name of the temporary file :func:`atomic_write` writes before renaming it
#: over the target: ``.<name>.tmp<PID>`` in the target's folder.
TEMP_FILE_PATTERN = re.compile(r'^\.(?P<name>.+)\.tmp(?P<pid>\d+)$')


def temp_path(filepath: Union[str, Path]) -> str:
    """The temporary file :func:`atomic_write` uses for ``filepath``:
    ``.<name>.tmp<PID>`` next to it (matches :data:`TEMP_FILE_PATTERN`)."""
    folder = osp.dirname(osp.abspath(str(filepath)))
    name = osp.basename(str(filepath))
    return osp.join(folder, f'.{name}.tmp{os.getpid()}')


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):
        return False
    return True


def remove_stale_temp_files(folder: Union[str, Path]) -> List[str]:
    """Delete the temporary files that interrupted :func:`atomic_write`
    calls left in ``folder`` (not in its sub-folders).

    A process killed while saving (``kill -9``, out of memory, power loss)
    leaves its ``.<name>.tmp<PID>`` file behind; the target itself is intact
    (the old file or none). Only names matching :data:`TEMP_FILE_PATTERN`
    are considered, and of those only the ones whose writer is gone: the
    PID no longer runs, or it is this process's own PID (a restarted job in
    a container often gets the PID of the killed one; call this before this
    process writes anything). Files of another running process are kept.

    Args:
        folder (str | Path): A local folder, e.g. the work dir. A folder
            that does not exist is fine (nothing to do).

    Returns:
        list[str]: The paths removed.
    """
    folder = str(folder)
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        match = TEMP_FILE_PATTERN.match(name)
        if match is None:
            continue
        path = osp.join(folder, name)
        pid = int(match.group('pid'))
        if not osp.isfile(path) or osp.islink(path):
            continue
        if pid != os.getpid() and _pid_alive(pid):
            continue
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that a crash never leaves a partial
    file: write a temporary file in the same folder, flush it to disk, then
    rename it over the target.

    The temporary file is ``.<name>.tmp<PID>`` in the target's folder (see
    :func:`temp_path`); it is removed when the write fails with an
    exception. A process killed outright (``kill -9``) leaves it behind:
    :func:`remove_stale_temp_files` cleans it up (the checkpoint hook does
    so in the work dir when a run starts).

    Args:
        data (bytes): The content.
        filepath (str | Path): The target file.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_path(filepath)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform
    can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` / ``put_text``:
    checkpoints saved by the Runner are either the old or the new file,
    never a truncated one."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths
    (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Drop cached instances of the plain backend.
    for key, backend in list(mmengine_io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del mmengine_io.backend_instances[key]
    _REGISTERED = True
