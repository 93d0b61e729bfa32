"""The package builds without setuptools warnings and carries its data files (templates, SQL, registry)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# pip's own notes about the machine's package index configuration, not about ctip
PIP_INDEX_NOTE = re.compile(r"^WARNING: Location '.*' is ignored")


def test_the_wheel_builds_without_warnings_and_holds_every_data_file(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path), str(PROJECT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    said = [line for line in (built.stdout + built.stderr).splitlines() if not PIP_INDEX_NOTE.match(line)]
    assert not [line for line in said if "warning" in line.lower()], "\n".join(said)[-3000:]
    [wheel] = tmp_path.glob("ctip-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {
        p.relative_to(PROJECT).as_posix()
        for folder in ("flows", "schemas", "warehouse")
        for p in (PROJECT / folder).rglob("*")
        if p.suffix in {".j2", ".sql", ".toml", ".csv"}
    }
    assert data and data <= names, data - names
