"""Atomic writes, one way for the whole project: write beside the target under a temporary name, flush it to
disk, rename it over the target, flush the folder. A reader sees the old file (or folder) or the new one,
never half of one; a crash leaves at most a temporary ``.NAME.tmp-PID`` beside it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], object]


def temp_path(target: Path) -> Path:
    """The temporary name a write of ``target`` (file or folder) goes to first: a hidden sibling."""
    return target.parent / f".{target.name}.tmp-{os.getpid()}"


def write_file(target: Path, content: bytes | str | Writer) -> None:
    """Write ``content`` (bytes, UTF-8 text, or a function writing to the open binary file) to ``target``
    atomically. On any error the temporary file is removed and ``target`` is as it was."""
    tmp = temp_path(target)
    try:
        with open(tmp, "wb") as f:
            if isinstance(content, str):
                f.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                f.write(content)
            else:
                content(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def swap_folder(new: Path, target: Path) -> None:
    """Put the folder ``new`` (written and synced: :func:`fsync_tree`) in place of ``target``; an old
    ``target`` is moved aside to ``.NAME.old-PID`` first and removed after."""
    if not target.exists():
        os.rename(new, target)
        fsync_dir(target.parent)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(target, old)
    os.rename(new, target)
    fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, then the folder itself."""
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the renames into it); a filesystem that cannot is left alone."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
