"""Scale benchmark: ctip's nightly job on generated inboxes of two sizes, beside a DuckDB-only baseline.

Run with `make bench` (not part of `make test`). Sizes, in files: CTIP_BENCH_SMALL (default 200)
and CTIP_BENCH_LARGE (default 2000); CTIP_BENCH_REPEAT (default 3) is how many times the short
runs (nothing new, the orchestrator's start-up) are repeated, their median reported.

Every measured job runs in a fresh Python process, so that its peak memory (ru_maxrss) is
its own and no import is already warm. Measured:

- ctip's job without the orchestrator (`flows.steps.run_once`) loading each inbox into a new
  warehouse, then a run right after that finds nothing new (the fixed cost);
- one new file added to the large warehouse;
- through the Prefect flow: a run that finds nothing new, and an empty flow (the
  orchestrator's own start-up, temporary server included);
- the baseline, DuckDB alone doing the least the job needs: one `read_csv` over the CSV
  files, the parts-against-total check of one dimension (sex) as a group-by, an insert
  into a table, and the year-on-year self-join;
- the large load once more under pyinstrument, then one new file after it; the top of both
  profiles goes to bench/PROFILE.txt.

Speed targets are printed, not asserted (the figures depend on the machine and on what else
runs on it); the numbers of files loaded and rows read are asserted, so the benchmark cannot
silently measure nothing.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from flows.generate import encode, write_inbox
from schemas import load_registry
from tests.conftest import PROJECT
from transforms.generate import Synthesiser, plan, provinces

pytestmark = pytest.mark.bench

PROFILE_FILE = PROJECT / "bench" / "PROFILE.txt"
YEARS = [2018, 2019]  # two years, so that the year-on-year comparison has pairs
SEED = 2026
TODAY = date(2026, 11, 28)
TIMEZONE = "Asia/Phnom_Penh"
NOTHING_NEW_TARGET_SECONDS = 3.0  # above the orchestrator's own start-up
ONE_NEW_TARGET_RATIO = 2.0  # times the nothing-new run
MARGINAL_TARGET_RATIO = 2.0  # times the baseline's marginal cost per file
FILES_PER_AREA = 5 * 12 * len(YEARS)  # every reporter, every month (calendar reports, a few per year, besides)


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# ------------------------------------------------------------ child process
CHILD = r'''
import json, resource, sys, time
started = time.perf_counter()
spec = json.loads(sys.argv[1])
job = spec["job"]


def summary_counts(summary):
    return {
        "loaded": summary.count("loaded"), "rejected": summary.count("rejected"),
        "duplicates": summary.count("duplicate"), "unchanged": summary.already_received, "ignored": len(summary.ignored),
    }


if job in ("ctip", "ctip-profile"):
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from flows import steps
    from schemas import load_registry
    registry = load_registry()
    imported = time.perf_counter()
    profiler = None
    if job == "ctip-profile":
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.002)
        profiler.start()
    t0 = time.perf_counter()
    summary = steps.run_once(Path(spec["inbox"]), Path(spec["warehouse"]), registry, ZoneInfo(spec["timezone"]),
                             steps.now_utc())
    seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        Path(spec["tree"]).write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")
        Path(spec["flat"]).write_text(profiler.output_text(unicode=False, color=False, flat=True), encoding="utf-8")
        Path(spec["flat_total"]).write_text(
            profiler.output_text(unicode=False, color=False, flat=True, flat_time="total"), encoding="utf-8")
    result = {"seconds": seconds, "imports": imported - started, **summary_counts(summary)}
elif job == "prefect-noop":
    t0 = time.perf_counter()
    from prefect import flow

    @flow(name="bench-noop")
    def noop() -> int:
        return 0

    noop()
    result = {"seconds": time.perf_counter() - t0}
elif job == "prefect-ctip":
    t0 = time.perf_counter()
    from flows.nightly import nightly
    summary = nightly(inbox=spec["inbox"], warehouse=spec["warehouse"], timezone=spec["timezone"])
    result = {"seconds": time.perf_counter() - t0, **summary_counts(summary)}
elif job == "prefect-backfill":
    t0 = time.perf_counter()
    from flows.backfill import backfill
    replayed = backfill(first_period="1900", last_period="2999", warehouse=spec["warehouse"], timezone=spec["timezone"],
                        show_progress=False)
    result = {"seconds": time.perf_counter() - t0, "loaded": replayed.count("loaded"),
              "rejected": replayed.count("rejected"), "findings": len(replayed.findings)}
elif job == "baseline":
    import duckdb
    t0 = time.perf_counter()
    dims = ["sex", "age", "citizenship", "referral", "offence", "country"]
    files = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in spec["files"]) + "]"
    con = duckdb.connect(spec["database"])
    con.execute(f"create table raw as select * from read_csv({files}, all_varchar = true, union_by_name = true, "
                "filename = true)")
    present = {row[0] for row in con.execute("describe raw").fetchall()}
    cells = ", ".join((f"coalesce(nullif({d}, ''), '_T')" if d in present else "'_T'") + f" as {d}" for d in dims)
    con.execute(f"""create temp table obs as
        select filename, reporter, period, indicator, coalesce(nullif(area, ''), 'KH') as area, {cells},
               try_cast(value as bigint) as value
        from raw""")
    others = "filename, reporter, period, indicator, area, age, citizenship, referral, offence, country"
    checks, failures = con.execute(f"""
        with parts as (
            select {others}, sum(value) as parts_sum, count(distinct sex) filter (where sex in ('F', 'M')) as leaves
            from obs where sex in ('F', 'M', '_U') group by all),
        totals as (select {others}, value as total from obs where sex = '_T')
        select count(*), count(*) filter (where parts_sum > total or (leaves = 2 and parts_sum <> total))
        from parts join totals using ({others})""").fetchone()
    from tests.bench.baseline import store_and_compare
    inserted, pairs = store_and_compare(con, dims)
    con.close()
    result = {"seconds": time.perf_counter() - t0, "checks": checks, "failures": failures, "inserted": inserted,
              "pairs": pairs}
    with duckdb.connect(spec["database"], read_only=True) as check:
        result["rows"] = check.execute("select count(*) from raw").fetchone()[0]
        result["files"] = check.execute("select count(distinct filename) from raw").fetchone()[0]
else:
    raise SystemExit(f"unknown job {job}")

result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result["in_process"] = time.perf_counter() - started
print("RESULT " + json.dumps(result))
'''


class Bench:
    def __init__(self, root: Path):
        self.root = root
        self.script = root / "bench_child.py"
        self.script.write_text(CHILD, encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        self.env.update(
            PREFECT_HOME=str(root / "prefect-home"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
            # a loaded machine can take longer than the default 20 s to start the temporary server
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        )

    def run(self, job: str, **spec) -> dict:
        """One job in a fresh interpreter; its result, with `process` the wall time of the whole process."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(self.script), json.dumps({"job": job, **spec})],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        process = time.perf_counter() - started
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            pytest.fail(f"bench job {job} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return {**json.loads(lines[-1][len("RESULT ") :]), "process": process}

    def repeated(self, times: int, job: str, **spec) -> dict:
        """The job `times` times; the run of median process time, with every process time kept."""
        runs = [self.run(job, **spec) for _ in range(times)]
        ordered = sorted(runs, key=lambda r: r["process"])
        chosen = dict(ordered[(len(ordered) - 1) // 2])
        chosen["all_process"] = [r["process"] for r in runs]
        chosen["all_seconds"] = [r["seconds"] for r in runs]
        chosen["seconds"] = statistics.median(chosen["all_seconds"])
        return chosen


def _inbox(root: Path, name: str, files: int) -> tuple[Path, dict]:
    """A generated inbox of `files` files: every reporter, two years, as many areas as it takes."""
    registry = load_registry()
    areas = ["KH", *provinces(registry)][: max(1, math.ceil((files + 1) / FILES_PER_AREA))]
    assert len(areas) * FILES_PER_AREA > files, "sizes above 3,120 files need more years"
    inbox = root / name
    manifest = write_inbox(
        inbox,
        YEARS,
        seed=SEED,
        invalid_share=0.01,
        areas=areas,
        today=TODAY,
        limit=files,
        manifest=root / f"{name}-manifest.json",
        registry=registry,
    )
    assert manifest["files"] == files
    return inbox, {**manifest, "areas_list": areas}


def _add_one_file(inbox: Path, manifest: dict, after: int = 0) -> dict:
    """A planned submission beyond the inbox's (valid), written now: a new file for an existing warehouse."""
    registry = load_registry()
    planned = plan(registry, YEARS, SEED, manifest["areas_list"], None, TODAY)[manifest["files"] + after]
    frame = Synthesiser(registry, SEED).submission(planned)
    path = inbox / planned.file_name
    assert not path.exists()
    path.write_bytes(encode(frame, planned, registry))
    return {"file": planned.file_name, "rows": frame.height}


def _csv_files(inbox: Path, manifest: dict) -> tuple[list[str], int]:
    entries = [e for e in manifest["submissions"] if e["format"] == "csv"]
    return [str(inbox / e["file"]) for e in entries], sum(e["rows"] for e in entries)


def _check_load(result: dict, manifest: dict) -> None:
    assert result["loaded"] == manifest["valid"], result
    assert result["rejected"] == manifest["invalid"], result
    assert result["duplicates"] == 0 and result["unchanged"] == 0, result


def _check_nothing_new(result: dict, files: int) -> None:
    assert result["loaded"] == result["rejected"] == 0 and result["unchanged"] == files, result


def _profile_lines(path: Path) -> list[str]:
    """pyinstrument's text output without its banner (everything before the first blank line after it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Profile at")), -1) + 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    return lines[start:]


def _profile_paths(root: Path, name: str) -> dict[str, str]:
    return {part: str(root / f"{name}-{part}.txt") for part in ("tree", "flat", "flat_total")}


def _write_profile(root: Path, files: int, rows: int, result: dict, one_new: dict) -> None:
    tree = _profile_lines(root / "large-tree.txt")
    flat = _profile_lines(root / "large-flat.txt")
    flat_total = _profile_lines(root / "large-flat_total.txt")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    text = [
        "Profile of ctip's job without the orchestrator (flows.steps.run_once) loading the large inbox",
        f"into a new warehouse: {files:,} files, {rows:,} rows, {result['seconds']:.1f} s under pyinstrument",
        f"(sampling every 2 ms), peak memory {result['peak_mb']:.0f} MB, {os.cpu_count()} CPUs, load average "
        f"{load} when it ended (other processes share the machine: wall-clock times are noisy).",
        "Written by `make bench` (tests/bench/test_bench.py).",
        "",
        "== Call tree (library frames collapsed, frames under 1% of the time hidden) ==",
        *tree[:150],
        "",
        "== Self time by function (top 40) ==",
        *flat[:40],
        "",
        "== Total time by function, callees included (top 40) ==",
        *flat_total[:40],
        "",
        f"== One new file for that warehouse: call tree ({one_new['seconds']:.1f} s under pyinstrument) ==",
        *_profile_lines(root / "one-tree.txt")[:60],
    ]
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROFILE_FILE.write_text("\n".join(text).rstrip() + "\n", encoding="utf-8")


def _row(label: str, files, rows, seconds, process, peak, width: int = 44) -> str:
    rate = f"{rows / seconds:,.0f}" if rows and seconds else "-"
    return (
        f"{label:<{width}} {files if files is not None else '-':>6} {rows if rows is not None else '-':>8} "
        f"{seconds:>9.2f} {process:>9.2f} {rate:>10} {peak:>8.0f}"
    )


def test_bench(tmp_path):
    small_files, large_files = _size("CTIP_BENCH_SMALL", 200), _size("CTIP_BENCH_LARGE", 2000)
    repeat = max(1, _size("CTIP_BENCH_REPEAT", 3))
    assert 0 < small_files < large_files
    bench = Bench(tmp_path)
    load_before = list(os.getloadavg())

    started = time.perf_counter()
    small_inbox, small = _inbox(tmp_path, "small", small_files)
    large_inbox, large = _inbox(tmp_path, "large", large_files)
    generated = time.perf_counter() - started
    small_wh, large_wh = tmp_path / "small-wh" / "ctip.duckdb", tmp_path / "large-wh" / "ctip.duckdb"
    common = {"timezone": TIMEZONE}

    # ctip without the orchestrator: a load, then a run right after that finds nothing new
    small_load = bench.run("ctip", inbox=str(small_inbox), warehouse=str(small_wh), **common)
    _check_load(small_load, small)
    small_again = bench.repeated(repeat, "ctip", inbox=str(small_inbox), warehouse=str(small_wh), **common)
    _check_nothing_new(small_again, small_files)

    large_load = bench.run("ctip", inbox=str(large_inbox), warehouse=str(large_wh), **common)
    _check_load(large_load, large)
    large_again = bench.repeated(repeat, "ctip", inbox=str(large_inbox), warehouse=str(large_wh), **common)
    _check_nothing_new(large_again, large_files)

    # through the Prefect flow: the orchestrator's own start-up, then a run that finds nothing new
    bench.run("prefect-noop")  # first start in a new PREFECT_HOME builds its database: not measured
    prefect_noop = bench.repeated(repeat, "prefect-noop")
    prefect_again = bench.repeated(repeat, "prefect-ctip", inbox=str(large_inbox), warehouse=str(large_wh), **common)
    _check_nothing_new(prefect_again, large_files)

    # one new file for the large warehouse
    new_file = _add_one_file(large_inbox, large)
    one_new = bench.run("ctip", inbox=str(large_inbox), warehouse=str(large_wh), **common)
    assert one_new["loaded"] == 1 and one_new["rejected"] == 0 and one_new["unchanged"] == large_files, one_new

    # the baseline: DuckDB alone, over the CSV files
    baselines = {}
    for name, inbox, manifest in (("small", small_inbox, small), ("large", large_inbox, large)):
        files, rows = _csv_files(inbox, manifest)
        result = bench.run("baseline", files=files, database=str(tmp_path / f"baseline-{name}.duckdb"))
        assert result["files"] == len(files) and result["rows"] == rows, (result, len(files), rows)
        assert result["checks"] > 0 and (result["pairs"] > 0 or name == "small"), result  # small may be one year
        baselines[name] = result

    # the large load once more, profiled
    profiled_wh = tmp_path / "profiled-wh" / "ctip.duckdb"
    profiled = bench.run(
        "ctip-profile",
        inbox=str(large_inbox),
        warehouse=str(profiled_wh),
        **_profile_paths(tmp_path, "large"),
        **common,
    )
    assert profiled["loaded"] == large["valid"] + 1, profiled  # the new file is in the inbox now
    # and one more new file, profiled, to see where the time of a small run goes
    _add_one_file(large_inbox, large, after=1)
    profiled_one = bench.run(
        "ctip-profile", inbox=str(large_inbox), warehouse=str(profiled_wh), **_profile_paths(tmp_path, "one"), **common
    )
    assert profiled_one["loaded"] == 1 and profiled_one["unchanged"] == large_files + 1, profiled_one
    _write_profile(tmp_path, large_files + 1, large["rows"] + new_file["rows"], profiled, profiled_one)

    # ------------------------------------------------------------ report
    marginal = (large_load["seconds"] - small_load["seconds"]) / (large_files - small_files)
    marginal_rows = (large_load["seconds"] - small_load["seconds"]) / (large["rows"] - small["rows"])
    base_small, base_large = baselines["small"], baselines["large"]
    base_marginal = (base_large["seconds"] - base_small["seconds"]) / (base_large["files"] - base_small["files"])
    base_marginal_rows = (base_large["seconds"] - base_small["seconds"]) / (base_large["rows"] - base_small["rows"])
    startup_gap = prefect_again["process"] - prefect_noop["process"]
    one_new_ratio = one_new["seconds"] / large_again["seconds"]
    one_new_process_ratio = one_new["process"] / large_again["process"]

    header = f"{'job':<44} {'files':>6} {'rows':>8} {'job s':>9} {'process s':>9} {'rows/s':>10} {'peak MB':>8}"
    lines = [
        "",
        f"ctip bench: {os.cpu_count()} CPUs, small {small_files} files, large {large_files} files, "
        f"short runs repeated {repeat}x (median); generating both inboxes took {generated:.1f} s",
        "job s: the job itself, in its process; process s: the whole process (interpreter, imports, job, exit)",
        header,
        "-" * len(header),
        _row(
            "ctip run_once, small, new warehouse",
            small_files,
            small["rows"],
            small_load["seconds"],
            small_load["process"],
            small_load["peak_mb"],
        ),
        _row(
            "ctip run_once, small, nothing new (fixed)",
            small_files,
            0,
            small_again["seconds"],
            small_again["process"],
            small_again["peak_mb"],
        ),
        _row(
            "ctip run_once, large, new warehouse",
            large_files,
            large["rows"],
            large_load["seconds"],
            large_load["process"],
            large_load["peak_mb"],
        ),
        _row(
            "ctip run_once, large, nothing new (fixed)",
            large_files,
            0,
            large_again["seconds"],
            large_again["process"],
            large_again["peak_mb"],
        ),
        _row(
            "ctip run_once, large + 1 new file",
            1,
            new_file["rows"],
            one_new["seconds"],
            one_new["process"],
            one_new["peak_mb"],
        ),
        _row(
            "Prefect flow ctip-nightly, large, nothing new",
            large_files,
            0,
            prefect_again["seconds"],
            prefect_again["process"],
            prefect_again["peak_mb"],
        ),
        _row(
            "Prefect empty flow (orchestrator start-up)",
            0,
            0,
            prefect_noop["seconds"],
            prefect_noop["process"],
            prefect_noop["peak_mb"],
        ),
        _row(
            "baseline DuckDB, small (CSV files only)",
            base_small["files"],
            base_small["rows"],
            base_small["seconds"],
            base_small["process"],
            base_small["peak_mb"],
        ),
        _row(
            "baseline DuckDB, large (CSV files only)",
            base_large["files"],
            base_large["rows"],
            base_large["seconds"],
            base_large["process"],
            base_large["peak_mb"],
        ),
        _row(
            "ctip run_once, large, profiled (pyinstrument)",
            large_files + 1,
            None,
            profiled["seconds"],
            profiled["process"],
            profiled["peak_mb"],
        ),
        _row(
            "ctip run_once, +1 new file, profiled",
            1,
            None,
            profiled_one["seconds"],
            profiled_one["process"],
            profiled_one["peak_mb"],
        ),
        "",
        f"repeated runs, process s: ctip small nothing new {_list(small_again['all_process'])}; "
        f"ctip large nothing new {_list(large_again['all_process'])}; Prefect nothing new "
        f"{_list(prefect_again['all_process'])}; Prefect empty flow {_list(prefect_noop['all_process'])}",
        f"fixed cost (nothing new, job s): small {small_again['seconds']:.2f}, large {large_again['seconds']:.2f}; "
        f"imports before the job: {large_again['imports']:.2f} s",
        f"marginal cost per file: ctip {marginal * 1000:.2f} ms, baseline {base_marginal * 1000:.2f} ms, "
        f"ratio {marginal / base_marginal:,.2f}x",
        f"marginal cost per row:  ctip {marginal_rows * 1e6:.0f} us, baseline {base_marginal_rows * 1e6:.2f} us, "
        f"ratio {marginal_rows / base_marginal_rows:,.2f}x",
        f"target: marginal cost per file at most {MARGINAL_TARGET_RATIO:.0f}x the baseline's: "
        f"{marginal / base_marginal:.2f}x -> "
        + ("met" if marginal / base_marginal <= MARGINAL_TARGET_RATIO else "missed"),
        f"target: nothing new through Prefect within {NOTHING_NEW_TARGET_SECONDS:.0f} s of Prefect's own start-up: "
        f"{prefect_again['process']:.2f} - {prefect_noop['process']:.2f} = {startup_gap:+.2f} s -> "
        + (
            "met"
            if startup_gap <= NOTHING_NEW_TARGET_SECONDS
            else f"missed by {startup_gap - NOTHING_NEW_TARGET_SECONDS:.2f} s"
        ),
        f"target: one new file at most {ONE_NEW_TARGET_RATIO:.0f}x the nothing-new run: job {one_new['seconds']:.2f} s "
        f"= {one_new_ratio:.1f}x -> "
        + (
            "met"
            if one_new_ratio <= ONE_NEW_TARGET_RATIO
            else f"missed by {one_new['seconds'] - ONE_NEW_TARGET_RATIO * large_again['seconds']:.2f} s"
        )
        + f"; whole process {one_new['process']:.2f} s = {one_new_process_ratio:.1f}x -> "
        + (
            "met"
            if one_new_process_ratio <= ONE_NEW_TARGET_RATIO
            else f"missed by {one_new['process'] - ONE_NEW_TARGET_RATIO * large_again['process']:.2f} s"
        ),
        f"baseline checks (sex parts against totals): small {base_small['checks']:,} ({base_small['failures']} failing), "
        f"large {base_large['checks']:,} ({base_large['failures']} failing); year-on-year pairs: small "
        f"{base_small['pairs']:,}, large {base_large['pairs']:,}",
        f"profile written to {PROFILE_FILE.relative_to(PROJECT)}; load average at the start "
        f"{_list(load_before)}, at the end {_list(list(os.getloadavg()))} (1, 5, 15 minutes)",
        "Figures are noisy: other processes may share the machine's CPUs.",
    ]
    print("\n".join(lines))


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"
