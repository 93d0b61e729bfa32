"""Shared fixtures: the registry, the real files in tests/files/, paths for a run, a Prefect harness.

Also which tests run: the benchmarks (`bench`) only when `-m` names them, and every test that uses
the Prefect harness is `slow`, as are the files that mark themselves so (`pytest -m "not slow"` skips them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import load_registry

PROJECT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).parent / "files"
SEED = FILES / "seed"
SEED_INBOX = {"ncct_2019-S1.csv": (SEED / "ncct_2019-S1.csv").read_bytes()}  # the seed report as an inbox holds it


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not loaded (`-p no:xdist`)
def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores. Many tests wait on what they start (a server coming up, a
    child process killed and its successor, a lock held by another process); the extra worker's tests use the
    cores meanwhile."""
    from flows.settings import usable_cores

    return usable_cores() + 1


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker and pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """`make test` spreads single tests over the workers (`--dist loadgroup`) but keeps together on one worker
    the tests that share the Prefect harness (one temporary server) and those of a file that share a
    fixture built once per file, so that nothing is built twice."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("prefect_harness"))
        elif fixtures and any(
            definition.scope == "module"
            for definitions in fixtures.name2fixturedefs.values()
            for definition in definitions
        ):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=_starts_late)
    if "bench" in (config.getoption("markexpr") or ""):
        return
    benchmarks = [item for item in items if item.get_closest_marker("bench")]
    if benchmarks:
        config.hook.pytest_deselected(items=benchmarks)
        items[:] = [item for item in items if not item.get_closest_marker("bench")]


def _starts_late(item: pytest.Item) -> bool:
    """Long tests first, short ones after (a stable sort): pytest-xdist hands out the groups largest first,
    then single tests in this order, so the long ones (servers, killed processes, Hypothesis properties that
    load a warehouse per example) do not start last and keep one worker busy while the other waits."""
    return not (item.get_closest_marker("slow") or getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def seed_files() -> dict[str, Path]:
    """The seed report (NCCT, 2019-S1 with 2018-S1 restated) in each format."""
    return {fmt: SEED / f"ncct_2019-S1.{fmt}" for fmt in ("csv", "json", "xlsx")}


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect server for the whole session, heartbeat off."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=180):  # a fresh database migrates slowly on a busy machine
            yield


@pytest.fixture
def synced(monkeypatch) -> list[tuple[str, Path]]:
    """Every flush to disk and rename of this process, in order: ("fsync", the path of the flushed file or
    folder), ("syncfs", the path whose whole file system was flushed) and ("replace", the target renamed over)."""
    from warehouse import durable

    events: list[tuple[str, Path]] = []
    fsync, replace, sync_file_system = os.fsync, os.replace, durable.sync_file_system

    def recording_sync_file_system(path: Path) -> None:
        sync_file_system(path)
        events.append(("syncfs", Path(path)))

    def recording_fsync(descriptor: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{descriptor}"))))
        fsync(descriptor)

    def recording_replace(source, target) -> None:
        replace(source, target)
        events.append(("replace", Path(target)))

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    monkeypatch.setattr(durable, "sync_file_system", recording_sync_file_system)
    return events


def put_in_place(events: list[tuple[str, Path]], target: Path) -> None:
    """Assert that `target` was written under a hidden temporary name (beside it, or in the archive's top
    folder while its name is not known yet), that file flushed, renamed over `target`, then its folder flushed;
    or, for files put in place together, their file system flushed before the renames and once more after them."""
    assert ("replace", target) in events, f"{target} was not renamed into place"
    at = events.index(("replace", target))
    flushes = [(i, event) for i, event in enumerate(events) if event[0] != "replace"]
    before = [event for i, event in flushes if i < at][-1:]
    after = [event for i, event in flushes if i > at][:1]
    if before and before[0][0] == "syncfs":
        assert before[0][1].parent in target.parents, before  # the file system of the archive
        assert after and after[0][0] == "syncfs", events[at + 1 :]
        return
    kind, flushed = events[at - 1]
    assert kind == "fsync" and flushed.name.startswith(".") and flushed.parent in target.parents, events[at - 1]
    assert events[at + 1] == ("fsync", target.parent), events[at + 1 :]


@pytest.fixture(autouse=True)
def _no_project_warehouse(tmp_path, monkeypatch):
    """A command run without --warehouse or --inbox never touches the project's own files; and a run writes
    no validation pages unless its test asks for them (CTIP_VALIDATION_PAGES=1 or `validation_pages=True`)."""
    monkeypatch.setenv("CTIP_WAREHOUSE", str(tmp_path / "default-warehouse" / "ctip.duckdb"))
    monkeypatch.setenv("CTIP_INBOX", str(tmp_path / "default-inbox"))
    monkeypatch.setenv("CTIP_VALIDATION_PAGES", "0")


# Debian's Chromium for the browser tests (Playwright downloads no browser here), and how they start it.
CHROMIUM = "/usr/bin/chromium"
# The browser tests are skipped on a machine without it.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no Chromium at /usr/bin/chromium (Debian's chromium)"
)
# A font that draws Khmer (Debian's fonts-khmeros, or Noto Sans Khmer): the tests that check Khmer text is drawn
# with one are skipped without it.
KHMER_FONT = any(Path("/usr/share/fonts").rglob("*[Kk]hmer*")) if Path("/usr/share/fonts").is_dir() else False
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


CTIP = str(Path(sys.executable).with_name("ctip"))  # the command installed beside this Python


def ctip_run_command(inbox: Path, warehouse: Path) -> list[str]:
    """`ctip run` on `inbox` into `warehouse`, as a person types it, for a child process."""
    return [CTIP, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]


def run_ctip(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """`command` (see `ctip_run_command`) in a child process, its output captured as text."""
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def run_python(
    code: str, *args: str, timeout: float | None = 300, env: dict[str, str] | None = None, **options
) -> subprocess.CompletedProcess:
    """`python -c CODE ARGS...` in a child process that imports this project from its folder, in this
    process's environment or `env`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(PROJECT)},
        **options,
    )
