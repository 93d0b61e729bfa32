"""The archive: every file taken from the inbox, byte for byte, under its SHA-256.

It lives beside the warehouse file, in `WarehouseFiles.archive_dir`. A file is written to a
temporary name, flushed to disk and renamed, so a crash never leaves half a file
under a final name.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ArchiveCorrupted(RuntimeError):
    """An archived file no longer has the bytes its name promises."""


class Archive:
    def __init__(self, root: Path):
        self.root = root

    def path_of(self, submission_id: str) -> Path:
        return self.root / submission_id[:2] / submission_id

    def put(self, content: bytes) -> str:
        """Store the bytes (once) and return their SHA-256."""
        submission_id = sha256_of(content)
        target = self.path_of(submission_id)
        if target.exists() and target.stat().st_size == len(content):
            return submission_id
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{submission_id}.{os.getpid()}.part")
        with temporary.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return submission_id

    def get(self, submission_id: str) -> bytes:
        content = self.path_of(submission_id).read_bytes()
        if sha256_of(content) != submission_id:
            raise ArchiveCorrupted(f"the archived file {self.path_of(submission_id)} does not match its SHA-256")
        return content
