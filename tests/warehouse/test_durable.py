"""The one way ctip puts a file in place: whole or not at all, the file and then its folder flushed to disk."""

from __future__ import annotations

import os

import pytest

from warehouse import durable
from warehouse.durable import atomic_path, atomic_write_bytes, atomic_write_text, leftovers, move_into_place


def test_atomic_write_replaces_the_whole_file_and_flushes_the_file_then_the_rename(tmp_path, synced):
    target = tmp_path / "out.json"
    target.write_text("old, and longer than the new text")
    atomic_write_text(target, "new\n")
    assert target.read_bytes() == b"new\n"
    temporary = durable.temporary_path(target)
    assert synced == [("fsync", temporary), ("replace", target), ("fsync", tmp_path)]
    assert list(tmp_path.iterdir()) == [target]


def test_a_write_that_fails_leaves_the_old_file_and_nothing_else(tmp_path):
    target = tmp_path / "table.parquet"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            temporary.with_name(temporary.name + ".wal").write_bytes(b"journal")  # what a database keeps beside it
            raise OSError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(tmp_path.iterdir()) == [target]


def test_a_writer_that_writes_nothing_puts_nothing_in_place(tmp_path):
    target = tmp_path / "page.html"
    with pytest.raises(FileNotFoundError):
        with atomic_path(target):
            pass
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_name_is_hidden_beside_the_target_and_per_process(tmp_path):
    temporary = durable.temporary_path(tmp_path / "ctip.duckdb")
    assert temporary.parent == tmp_path
    assert temporary.name == f".ctip.duckdb.{os.getpid()}.tmp"


def test_leftovers_are_the_temporary_files_a_killed_writer_left(tmp_path):
    kept = tmp_path / "ctip.duckdb"
    kept.write_bytes(b"x")
    left = [tmp_path / ".ctip.duckdb.41.tmp", tmp_path / ".ctip.duckdb.41.tmp.wal", tmp_path / ".other.7.tmp"]
    for path in left:
        path.write_bytes(b"x")
    (tmp_path / ".hidden.csv").write_bytes(b"x")  # not a temporary file
    assert leftovers(tmp_path, "ctip.duckdb") == sorted(left[:2])
    assert leftovers(tmp_path) == sorted(left)
    assert leftovers(tmp_path / "absent") == []


def test_a_name_with_pattern_characters_finds_only_its_own_leftovers(tmp_path):
    (tmp_path / ".a[1].csv.3.tmp").write_bytes(b"x")
    (tmp_path / ".a1.csv.3.tmp").write_bytes(b"x")
    assert leftovers(tmp_path, "a[1].csv") == [tmp_path / ".a[1].csv.3.tmp"]


def test_move_into_place_flushes_the_file_renames_and_flushes_the_folder(tmp_path, synced):
    copy, target = tmp_path / ".incoming.1.part", tmp_path / "ab" / "abcdef"
    copy.write_bytes(b"bytes")
    target.parent.mkdir()
    move_into_place(copy, target)
    assert target.read_bytes() == b"bytes" and not copy.exists()
    assert synced == [("fsync", copy), ("replace", target), ("fsync", target.parent)]


def test_atomic_write_bytes_writes_the_bytes_as_given(tmp_path):
    target = tmp_path / "upload.csv"
    atomic_write_bytes(target, b"a,b\r\n1,2\r\n")
    assert target.read_bytes() == b"a,b\r\n1,2\r\n"


def test_files_moved_into_place_together_are_flushed_together(tmp_path, synced):
    moves = []
    for name in ("a", "b", "c"):
        (tmp_path / f".{name}.part").write_bytes(name.encode())
        (tmp_path / (name * 2)).mkdir()
        moves.append((tmp_path / f".{name}.part", tmp_path / (name * 2) / name))
    durable.move_all_into_place(moves)
    assert [target.read_bytes() for _, target in moves] == [b"a", b"b", b"c"]
    assert synced == [
        ("syncfs", moves[0][0]),
        *[("replace", target) for _, target in moves],
        ("syncfs", moves[0][1].parent),
    ]


def test_without_syncfs_each_file_and_folder_is_flushed(tmp_path, synced, monkeypatch):
    monkeypatch.setattr(durable, "_SYNCFS", None)
    (tmp_path / "x").mkdir()
    moves = [(tmp_path / f".{n}.part", tmp_path / "x" / n) for n in ("a", "b")]
    for temporary, _ in moves:
        temporary.write_bytes(b"1")
    durable.move_all_into_place(moves)
    assert synced == [
        ("fsync", moves[0][0]),
        ("fsync", moves[1][0]),
        ("replace", moves[0][1]),
        ("replace", moves[1][1]),
        ("fsync", tmp_path / "x"),
    ]
