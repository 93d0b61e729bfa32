"""The wheel builds without setuptools warnings and carries its data files (templates, SQL, registry), and never
the files of a warehouse kept at the default place, `warehouse/ctip.duckdb` and its folder `warehouse/ctip.duckdb.ctip/`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "schemas", "transforms", "warehouse")
DATA_SUFFIXES = {".j2", ".sql", ".toml", ".csv"}
# A warehouse at the default place and everything ctip keeps beside it: what .gitignore leaves out of the project
# (/warehouse/*.duckdb, /warehouse/*.duckdb.*, /warehouse/*.wal), written by `ctip run`, `serve`, `export`, ...
RUNTIME = ("*.duckdb", "*.duckdb.*", "*.wal")
# pip's own notes about the machine's package index configuration, not about ctip
PIP_INDEX_NOTE = re.compile(r"^WARNING: Location '.*' is ignored")


def runtime_file(relative: str) -> bool:
    """Whether a path of the project (relative, with /) belongs to a warehouse kept in `warehouse/`."""
    parts = PurePosixPath(relative).parts
    return len(parts) > 1 and parts[0] == "warehouse" and any(fnmatch(parts[1], pattern) for pattern in RUNTIME)


def data_files(root: Path) -> set[str]:
    """The data files of the packages under `root` that the wheel must carry."""
    found = {p.relative_to(root).as_posix() for folder in PACKAGES for p in (root / folder).rglob("*") if p.is_file()}
    return {name for name in found if PurePosixPath(name).suffix in DATA_SUFFIXES and not runtime_file(name)}


def test_only_the_files_of_a_warehouse_at_the_default_place_count_as_runtime_files():
    assert runtime_file("warehouse/ctip.duckdb")
    assert runtime_file("warehouse/ctip.duckdb.wal")
    assert runtime_file("warehouse/ctip.duckdb.ctip/disclosure_audit.csv")
    assert runtime_file("warehouse/ctip.duckdb.ctip/prefect/memo_store.toml")
    assert runtime_file("warehouse/other.duckdb.ctip/prefect-profile.toml")
    assert not runtime_file("warehouse/sql/ddl/core.sql")
    assert not runtime_file("schemas/registry.toml")
    assert not runtime_file("flows/ctip.duckdb.ctip/x.csv")  # .gitignore names warehouse/ alone


def test_the_wheel_builds_without_warnings_and_holds_every_data_file(tmp_path):
    """Built from a copy of the project's sources that holds a warehouse at the default place, as `ctip run`,
    `ctip serve` and `ctip export --public` leave it: its .csv and .toml files are neither packaged nor counted."""
    source = tmp_path / "project"
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", *RUNTIME)
    for folder in PACKAGES:
        shutil.copytree(PROJECT / folder, source / folder, ignore=ignored)
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(PROJECT / name, source / name)
    home = source / "warehouse" / "ctip.duckdb.ctip"
    (home / "prefect").mkdir(parents=True)
    (source / "warehouse" / "ctip.duckdb").write_bytes(b"\0" * 12)
    (home / "disclosure_audit.csv").write_text("reporter,value\nNCCT,3\n")  # ctip export --public
    (home / "prefect" / "memo_store.toml").write_text("[memo]\n")  # the home of the server ctip serve starts
    (home / "prefect-profile.toml").write_text("[profiles]\n")
    (home / "segments").mkdir()
    (home / "segments" / "core.sql").write_text("select 1;\n")

    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    said = [line for line in (built.stdout + built.stderr).splitlines() if not PIP_INDEX_NOTE.match(line)]
    assert not [line for line in said if "warning" in line.lower()], "\n".join(said)[-3000:]
    [wheel] = wheels.glob("ctip-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = data_files(PROJECT)
    assert data == data_files(source)  # the copy holds every data file of the project
    assert {"warehouse/sql/macros.sql", "schemas/registry.toml", "schemas/areas.csv"} <= data
    assert data <= names, data - names
    assert not [name for name in names if runtime_file(name)]
    assert not [name for name in names if ".duckdb" in name]
