"""One writer at a time: an exclusive lock on `<warehouse>.ctip/writer.lock`.

A nightly run and a backfill started together never interleave: the second waits
for the first up to a timeout, then fails naming who holds the warehouse. The lock
is an `flock`, which the kernel releases when its process dies, so a killed run
never leaves a lock that blocks the next one; the holder's description it left in
the file is recognised as stale and replaced.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process kept the warehouse longer than we were willing to wait."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(holder: dict) -> str:
    if not holder:
        return "another process"
    return f"process {holder.get('pid')} on {holder.get('host')} ({holder.get('command')}), since {holder.get('since')}"


class WriterLock:
    def __init__(self, path: Path, timeout_seconds: float, poll_seconds: float = 0.2, purpose: str | None = None):
        self.path = path
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.purpose = purpose or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self._handle = None
        self.stale_holder: dict | None = None

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise WarehouseBusy(
                        f"the warehouse is held by {_describe(self._holder())}; waited {self.timeout_seconds:g} s "
                        "(set CTIP_LOCK_TIMEOUT to wait longer)"
                    ) from None
                time.sleep(self.poll_seconds)
        previous = self._holder()
        if previous and not _alive(int(previous.get("pid", 0))):
            self.stale_holder = previous  # left by a process that died; the kernel already released it
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": self.purpose,
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        handle.seek(0)
        handle.truncate()
        handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
