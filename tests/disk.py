"""Simulated disk failures for one folder: full (ENOSPC) or read-only (EROFS).

The tests run as root, where chmod cannot make a folder read-only, and a real full disk needs a mount;
so these patch the calls that create and write files (open, io.open, os.open, os.mkdir) for paths
inside one folder, and leave every other path alone.
"""

from __future__ import annotations

import builtins
import errno
import io
import logging
import os
import sys
from pathlib import Path

_WRITE_MODES = set("wxa+")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


class BrokenDisk:
    """Patches file creation under `folder`: `read_only` refuses it; otherwise writes fail once `room`
    bytes are used, after writing what fits (so a plain write leaves a truncated file, as a full disk does).
    `only`: affect just the paths whose name holds this text."""

    def __init__(self, monkeypatch, folder: Path, *, read_only: bool = False, room: int = 0, only: str = "") -> None:
        self.folder, self.read_only, self.room, self.only = os.path.abspath(folder), read_only, room, only
        real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

        def fake_open(file, mode="r", *args, **kwargs):
            if self._hits(file) and _WRITE_MODES & set(mode):
                if self.read_only:
                    raise OSError(errno.EROFS, "Read-only file system", os.fspath(file))
                return _Filling(real_open(file, mode, *args, **kwargs), self)
            return real_open(file, mode, *args, **kwargs)

        def fake_os_open(path, flags, *args, **kwargs):
            if self.read_only and self._hits(path) and flags & _WRITE_FLAGS:
                raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
            return real_os_open(path, flags, *args, **kwargs)

        def fake_mkdir(path, *args, **kwargs):
            if self.read_only and self._hits(path):
                if os.path.exists(path):  # the kernel reports an existing folder first
                    raise FileExistsError(errno.EEXIST, "File exists", os.fspath(path))
                raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)

    def _hits(self, path) -> bool:
        if isinstance(path, int):  # an open file descriptor
            return False
        full = os.path.abspath(os.fspath(path))
        inside = full == self.folder or full.startswith(self.folder + os.sep)
        return inside and self.only in os.path.basename(full)


class _Filling:
    """A file being written on a disk with `disk.room` bytes left."""

    def __init__(self, file, disk: BrokenDisk) -> None:
        self._file, self._disk = file, disk

    def write(self, data) -> int:
        fits = max(0, min(len(data), self._disk.room))
        self._file.write(data[:fits])
        self._disk.room -= fits
        if fits < len(data):
            self._file.flush()  # what fitted is on disk, as after a real ENOSPC
            raise OSError(errno.ENOSPC, "No space left on device")
        return fits

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def __getattr__(self, name):
        return getattr(self._file, name)


def full(monkeypatch, folder: Path, room: int = 0, only: str = "") -> BrokenDisk:
    """`folder` is on a disk with `room` bytes free."""
    return BrokenDisk(monkeypatch, folder, room=room, only=only)


def read_only(monkeypatch, folder: Path) -> BrokenDisk:
    """`folder` is on a read-only file system."""
    return BrokenDisk(monkeypatch, folder, read_only=True)


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative name -> bytes), temporary ones included."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def log_to_this_stderr(monkeypatch) -> None:
    """Point log handlers left writing to an earlier test's captured (now closed) stderr at this test's.

    diffusers and transformers bind theirs once, and a closed stream prints a "Logging error" traceback
    into the stderr a test checks. Call it in the test body: capsys swaps sys.stderr in only then."""
    loggers = [logging.root, *(x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger))]
    for handler in (h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)):
        if getattr(handler.stream, "closed", False):
            monkeypatch.setattr(handler, "stream", sys.stderr)
            if "flush" in vars(handler):  # diffusers binds the old stream's flush to its handler
                monkeypatch.setattr(handler, "flush", sys.stderr.flush)
