"""The archive: every file taken from the inbox, byte for byte, under its SHA-256.

It lives beside the warehouse file, in `WarehouseFiles.archive_dir`, readable by ctip's
user alone (folders 0700, files 0600): the files are the senders', not the machine's.
A file is copied to a temporary name while its SHA-256 is computed, then moved into place
under it (`warehouse/durable.py`: flushed, renamed, the folder flushed), so a crash never
leaves half a file under a final name, and a file of any size costs no more memory than
one window of it. The files of a run are kept together (`keep_all`): their bytes are
flushed in one sync of the file system, then renamed, then the renames flushed in one more.
An archive remembers the bytes of the small files it copied in (`REMEMBERED_BYTES` in all), so
that the run that received them reads them from memory, not back from disk.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from warehouse.durable import move_all_into_place

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_WINDOW = 1 << 20
_INCOMING = ".incoming."  # the prefix of a copy not yet renamed into place
# The bytes an archive remembers of the files it copied in, each of one window at most: a run's many small files
# then cost one read each, not two (reading them back from the archive was about a third of the time a file of a
# run of 3,564 small files)
REMEMBERED_BYTES = 16 * 1024 * 1024


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ArchiveCorrupted(RuntimeError):
    """An archived file no longer has the bytes its name promises."""


class NotRegularFile(OSError):
    """A link, folder, device or pipe: ctip takes only regular files."""


class ChangedWhileRead(OSError):
    """The file's size, time or identity changed while it was copied: it is still being written."""


@dataclass(frozen=True)
class Copied:
    """A file copied into the archive's folder under a temporary name, not yet kept."""

    submission_id: str
    size_bytes: int
    modified_ns: int
    temporary: Path


def open_regular(path: Path) -> tuple[int, os.stat_result]:
    """A descriptor of `path` read-only, never following a link and never waiting on a pipe;
    NotRegularFile unless it is a regular file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as problem:
        if problem.errno in (errno.ELOOP, errno.ENXIO):  # a link; a socket
            raise NotRegularFile(f"{path} is not a regular file") from None
        raise
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise NotRegularFile(f"{path} is not a regular file")
    return descriptor, status


def read_regular(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of a regular file, or None when it is larger than `max_bytes` (then nothing is read)."""
    descriptor, status = open_regular(path)
    try:
        if status.st_size > max_bytes:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            content = handle.read(max_bytes + 1)
    finally:
        os.close(descriptor)
    return None if len(content) > max_bytes else content


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != FOLDER_MODE:
        os.chmod(folder, FOLDER_MODE)


class Archive:
    def __init__(self, root: Path):
        self.root = root
        self._remembered: dict[str, bytes] = {}  # submission id -> the bytes copied in under it
        self._remembered_bytes = 0
        self._root_made = False  # its folder made (once per archive, not once per file)

    def path_of(self, submission_id: str) -> Path:
        return self.root / submission_id[:2] / submission_id

    def copy_in(self, path: Path) -> Copied:
        """Copy a regular file of the inbox in, hashing it as it goes.

        Raises NotRegularFile for anything else, ChangedWhileRead when the file changed
        while it was copied (nothing is left behind then).
        """
        if not self._root_made:
            _private_folder(self.root)
            self._root_made = True
        descriptor, before = open_regular(path)
        temporary = self.root / f"{_INCOMING}{os.getpid()}.{before.st_ino}.part"
        digest = hashlib.sha256()
        size = 0
        only = None  # the file's bytes, while they fit one window
        try:
            with (
                os.fdopen(descriptor, "rb", closefd=False) as source,
                os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "wb") as target,
            ):
                while window := source.read(_WINDOW):
                    digest.update(window)
                    target.write(window)
                    only = window if size == 0 else None
                    size += len(window)
            after = os.fstat(descriptor)
            now = os.stat(path, follow_symlinks=False)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            os.close(descriptor)
        same = {(s.st_ino, s.st_size, s.st_mtime_ns) for s in (before, after, now)}
        if len(same) != 1 or size != before.st_size:
            temporary.unlink(missing_ok=True)
            raise ChangedWhileRead(f"{path} changed while it was read")
        submission_id = digest.hexdigest()
        if only is not None and self._remembered_bytes + size <= REMEMBERED_BYTES:
            self._remembered[submission_id] = only
            self._remembered_bytes += size
        return Copied(submission_id, size, before.st_mtime_ns, temporary)

    def keep(self, copied: Copied) -> str:
        """Rename a copy into place under its SHA-256 (once; a second copy of the same bytes is dropped)."""
        self.keep_all([copied])
        return copied.submission_id

    def keep_all(self, copies: list[Copied]) -> None:
        """`keep` for many copies at once: the bytes of all of them flushed to disk together, then each renamed
        into place, then the renames flushed together (`durable.move_all_into_place`). When it returns, every
        copy's bytes are safe under its SHA-256, so the files can be given receipts."""
        moves, folders, placed = [], set(), set()
        for copied in copies:
            target = self.path_of(copied.submission_id)
            if target.parent not in folders:
                _private_folder(target.parent)
                folders.add(target.parent)
            if copied.submission_id in placed or (target.exists() and target.stat().st_size == copied.size_bytes):
                copied.temporary.unlink(missing_ok=True)
                continue
            placed.add(copied.submission_id)
            moves.append((copied.temporary, target))
        move_all_into_place(moves)

    def clear_leftovers(self) -> None:
        """Remove copies a killed writer left under temporary names (only the writer, under its lock, calls this)."""
        if not self.root.is_dir():
            return
        for leftover in self.root.glob(f"{_INCOMING}*.part"):
            leftover.unlink(missing_ok=True)

    def get(self, submission_id: str) -> bytes:
        """The archived bytes of a submission: those this archive remembers of copying it in (once), else read
        back and checked against their SHA-256."""
        remembered = self._remembered.pop(submission_id, None)
        if remembered is not None:
            return remembered
        content = self.path_of(submission_id).read_bytes()
        if sha256_of(content) != submission_id:
            raise ArchiveCorrupted(f"the archived file {self.path_of(submission_id)} does not match its SHA-256")
        return content
