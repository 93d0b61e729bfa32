"""Shared fixtures: the registry and the real files in tests/files/."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import load_registry

FILES = Path(__file__).parent / "files"
SEED = FILES / "seed"


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def seed_files() -> dict[str, Path]:
    """The seed report (NCCT, 2019-S1 with 2018-S1 restated) in each format."""
    return {fmt: SEED / f"ncct_2019-S1.{fmt}" for fmt in ("csv", "json", "xlsx")}
