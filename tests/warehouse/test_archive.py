"""The archive remembers the small files it copied in: the run that took them in reads them once."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import archive as archive_module
from warehouse.archive import Archive, ArchiveCorrupted, sha256_of


def _taken_in(tmp_path: Path, archive: Archive, contents: list[bytes]) -> list[str]:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    copies = []
    for number, content in enumerate(contents):
        path = inbox / f"file{number}.csv"
        path.write_bytes(content)
        copies.append(archive.copy_in(path))
    archive.keep_all(copies)
    return [copied.submission_id for copied in copies]


def test_a_small_file_is_read_from_memory_once_then_from_disk(tmp_path):
    archive = Archive(tmp_path / "archive")
    content = b"reporter,period\nNCCT,2019-S1\n"
    [submission_id] = _taken_in(tmp_path, archive, [content])
    assert submission_id == sha256_of(content)
    archived = archive.path_of(submission_id)
    archived.write_bytes(b"changed on disk")  # what the archive holds no longer matches its name
    assert archive.get(submission_id) == content  # remembered: not read back
    with pytest.raises(ArchiveCorrupted):  # once given, it is forgotten: read back and checked
        archive.get(submission_id)


def test_files_of_more_than_one_window_and_past_the_budget_are_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "REMEMBERED_BYTES", 100)
    archive = Archive(tmp_path / "archive")
    large = b"x" * (archive_module._WINDOW + 1)
    first, second, third = b"a" * 60, b"b" * 60, b"c" * 30  # the second does not fit what is left of 100 bytes
    ids = _taken_in(tmp_path, archive, [large, first, second, third])
    for submission_id in ids:
        archive.path_of(submission_id).write_bytes(b"changed on disk")
    remembered = {}
    for submission_id in ids:
        try:
            remembered[submission_id] = archive.get(submission_id)
        except ArchiveCorrupted:
            remembered[submission_id] = None
    assert list(remembered.values()) == [None, first, None, third]
