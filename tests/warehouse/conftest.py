"""Fixtures of the warehouse tests."""

from __future__ import annotations

import shutil

import pytest

from warehouse.database import open_writer
from warehouse.layout import WarehouseFiles
from warehouse.reference import refresh_reference


@pytest.fixture(scope="module")
def new_warehouse(registry, tmp_path_factory):
    """A fresh warehouse for each example: a copy of one made empty once, its reference tables written
    (making one costs more than copying)."""
    empty = WarehouseFiles(tmp_path_factory.mktemp("empty") / "ctip.duckdb")
    with open_writer(empty, registry) as writer:
        refresh_reference(writer.con, registry)

    def made() -> WarehouseFiles:
        files = WarehouseFiles(tmp_path_factory.mktemp("warehouse") / "ctip.duckdb")
        shutil.copytree(empty.home, files.home)
        return files

    return made
