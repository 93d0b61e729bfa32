"""Shape benchmark: ctip, DuckDB alone and a dbt-duckdb project on three inbox shapes, in one run.

Run with `make bench` (not part of `make test`). The shapes (tests/bench/shapes.py):

- provincial: one reporter, the 25 provinces, monthly, one CSV file of 12 rows a province and month;
  CTIP_BENCH_SHAPE_SMALL (default 1,200) and CTIP_BENCH_SHAPE_LARGE (default 3,564) files;
- mixed: the same files, a third each CSV, JSON and XLSX, at the same two sizes;
- large: a few large CSV files (one reporter's four years of every province and month, 21 rows a
  province and month: about 25,000 rows, 1 MB); CTIP_BENCH_BIG_SMALL (default 2) and
  CTIP_BENCH_BIG_LARGE (default 6) files.

Each tool does the same work on each inbox, into a new database, as a whole process started
as a user starts it (the time of the whole process is what counts):

- ctip: `ctip run` (no Prefect server answers for the benchmark's warehouses, so the run does its
  steps itself, as a run started by hand without `ctip serve` does), and `flows.steps.run_once` in a
  fresh interpreter (the steps alone, without the command line);
- DuckDB alone: copies each file into an archive folder (one sync of the file system per batch
  of about `BATCH_BYTES`, as ctip must keep the files before anything else), reads every file
  (one `read_csv` for the CSV files of each header line, `read_json`; workbooks through python-calamine;
  `union_by_name` over thousands of CSV files sniffs each one, 6 s of 7 at 3,564 files), checks the parts of every
  dimension against their totals, inserts the observations and joins each with the year before;
- dbt-duckdb: `dbt build` of the project in tests/bench/dbt (the files as sources, the same
  models, the parts-against-totals test), in its own virtual environment under build/, made on
  the first run (dbt-core below 1.12: 1.12's build downloads from the internet).

The marginal cost per file of a tool is (time at the larger size - time at the smaller) /
(the difference in files), of a pair of runs made back to back (the median of the pairs, with
CTIP_BENCH_SHAPE_REPEAT). Targets, printed (not asserted: they depend on the machine and on
what else runs on it): ctip's marginal cost per file at most 2x DuckDB alone's and below
dbt-duckdb's on every shape. The files loaded and the checks made are asserted, so the
benchmark cannot silently measure nothing. The run without the orchestrator is profiled on the
provincial shape (cProfile, top functions to bench/PROFILE_SHAPES.txt). CTIP_BENCH_SHAPES names the shapes
to run (default all three, comma-separated); CTIP_BENCH_SHAPE_REPEAT (default 1) runs each measure that
many times, each into a new database, and keeps the median (a loaded machine's noise exceeds the
difference of two single runs): each time every tool runs at the smaller size and then at the
larger, so that a pair is measured minutes apart at most, not a whole shape's runs apart. Before each
run, what the runs before it wrote is flushed to disk (`os.sync`, not timed).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from schemas import load_registry
from tests.bench import shapes
from tests.bench.test_bench import TIMEZONE, Bench, _list
from tests.conftest import PROJECT

pytestmark = pytest.mark.bench

DBT_PROJECT = PROJECT / "tests" / "bench" / "dbt"
DBT_VENV = PROJECT / "build" / "dbt-venv"
# dbt-core below 1.12 (its build downloads from the internet); pandas and python-calamine for the workbooks
DBT_REQUIREMENTS = ["dbt-core>=1.11,<1.12", "dbt-duckdb>=1.11,<1.12", "pandas", "python-calamine"]
PROFILE_FILE = PROJECT / "bench" / "PROFILE_SHAPES.txt"
MARGINAL_TARGET_RATIO = 2.0
CTIP = PROJECT / ".venv" / "bin" / "ctip"


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# ------------------------------------------------------------------ dbt's own environment
def dbt_executable() -> Path:
    """build/dbt-venv/bin/dbt, installed on the first call (pip from the package index); later calls find it
    at once: the requirements it was made with are written beside it, and a change makes it anew."""
    dbt, stamp = DBT_VENV / "bin" / "dbt", DBT_VENV / "ctip-requirements.txt"
    wanted = "\n".join(DBT_REQUIREMENTS) + "\n"
    if dbt.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return dbt
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(DBT_VENV)], check=True)
    subprocess.run(
        [str(DBT_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *DBT_REQUIREMENTS],
        check=True,
        timeout=1800,
    )
    stamp.write_text(wanted, encoding="utf-8")
    return dbt


# ------------------------------------------------------------------ the baseline's child process
BASELINE = r'''
import ctypes, hashlib, json, os, resource, sys, time
started = time.perf_counter()
with open(sys.argv[1], encoding="utf-8") as given:  # a file: thousands of paths are too long for one argument
    spec = json.load(given)
import duckdb

BATCH_BYTES = spec["batch_bytes"]
libc = ctypes.CDLL(None, use_errno=True)


def sync(folder):
    """One sync of the file system that holds the folder: every file written to it is on disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        if libc.syncfs(descriptor) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed")
    finally:
        os.close(descriptor)


