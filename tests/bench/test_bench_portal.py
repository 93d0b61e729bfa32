"""The portal's answer time: 200 generated uploads from 4 senders at once, beside `ctip validate` in one process.

Run with `make bench`. The portal runs in its own process on 127.0.0.1 (warm: Great Expectations
and the registry loaded once); four threads, one account per reporter, upload CSV, JSON and
XLSX files from a generated inbox (about a hundred rows each, some invalid on purpose) and
time each answer from the first byte sent to the receipt. The same files then go through
`check_files` (what `ctip validate` runs) one at a time in one warm process. The target is
printed, not asserted: p95 answer time for a typical file below one second on this machine.
Files: CTIP_BENCH_UPLOADS (default 200).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import httpx
import pytest

from flows.checking import check_files
from flows.generate import write_inbox
from flows.settings import Settings
from schemas import load_registry
from tests.conftest import PROJECT
from tests.flows.portal_server import free_port
from warehouse.accounts import AccountStore
from warehouse.layout import WarehouseFiles

pytestmark = pytest.mark.bench

SENDERS = 4
P95_TARGET_SECONDS = 1.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_portal_answer_time(tmp_path):
    uploads = int(os.environ.get("CTIP_BENCH_UPLOADS") or 200)
    registry = load_registry()
    generated = tmp_path / "generated"
    manifest = write_inbox(
        generated, [2018, 2019], seed=7, invalid_share=0.05, areas=None, today=date(2026, 11, 28), limit=uploads
    )
    entries = manifest["submissions"][:uploads]
    assert len(entries) == uploads
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    warehouse.parent.mkdir(parents=True)
    store = AccountStore(WarehouseFiles(warehouse).accounts_db)
    passwords = {code: store.add(f"clerk-{code.lower()}", code) for code in registry.reporters}

    port = free_port()
    env = {**os.environ, "CTIP_INBOX": str(inbox), "CTIP_WAREHOUSE": str(warehouse)}
    ctip = [sys.executable, "-c", "import sys; sys.argv[0] = 'ctip'; from flows.cli import app; app()"]
    server = subprocess.Popen(
        [*ctip, "portal", "--port", str(port)], env=env, cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        server.stdout.readline()
        while True:
            try:
                httpx.get(f"{url}/api/v1/health")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        # one upload to warm the process (Great Expectations is imported on the first judgement)
        warm = generated / entries[0]["file"]
        httpx.post(
            f"{url}/api/v1/submissions",
            auth=(f"clerk-{entries[0]['reporter'].lower()}", passwords[entries[0]["reporter"]]),
            files={"file": ("warm-" + warm.name, warm.read_bytes() + b"\n")},
            timeout=120,
        )

        answers: list[tuple[float, int, int]] = []
        lock = threading.Lock()

        def send(entry: dict) -> None:
            path = generated / entry["file"]
            content = path.read_bytes()
            started = time.perf_counter()
            answer = httpx.post(
                f"{url}/api/v1/submissions",
                auth=(f"clerk-{entry['reporter'].lower()}", passwords[entry["reporter"]]),
                files={"file": (path.name, content)},
                timeout=120,
            )
            elapsed = time.perf_counter() - started
            with lock:
                answers.append((elapsed, answer.status_code, entry["rows"]))

        started = time.perf_counter()
        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(send, entries))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert sorted({status for _, status, _ in answers}) == [201]
    times = [t for t, _, _ in answers]
    settings = Settings(inbox=inbox, warehouse=warehouse)
    check_files([generated / entries[0]["file"]], settings, registry, datetime.now(UTC))  # warm, as the portal is
    validate_times = []
    for entry in entries:
        begun = time.perf_counter()
        check_files([generated / entry["file"]], settings, registry, datetime.now(UTC))
        validate_times.append(time.perf_counter() - begun)
    rows = [r for _, _, r in answers]
    load = os.getloadavg()
    print()
    print(
        f"portal answer time, {uploads} uploads from {SENDERS} senders at once "
        f"({min(rows)}-{max(rows)} rows, median {statistics.median(rows):.0f}; load average {load[0]:.2f}):"
    )
    print(
        f"  portal:   p50 {percentile(times, 0.5) * 1000:7.0f} ms   p95 {percentile(times, 0.95) * 1000:7.0f} ms   "
        f"max {max(times) * 1000:7.0f} ms   {uploads / wall:5.1f} uploads/s"
    )
    print(
        f"  validate: p50 {percentile(validate_times, 0.5) * 1000:7.0f} ms   "
        f"p95 {percentile(validate_times, 0.95) * 1000:7.0f} ms   (one file at a time, one warm process)"
    )
    print(
        f"  ratio:    p50 {percentile(times, 0.5) / percentile(validate_times, 0.5):4.1f}x   "
        f"p95 {percentile(times, 0.95) / percentile(validate_times, 0.95):4.1f}x   (portal to one validation)"
    )
    verdict = "met" if percentile(times, 0.95) < P95_TARGET_SECONDS else "MISSED"
    print(f"  target: portal p95 below {P95_TARGET_SECONDS:.0f} s: {verdict}")
