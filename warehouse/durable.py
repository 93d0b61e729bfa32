"""Making writes survive a crash: the one way ctip puts a file in place.

A file is written whole under a hidden temporary name beside its target
(`.NAME.PID.tmp`), flushed to disk, renamed over the target, and then the folder is
flushed too, so that the rename itself survives a power cut. A reader sees the old file
or the new one, never half of one. A writer killed part way leaves only its temporary
name behind, which `leftovers` finds for the next writer to remove.

Many files put in place at once (`move_all_into_place`: the archive's files of a run) are
flushed together: one sync of their file system for all their bytes before any is renamed,
one more for all the renames, instead of two flushes to disk per file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def fsync_path(path: Path) -> None:
    """Flush a file's bytes, or a folder's entries (a rename in it), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _syncfs():
    """The C library's syncfs(2) (Linux: flush every file of one file system), or None where it has none."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return library.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _syncfs()


def sync_file_system(path: Path) -> None:
    """Flush every file and folder of the file system that holds `path` to disk, in one call (syncfs)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if _SYNCFS(descriptor) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"syncfs of {path}: {os.strerror(number)}")
    finally:
        os.close(descriptor)


def flush_together(paths: list[Path]) -> None:
    """Flush these files' bytes, or these folders' entries, to disk: when they are more than one and the system
    has syncfs, in one sync of the file system that holds them (they must all be on one); else each alone."""
    if len(paths) > 1 and _SYNCFS is not None:
        sync_file_system(paths[0])
        return
    for path in paths:
        fsync_path(path)


def temporary_path(target: Path) -> Path:
    """The hidden name beside `target` that this process writes it under."""
    return target.with_name(f".{target.name}.{os.getpid()}{TEMPORARY_SUFFIX}")


def leftovers(folder: Path, target_name: str | None = None) -> list[Path]:
    """Temporary files (and what a database kept beside one, say its `.wal`) that writers killed part way
    left in `folder`: of the target named `target_name`, or of any target."""
    if not folder.is_dir():
        return []
    name = "*" if target_name is None else glob.escape(target_name)
    return sorted(p for p in folder.glob(f".{name}.*{TEMPORARY_SUFFIX}*") if p.is_file())


def move_into_place(temporary: Path, target: Path) -> None:
    """Flush a file written whole under a temporary name, rename it over `target` and flush the folder."""
    fsync_path(temporary)
    os.replace(temporary, target)
    fsync_path(target.parent)


def move_all_into_place(moves: list[tuple[Path, Path]]) -> None:
    """`move_into_place` for many (temporary, target) pairs on one file system: every temporary file flushed
    (together), then each renamed over its target, then the targets' folders flushed (together). When it
    returns, every target holds its whole new bytes on disk; a crash before that leaves each target whole,
    old or new, and the temporary names of those not renamed."""
    if not moves:
        return
    flush_together([temporary for temporary, _ in moves])
    for temporary, target in moves:
        os.replace(temporary, target)
    flush_together(list(dict.fromkeys(target.parent for _, target in moves)))


def _remove_temporary(temporary: Path) -> None:
    temporary.unlink(missing_ok=True)
    for companion in temporary.parent.glob(glob.escape(temporary.name) + ".*"):  # a database's `.wal`
        companion.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path to write the new `target` at, whole, inside the block (by any writer that takes a
    path: DuckDB, Polars, a workbook). When the block ends, the file is moved into place; when it fails,
    nothing of it is left and the old `target` stays as it was."""
    temporary = temporary_path(target)
    _remove_temporary(temporary)
    try:
        yield temporary
        move_into_place(temporary, target)
    finally:
        _remove_temporary(temporary)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write `data` as the whole of `target`, replacing it at once."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    """Write `text` (UTF-8) as the whole of `target`, replacing it at once."""
    atomic_write_bytes(target, text.encode("utf-8"))


def folder_leftovers(folder: Path, target_pattern: str) -> list[Path]:
    """Temporary folders that writers killed part way left in `folder`, of targets matching `target_pattern`."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f".{target_pattern}.*{TEMPORARY_SUFFIX}") if p.is_dir())


def move_folder_into_place(temporary: Path, target: Path) -> None:
    """Flush every file of a folder written whole under a temporary name, then rename it to `target`, which must
    not exist (a folder put in place is never replaced), and flush the folder that holds it."""
    for path in temporary.iterdir():
        fsync_path(path)
    fsync_path(temporary)
    if target.exists():
        raise FileExistsError(f"{target} exists")
    os.rename(temporary, target)
    fsync_path(target.parent)
