# Copyright (c) jclreid contributors. All rights reserved.
"""A ``CheckpointHook`` that never leaves a run without a checkpoint."""
import contextlib
import os
import os.path as osp
import re
from typing import Iterator, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from jclreid.registry import HOOKS
from jclreid.utils.fileio import atomic_write, remove_stale_temp_files


class _DeferredRemoval:
    """A file backend proxy whose ``remove`` / ``rmtree`` are queued while
    ``hook._defer_depth > 0`` (everything else goes to the real backend)."""

    def __init__(self, backend, hook: 'SafeCheckpointHook') -> None:
        self._backend = backend
        self._hook = hook

    def remove(self, path) -> None:
        if self._hook._defer_depth > 0:
            self._hook._pending_removals.append(('remove', path))
        else:
            self._backend.remove(path)

    def rmtree(self, path) -> None:
        if self._hook._defer_depth > 0:
            self._hook._pending_removals.append(('rmtree', path))
        else:
            self._backend.rmtree(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module(name=['SafeCheckpointHook', 'CheckpointHook'])
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that removes a checkpoint only after
    its successor is complete.

    mmengine 0.10.7 deletes the oldest checkpoint *before* writing the new
    one and then points ``last_checkpoint`` at the new file: with
    ``max_keep_ckpts=1`` a run killed while saving keeps no checkpoint at
    all and ``last_checkpoint`` names a deleted file. This hook, registered
    as ``CheckpointHook`` in the ``jclreid`` scope (so every config with
    ``default_scope='jclreid'`` gets it; ``SafeCheckpointHook`` is the same
    class), keeps the order safe:

    1. write the new checkpoint (atomically: :class:`AtomicLocalBackend`
       writes ``.<name>.tmp<PID>`` and renames it);
    2. point ``last_checkpoint`` at it (atomically too);
    3. only then remove the checkpoints that fell out of ``max_keep_ckpts``
       and, for ``save_best``, the previous best one.

    A kill at any moment therefore leaves at least the previous complete
    checkpoint, and ``last_checkpoint`` names a complete file. When a run
    starts, the temporary files an interrupted save left in the work dir
    (and in ``out_dir`` when it is another local folder) are deleted
    (only ``.<name>.tmp<PID>`` files whose process is gone; see
    :func:`jclreid.utils.fileio.remove_stale_temp_files`). When resuming
    with ``--resume`` (no path) and ``last_checkpoint`` is empty or names a
    missing file (e.g. a work dir written by mmengine's own hook), it is
    pointed at the newest complete checkpoint file of the work dir, with a
    warning.

    Args:
        **kwargs: Those of :class:`mmengine.hooks.CheckpointHook`
            (``interval``, ``max_keep_ckpts``, ``save_best``, ...).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._defer_depth = 0
        self._pending_removals: List[tuple] = []

    # ------------------------------------------------------------- start-up
    def _local_folders(self, runner) -> List[str]:
        """The work dir, plus ``out_dir`` when it is another local folder."""
        folders = [runner.work_dir]
        out_dir = self.out_dir
        if out_dir is not None and '://' not in str(out_dir):
            out_dir = str(out_dir)
            if osp.abspath(out_dir) != osp.abspath(runner.work_dir):
                # As mmengine's before_train: out_dir / <work dir's name>.
                basename = osp.basename(runner.work_dir.rstrip(osp.sep))
                folders.append(osp.join(out_dir, basename))
        return folders

    def before_run(self, runner) -> None:
        """Remove stale temporary files and repair ``last_checkpoint``
        before mmengine resumes from it."""
        if not is_main_process():
            return
        for folder in self._local_folders(runner):
            for path in remove_stale_temp_files(folder):
                runner.logger.info('Removed the temporary file of an '
                                   f'interrupted save: {path}')
        if getattr(runner, '_resume', False) and getattr(
                runner, '_load_from', None) is None:
            self._repair_last_checkpoint(runner)

    def _checkpoint_files(self, folder: str) -> List[tuple]:
        """``(step, path)`` of the files named by ``filename_tmpl`` in
        ``folder``, oldest first."""
        if not osp.isdir(folder):
            return []
        pattern = re.compile(
            '^' +
            re.escape(self.filename_tmpl).replace(re.escape('{}'), r'(\d+)') +
            '$')
        found = []
        for name in os.listdir(folder):
            match = pattern.match(name)
            path = osp.join(folder, name)
            if match and osp.isfile(path):
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _repair_last_checkpoint(self, runner) -> None:
        save_file = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(save_file):
            return
        with open(save_file) as f:
            target = f.read().strip()
        if target and ('://' in target or osp.isfile(target)):
            return
        candidates: List[tuple] = []
        for folder in self._local_folders(runner):
            candidates += self._checkpoint_files(folder)
        if not candidates:
            runner.logger.warning(
                f'{save_file} names {target or "nothing"!r}, which does not '
                f'exist, and the work dir holds no checkpoint matching '
                f'{self.filename_tmpl!r} to resume from instead')
            return
        newest = max(candidates)[1]
        atomic_write(newest.encode('utf-8'), save_file)
        runner.logger.warning(
            f'{save_file} named {target or "nothing"!r}, which does not '
            f'exist (an interrupted save of mmengine\'s CheckpointHook?); '
            f'resuming from the newest checkpoint file instead: {newest}')

    # --------------------------------------------------------------- saving
    def before_train(self, runner) -> None:
        """mmengine's set-up, then removals through the deferring proxy."""
        super().before_train(runner)
        if not isinstance(self.file_backend, _DeferredRemoval):
            self.file_backend = _DeferredRemoval(self.file_backend, self)

    @contextlib.contextmanager
    def _deferred_removals(self) -> Iterator[None]:
        """Queue removals inside the block; the outermost block performs
        them when it completes (and drops them when it raises, so that a
        failed save removes nothing)."""
        self._defer_depth += 1
        try:
            yield
        except BaseException:
            self._defer_depth -= 1
            if self._defer_depth == 0:
                self._pending_removals = []
            raise
        self._defer_depth -= 1
        if self._defer_depth == 0:
            pending, self._pending_removals = self._pending_removals, []
            for kind, path in pending:
                self._remove_now(kind, path)

    def _remove_now(self, kind: str, path) -> None:
        if not is_main_process():
            return
        if self.last_ckpt is not None and str(path) == str(self.last_ckpt):
            return  # never the file last_checkpoint names
        backend = self.file_backend
        if isinstance(backend, _DeferredRemoval):
            backend = backend._backend
        if kind == 'rmtree':
            if backend.isdir(path):
                backend.rmtree(path)
        elif backend.isfile(path):
            backend.remove(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save, point ``last_checkpoint`` at the new file, then remove the
        checkpoints beyond ``max_keep_ckpts`` (mmengine removes first)."""
        with self._deferred_removals():
            self._save_and_point(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's, with the previous best removed after the new one is
        saved."""
        with self._deferred_removals():
            super()._save_best_checkpoint(runner, metrics)

    def _save_and_point(self, runner, step, meta) -> None:
        old_keep: Optional[list] = None
        old_last = (self.last_ckpt, runner.message_hub.get_info('last_ckpt'))
        if self.max_keep_ckpts > 0:
            old_keep = list(self.keep_ckpt_ids)
            if not (len(self.keep_ckpt_ids) > 0
                    and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    _step = self.keep_ckpt_ids.popleft()
                    ckpt_path = self.file_backend.join_path(
                        self.out_dir, self.filename_tmpl.format(_step))
                    # Queued: performed after the new file is complete.
                    self.file_backend.remove(ckpt_path)
                self.keep_ckpt_ids.append(step)
                # The checkpoint records itself among those kept.
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        except BaseException:
            # Nothing was written: forget the new file, keep the old ones.
            if old_keep is not None:
                self.keep_ckpt_ids.clear()
                self.keep_ckpt_ids.extend(old_keep)
                runner.message_hub.update_info('keep_ckpt_ids', old_keep)
            self.last_ckpt = old_last[0]
            runner.message_hub.update_info('last_ckpt', old_last[1])
            raise

        if not is_main_process():
            return
        atomic_write(
            str(self.last_ckpt).encode('utf-8'),
            osp.join(runner.work_dir, 'last_checkpoint'))