t0 = time.perf_counter()
archive = spec["archive"]
os.makedirs(archive, exist_ok=True)
files = spec["files"]
batch = 0
for path in files:  # each file copied under its SHA-256, one sync per batch of about BATCH_BYTES
    with open(path, "rb") as handle:
        content = handle.read()
    with open(os.path.join(archive, hashlib.sha256(content).hexdigest()), "wb") as target:
        target.write(content)
    batch += len(content)
    if batch >= BATCH_BYTES:
        sync(archive)
        batch = 0
sync(archive)
archived = time.perf_counter() - t0

dims = spec["dimensions"]
columns = ["reporter", "period", "indicator", "area", *dims, "value", "status", "comment"]
empty = ", ".join(f"null::varchar as {c}" for c in columns) + ", null::varchar as filename"
by_format = {f: [p for p in files if p.endswith("." + f)] for f in ("csv", "json", "xlsx")}


def listed(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


con = duckdb.connect(spec["database"])
parts = [f"select {empty} where false"]
headers = {}  # the CSV files by their header line: one read_csv for each (union_by_name would sniff every file)
for path in by_format["csv"]:
    with open(path, "rb") as handle:
        headers.setdefault(handle.readline(), []).append(path)
for paths in headers.values():
    parts.append(f"select * from read_csv({listed(paths)}, all_varchar = true, filename = true)")
if by_format["json"]:
    parts.append(f"""select * exclude (file_reporter, reporter), coalesce(reporter, file_reporter) as reporter from (
        select {empty}, null::varchar as file_reporter where false
        union all by name
        select filename, reporter as file_reporter, unnest(observations, recursive := true)
        from read_json({listed(by_format['json'])}, union_by_name = true, filename = true))""")
if by_format["xlsx"]:
    import pyarrow as pa
    from python_calamine import CalamineWorkbook
    tables = []
    for path in by_format["xlsx"]:
        rows = CalamineWorkbook.from_path(path).get_sheet_by_name("data").to_python()
        header = [str(h) for h in rows[0]]
        cells = list(zip(*rows[1:])) if len(rows) > 1 else [()] * len(header)
        table = {h: [None if c == "" else (str(int(c)) if isinstance(c, float) and c.is_integer() else str(c))
                     for c in cells[i]] for i, h in enumerate(header)}
        table["filename"] = [path] * (len(rows) - 1)
        tables.append(pa.table(table))
    workbooks = pa.concat_tables(tables, promote_options="default")
    parts.append("select * from workbooks")
con.execute("create table raw as " + " union all by name ".join(parts))
cells = ", ".join(f"coalesce(nullif(trim({d}), ''), '_T') as {d}" for d in dims)
con.execute(f"""create temp table obs as
    select filename, reporter, period, lower(indicator) as indicator, coalesce(nullif(trim(area), ''), 'KH') as area,
           {cells}, try_cast(value as bigint) as value
    from raw""")
checks = failures = 0
for dim, leaves in spec["parts"].items():
    others = ", ".join(["filename", "reporter", "period", "indicator", "area", *[d for d in dims if d != dim]])
    named = [leaf for leaf in leaves if leaf != "_U"]
    listed_leaves = ", ".join(f"'{leaf}'" for leaf in leaves)
    listed_named = ", ".join(f"'{leaf}'" for leaf in named)
    found, failing = con.execute(f"""
        with parts as (
            select {others}, sum(value) as parts_sum,
                   count(distinct {dim}) filter (where {dim} in ({listed_named})) as named
            from obs where {dim} in ({listed_leaves}) group by all),
        totals as (select {others}, value as total from obs where {dim} = '_T')
        select count(*), count(*) filter (where parts_sum > total or (named = {len(named)} and parts_sum <> total))
        from parts join totals using ({others})""").fetchone()
    checks += found
    failures += failing
from tests.bench.baseline import store_and_compare
inserted, pairs = store_and_compare(con, dims)
rows, read_files = con.execute("select count(*), count(distinct filename) from raw").fetchone()
con.close()
result = {"seconds": time.perf_counter() - t0, "archived": archived, "checks": checks, "failures": failures,
          "inserted": inserted, "pairs": pairs, "rows": rows, "files": read_files,
          "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
          "in_process": time.perf_counter() - started}
print("RESULT " + json.dumps(result))
'''

PROFILED = r"""
import cProfile, json, pstats, sys
from pathlib import Path
from zoneinfo import ZoneInfo
spec = json.loads(sys.argv[1])
from flows import steps
from schemas import load_registry
registry = load_registry()
profiler = cProfile.Profile()
profiler.enable()
summary = steps.run_once(Path(spec["inbox"]), Path(spec["warehouse"]), registry, ZoneInfo(spec["timezone"]),
                         steps.now_utc())
profiler.disable()
with open(spec["out"], "w", encoding="utf-8") as out:
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write("== by own time ==\n")
    stats.sort_stats("tottime").print_stats(35)
    out.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(45)
print("RESULT " + json.dumps({"loaded": summary.count("loaded"), "rejected": summary.count("rejected")}))
"""


class Tools:
    """Runs each tool on an inbox, in a fresh process, timed as a whole."""

    def __init__(self, root: Path, bench: Bench, dbt: Path):
        self.root, self.bench, self.dbt = root, bench, dbt
        self.baseline_script = root / "baseline_child.py"
        self.baseline_script.write_text(BASELINE, encoding="utf-8")
        self.profile_script = root / "profile_child.py"
        self.profile_script.write_text(PROFILED, encoding="utf-8")
        registry = load_registry()
        self.dimensions = list(registry.dimension_names)
        self.parts = {
            name: [*dim.leaves, *(["_U"] if dim.unknown else [])]
            for name, dim in registry.dimensions.items()
            if 0 < len(dim.leaves) <= 12
        }

    def _process(self, command: list[str], env: dict | None = None, cwd: Path = PROJECT) -> tuple[float, str]:
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=cwd, env=env or self.bench.env, capture_output=True, text=True, timeout=3600, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            pytest.fail(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return seconds, done.stdout

    def ctip_run(self, inbox: Path, warehouse: Path) -> dict:
        """`ctip run` as a user starts it, from the start of its process to its exit; the statuses it recorded."""
        seconds, _ = self._process([str(CTIP), "run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
        with duckdb.connect(str(warehouse), read_only=True) as con:
            statuses = dict(con.execute("select status, count(*) from audit.submissions group by all").fetchall())
        return {"process": seconds, "loaded": statuses.get("loaded", 0), "rejected": statuses.get("rejected", 0)}

    def run_once(self, inbox: Path, warehouse: Path) -> dict:
        return self.bench.run("ctip", inbox=str(inbox), warehouse=str(warehouse), timezone=TIMEZONE)

    def profile(self, inbox: Path, warehouse: Path, out: Path) -> dict:
        spec = {"inbox": str(inbox), "warehouse": str(warehouse), "timezone": TIMEZONE, "out": str(out)}
        seconds, stdout = self._process([sys.executable, str(self.profile_script), json.dumps(spec)])
        return {"process": seconds, **json.loads(stdout.split("RESULT ", 1)[1])}

    def duckdb_alone(self, manifest: dict, name: str) -> dict:
        from flows.batches import BATCH_BYTES

        inbox = Path(manifest["inbox"])
        spec = {
            "files": [str(inbox / e["file"]) for e in manifest["submissions"]],
            "archive": str(self.root / f"{name}-archive"),
            "database": str(self.root / f"{name}-baseline.duckdb"),
            "batch_bytes": BATCH_BYTES,
            "dimensions": self.dimensions,
            "parts": self.parts,
        }
        spec_file = self.root / f"{name}-baseline.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        seconds, stdout = self._process([sys.executable, str(self.baseline_script), str(spec_file)])
        return {"process": seconds, **json.loads(stdout.split("RESULT ", 1)[1])}

    def dbt_build(self, manifest: dict, name: str) -> dict:
        formats = [f for f, count in manifest["formats"].items() if count]
        database = self.root / f"{name}-dbt.duckdb"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT", "VIRTUAL_ENV"))},
            "CTIP_BENCH_INBOX": manifest["inbox"],
            "CTIP_BENCH_DBT_DATABASE": str(database),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        command = [
            str(self.dbt),
            "build",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",  # the run's own folders, never inside the project
            str(self.root / f"{name}-dbt-target"),
            "--log-path",
            str(self.root / f"{name}-dbt-logs"),
            "--vars",
            json.dumps({"formats": formats}),
        ]
        seconds, stdout = self._process(command, env, cwd=self.root)
        with duckdb.connect(str(database), read_only=True) as con:
            files, rows = con.execute("select count(distinct filename), count(*) from stg_observations").fetchone()
            inserted = con.execute("select count(*) from observations").fetchone()[0]
            pairs = con.execute("select count(base_value) from year_on_year").fetchone()[0]
        assert "parts_add_up" in stdout, stdout[-2000:]  # the test ran (a failing test fails `dbt build`)
        return {"process": seconds, "files": files, "rows": rows, "inserted": inserted, "pairs": pairs}


TOOLS = ("ctip run", "ctip without orchestrator", "DuckDB alone", "dbt-duckdb")


def _measure(tools: Tools, tool: str, manifest: dict, name: Path) -> dict:
    """One run of `tool` on the inbox of `manifest`, into a new database named after `name`. What earlier runs
    wrote is flushed to disk first, outside the time measured: a file created while the disk still writes back
    another tool's run took up to 25 times as long, which went to whichever tool came next."""
    os.sync()
    inbox = Path(manifest["inbox"])
    if tool == "ctip run":
        return tools.ctip_run(inbox, name / "run" / "ctip.duckdb")
    if tool == "ctip without orchestrator":
        return tools.run_once(inbox, name / "once" / "ctip.duckdb")
    if tool == "DuckDB alone":
        return tools.duckdb_alone(manifest, name.name)
    return tools.dbt_build(manifest, name.name)


def _median(runs: list[dict]) -> dict:
    """The run of median process time."""
    return sorted(runs, key=lambda run: run["process"])[(len(runs) - 1) // 2]


SHAPES = {
    "provincial": lambda inbox, registry, files: shapes.write_provincial(inbox, registry, files),
    "mixed": lambda inbox, registry, files: shapes.write_provincial(inbox, registry, files, ("csv", "json", "xlsx")),
    "large": lambda inbox, registry, files: shapes.write_large(inbox, registry, files),
}


def test_bench_shapes(tmp_path: Path):
    registry = load_registry()
    sizes = {
        "provincial": (_size("CTIP_BENCH_SHAPE_SMALL", 1200), _size("CTIP_BENCH_SHAPE_LARGE", 3564)),
        "mixed": (_size("CTIP_BENCH_SHAPE_SMALL", 1200), _size("CTIP_BENCH_SHAPE_LARGE", 3564)),
        "large": (_size("CTIP_BENCH_BIG_SMALL", 2), _size("CTIP_BENCH_BIG_LARGE", 6)),
    }
    chosen = [s for s in (os.environ.get("CTIP_BENCH_SHAPES") or ",".join(SHAPES)).split(",") if s]
    repeat = max(1, _size("CTIP_BENCH_SHAPE_REPEAT", 1))
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    dbt = dbt_executable()
    dbt_ready = time.perf_counter() - started
    bench = Bench(tmp_path)
    tools = Tools(tmp_path, bench, dbt)

    results: dict[str, dict[str, dict]] = {}
    manifests: dict[str, dict[str, dict]] = {}
    marginals: dict[str, dict[str, float]] = {}
    for shape in chosen:
        manifests[shape] = {}
        for label, files in zip(("small", "large"), sizes[shape], strict=True):
            manifest = SHAPES[shape](tmp_path / f"{shape}-{label}-inbox", registry, files)
            assert manifest["files"] == files
            manifests[shape][label] = manifest
        runs: dict[str, dict[str, list[dict]]] = {"small": {}, "large": {}}
        for i in range(repeat):  # each tool at both sizes back to back: a pair sees the machine as it is then
            for tool in TOOLS:
                for label in ("small", "large"):
                    measured = _measure(tools, tool, manifests[shape][label], tmp_path / f"{shape}-{label}-{i}")
                    runs[label].setdefault(tool, []).append(measured)
        results[shape] = {label: {tool: _median(every) for tool, every in runs[label].items()} for label in runs}
        more = manifests[shape]["large"]["files"] - manifests[shape]["small"]["files"]
        marginals[shape] = {
            tool: statistics.median(
                (large["process"] - small["process"]) / more
                for small, large in zip(runs["small"][tool], runs["large"][tool], strict=True)
            )
            for tool in TOOLS
        }
        for label, manifest in manifests[shape].items():
            files, measured = manifest["files"], results[shape][label]
            for tool in ("ctip run", "ctip without orchestrator"):
                assert measured[tool]["loaded"] == files and measured[tool]["rejected"] == 0, (tool, measured[tool])
            for tool in ("DuckDB alone", "dbt-duckdb"):
                assert measured[tool]["files"] == files and measured[tool]["rows"] == manifest["rows"], measured[tool]
                assert measured[tool]["inserted"] == manifest["rows"], measured[tool]
            assert measured["dbt-duckdb"]["pairs"] == measured["DuckDB alone"]["pairs"], measured
            assert files < 25 * 13 or measured["DuckDB alone"]["pairs"] > 0, measured  # more than a year of months
            assert measured["DuckDB alone"]["checks"] > 0 and measured["DuckDB alone"]["failures"] == 0

    profiled = None
    if "provincial" in chosen:
        manifest = manifests["provincial"]["large"]
        profiled = tools.profile(Path(manifest["inbox"]), tmp_path / "profiled" / "ctip.duckdb", PROFILE_FILE)
        assert profiled["loaded"] == manifest["files"], profiled

    lines = [
        "",
        f"ctip shape bench: {os.cpu_count()} CPUs; each measure the median of {repeat} run(s) "
        f"(CTIP_BENCH_SHAPE_REPEAT); the dbt environment ready in {dbt_ready:.1f} s",
        "seconds: each tool's whole process, as a user starts it (the median run); marginal: the median of each "
        "pair's (large - small) / (files more), the two sizes of a pair run back to back",
    ]
    header = (
        f"{'shape':<11} {'tool':<26} {'files':>11} {'rows':>15} {'small s':>8} {'large s':>8} "
        f"{'ms/file':>8} {'x DuckDB':>8}"
    )
    lines += [header, "-" * len(header)]
    verdicts = []
    for shape, measured in results.items():
        small, large = manifests[shape]["small"], manifests[shape]["large"]
        marginal = marginals[shape]
        for tool, cost in marginal.items():
            lines.append(
                f"{shape:<11} {tool:<26} {small['files']:>5}/{large['files']:<5} "
                f"{small['rows']:>7}/{large['rows']:<7} {measured['small'][tool]['process']:>8.2f} "
                f"{measured['large'][tool]['process']:>8.2f} {cost * 1000:>8.2f} "
                f"{cost / marginal['DuckDB alone']:>8.2f}"
            )
        for tool in ("ctip run", "ctip without orchestrator"):
            ratio = marginal[tool] / marginal["DuckDB alone"]
            met = ratio <= MARGINAL_TARGET_RATIO and marginal[tool] < marginal["dbt-duckdb"]
            verdicts.append(
                f"target, {shape}, {tool}: {marginal[tool] * 1000:.2f} ms/file, {ratio:.2f}x DuckDB alone "
                f"(at most {MARGINAL_TARGET_RATIO:.0f}x), dbt-duckdb {marginal['dbt-duckdb'] * 1000:.2f} ms/file -> "
                + ("met" if met else "missed")
            )
        base = measured["large"]["DuckDB alone"]
        lines.append(
            f"{shape:<11} DuckDB alone at the larger size: archive {base['archived']:.2f} s of {base['seconds']:.2f} s "
            f"(job); parts checked {base['checks']:,}; year-on-year pairs {base['pairs']:,}"
        )
    lines += ["", *verdicts]
    if profiled is not None:
        lines.append(f"profile of the run without the orchestrator, provincial, larger size: {PROFILE_FILE.name}")
    lines.append(
        f"load average at the start {_list(load_before)}, at the end {_list(list(os.getloadavg()))} (1, 5, 15 minutes)"
    )
    print("\n".join(lines))
