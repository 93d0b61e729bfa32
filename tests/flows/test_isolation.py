"""Nothing one file does stops the night: a file ctip fails on is set aside, the others go on.

Hostile files are rejected with a finding; a file on which ctip itself fails (an error
while reading, validating or loading it, or runs that die while handling it) is
rejected with rule `unreadable` and a message naming the failure, so later runs do
not retry it forever; copied into the inbox again under another name, it is tried anew.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows import steps
from flows.batches import Pending
from flows.cli import app
from schemas import load_registry
from schemas.shapes import Receipt
from tests.conftest import FILES, PROJECT, SEED, ctip_run_command, run_ctip, run_python
from tests.flows.conftest import NOW, ZONE, query, run, write_inbox
from warehouse import loading
from warehouse.layout import WarehouseFiles

BAD = FILES / "bad"
SEED_CSV = (SEED / "ncct_2019-S1.csv").read_bytes()
MOI_CSV = b"reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n"
POISON_MARK = "POISON"  # a comment that makes the injected defect fire on this file only
POISON_CSV = f"reporter,period,indicator,value,comment\nMOJ,2019-S1,suspects_to_court,12,{POISON_MARK}\n".encode()
runner = CliRunner()


def statuses(warehouse: Path) -> dict[str, str]:
    return dict(query(warehouse, "select file_name, status from audit.submissions"))


# ------------------------------------------------- hostile file, then a valid one
@pytest.mark.parametrize(
    "hostile",
    [
        "json_lone_surrogate_in_value.json",
        "json_lone_surrogate_in_key.json",
        "json_repeated_key.json",
        "xlsx_prefixed_grid_bomb.xlsx",
        "shared_string_long.xlsx",
        "too_many_columns.csv",
    ],
)
def test_hostile_file_received_then_valid_file_added_next_run_exits_0(tmp_path, hostile):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {hostile: (BAD / hostile).read_bytes()})
    first = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    assert first.exit_code == 0, first.output
    assert statuses(warehouse) == {hostile: "rejected"}
    (inbox / hostile).unlink()  # removed from the inbox, as an operator would
    write_inbox(inbox, {"ncct_2019-S1.csv": SEED_CSV})
    second = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    assert second.exit_code == 0, second.output
    assert statuses(warehouse) == {hostile: "rejected", "ncct_2019-S1.csv": "loaded"}
    assert query(warehouse, "select count(*) from core.observations") == [(16,)]


# ------------------------------------------------- ctip's own failure on one file
def _fail_on_poison(original):
    def wrapper(frame, *args, **kwargs):
        if "comment" in frame.columns and frame["comment"].str.contains(POISON_MARK).any():
            raise RuntimeError("injected defect while normalising")
        return original(frame, *args, **kwargs)

    return wrapper


def test_failure_while_validating_one_file_sets_it_aside_and_loads_the_others(paths, monkeypatch):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "poison.csv": POISON_CSV, "moi.csv": MOI_CSV})
    monkeypatch.setattr(steps, "normalise", _fail_on_poison(steps.normalise))
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"ncct.csv": "loaded", "poison.csv": "rejected", "moi.csv": "loaded"}
    [finding] = [f for f in summary.findings if f["severity"] == "error"]
    assert finding["rule"] == "unreadable"
    assert "RuntimeError: injected defect while normalising" in finding["message"]
    assert steps.RETRY_HINT in finding["message"]
    assert run(inbox, warehouse, NOW).submissions == []  # not retried by later runs

    # Retried on purpose: the same bytes under another name are tried anew (here, without the defect).
    monkeypatch.undo()
    write_inbox(inbox, {"poison again.csv": POISON_CSV}, start_mtime=1_800_000_000)
    again = run(inbox, warehouse)
    assert [(s["file_name"], s["status"]) for s in again.submissions] == [("poison again.csv", "loaded")]


def test_failure_while_reading_one_file_sets_it_aside(paths, monkeypatch):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "poison.csv": POISON_CSV})
    original = steps.read_columns

    def reading(content, file_format, limits, *rest):
        if POISON_MARK.encode() in content:
            raise MemoryError("injected failure while reading")
        return original(content, file_format, limits, *rest)

    monkeypatch.setattr(steps, "read_columns", reading)
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"ncct.csv": "loaded", "poison.csv": "rejected"}
    assert any("MemoryError: injected failure while reading" in f["message"] for f in summary.findings)


def test_failure_while_loading_one_file_sets_it_aside_and_loads_the_others(paths, monkeypatch):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "poison.csv": POISON_CSV, "moi.csv": MOI_CSV})
    original = loading.load_decisions

    def load_decisions(writer, decisions, observations, findings, periods=None):
        if any(d.receipt.file_name == "poison.csv" and d.status == "loaded" for d in decisions):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "injected failure while loading")
        return original(writer, decisions, observations, findings, periods)

    monkeypatch.setattr(loading, "load_decisions", load_decisions)
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"ncct.csv": "loaded", "poison.csv": "rejected", "moi.csv": "loaded"}
    assert query(warehouse, "select count(*) from core.observations where reporter = 'MOJ'") == [(0,)]
    [finding] = [f for f in summary.findings if f["severity"] == "error"]
    assert "while loading" in finding["message"] and "UnicodeEncodeError" in finding["message"]


# --------------------------------------------------- a file that kills the process
DIES_ON_POISON = textwrap.dedent(
    f"""
    import os, signal, sys
    from datetime import datetime, timezone
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from flows import steps
    from schemas import load_registry
    original, beginning = steps.read_columns, steps.begin_batch
    def reading(content, file_format, limits, *rest):
        if {POISON_MARK.encode()!r} in content:
            os.kill(os.getpid(), signal.SIGABRT)  # as a reader that aborts the process would
        if os.environ.get("CTIP_TEST_STOP_WHILE_READING") == "1":
            raise KeyboardInterrupt  # stopped (Ctrl-C, or SIGTERM as the command line turns it into an exit)
        return original(content, file_format, limits, *rest)
    def begin(writer, batch):
        print("batch of", len(batch.originals()), flush=True)
        if os.environ.get("CTIP_TEST_KILL_AT_FIRST_BATCH") == "1":
            beginning(writer, batch)
            os.kill(os.getpid(), signal.SIGKILL)  # as the machine going down would
        beginning(writer, batch)
    steps.read_columns, steps.begin_batch = reading, begin
    steps.run_once(Path(sys.argv[1]), Path(sys.argv[2]), load_registry(), ZoneInfo("Asia/Phnom_Penh"),
                   datetime.now(timezone.utc))
    print("done", flush=True)
    """
)


@pytest.mark.slow  # processes killed
def test_file_that_kills_the_process_is_set_aside_after_two_runs(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "poison.csv": POISON_CSV, "moi.csv": MOI_CSV})
    for _ in range(steps.MAX_ATTEMPTS):
        child = run_python(DIES_ON_POISON, str(inbox), str(warehouse))
        assert child.returncode == -signal.SIGABRT, child.stderr[-2000:]
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"ncct.csv": "loaded", "poison.csv": "rejected", "moi.csv": "loaded"}
    # The second run handled each file it had tried alone, so the first file got done then.
    assert {s["file_name"]: s["status"] for s in summary.submissions} == {"poison.csv": "rejected", "moi.csv": "loaded"}
    [finding] = [f for f in summary.findings if f["severity"] == "error"]
    assert finding["rule"] == "unreadable" and f"stopped {steps.MAX_ATTEMPTS} times" in finding["message"]
    assert steps.RETRY_HINT in finding["message"]
    assert query(warehouse, "select file_name from audit.findings where rule = 'unreadable'") == [("poison.csv",)]


def batches_begun(child) -> list[int]:
    """The number of files of each batch a DIES_ON_POISON child began, in order."""
    return [int(line.removeprefix("batch of ")) for line in child.stdout.splitlines() if line.startswith("batch of")]


@pytest.mark.slow  # processes killed
def test_a_file_that_kills_the_process_among_many_is_narrowed_down_and_set_aside(paths):
    inbox, warehouse = paths
    names = [f"moi {n:02}.csv" for n in range(70)]
    files = {name: MOI_CSV.replace(b"75", str(100 + n).encode()) for n, name in enumerate(names)}
    files = {**dict(list(files.items())[:40]), "poison.csv": POISON_CSV, **dict(list(files.items())[40:])}
    write_inbox(inbox, files)
    begun = []
    for _ in range(3):  # all 71 together, then batches of 2 (71 / 64, rounded up), then the poison's batch alone
        child = run_python(DIES_ON_POISON, str(inbox), str(warehouse))
        assert child.returncode == -signal.SIGABRT, child.stderr[-2000:]
        begun.append(batches_begun(child))
    assert begun[0] == [71]
    assert begun[1] == [2] * 20 + [2]  # the files before the poison loaded two by two; the poison's batch stops
    assert begun[2] == [1]  # the poison first: the other file of its batch was not begun alone yet
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {**dict.fromkeys(names, "loaded"), "poison.csv": "rejected"}
    [finding] = [f for f in summary.findings if f["severity"] == "error"]
    assert finding["rule"] == "unreadable" and "stopped 3 times" in finding["message"]
    # every inbox file counted once: finished before ("already done"), or finished now
    assert (summary.already_received, len(summary.submissions)) == (40, 31)


@pytest.mark.slow  # processes killed
def test_a_run_stopped_by_something_else_costs_the_next_run_a_few_batches(paths):
    inbox, warehouse = paths
    names = [f"moi {n:03}.csv" for n in range(130)]
    write_inbox(inbox, {name: MOI_CSV.replace(b"75", str(100 + n).encode()) for n, name in enumerate(names)})
    killed = run_python(
        DIES_ON_POISON, str(inbox), str(warehouse), env={**os.environ, "CTIP_TEST_KILL_AT_FIRST_BATCH": "1"}
    )
    assert killed.returncode == -signal.SIGKILL and batches_begun(killed) == [130]
    after = run_python(DIES_ON_POISON, str(inbox), str(warehouse))
    assert after.returncode == 0, after.stderr[-2000:]
    assert batches_begun(after) == [3] * 43 + [1]  # 130 / 64, rounded up: 3 files a batch, not 130 batches of one
    assert statuses(warehouse) == dict.fromkeys(names, "loaded")


@pytest.mark.slow  # processes stopped
def test_a_run_stopped_not_killed_takes_its_attempt_back(paths):
    """Stopped (Ctrl-C, SIGTERM), a run rolls its batch back and takes back the attempt it counted: none of the
    batch's files stopped it, so the next run handles them together, as if this one had not begun them."""
    inbox, warehouse = paths
    names = [f"moi {n:03}.csv" for n in range(130)]
    write_inbox(inbox, {name: MOI_CSV.replace(b"75", str(100 + n).encode()) for n, name in enumerate(names)})
    stopped = run_python(
        DIES_ON_POISON, str(inbox), str(warehouse), env={**os.environ, "CTIP_TEST_STOP_WHILE_READING": "1"}
    )
    assert stopped.returncode != 0 and "KeyboardInterrupt" in stopped.stderr and batches_begun(stopped) == [130]
    after = run_python(DIES_ON_POISON, str(inbox), str(warehouse))
    assert after.returncode == 0, after.stderr[-2000:]
    assert batches_begun(after) == [130]
    assert statuses(warehouse) == dict.fromkeys(names, "loaded")


def _receipts(count: int) -> list[Receipt]:
    return [Receipt(n, f"id{n}", f"f{n}.csv", "csv", 100, NOW, NOW) for n in range(1, count + 1)]


def _batches(receipts: list[Receipt], tried: dict[int, int], originals: dict[str, int] | None = None):
    originals = {r.submission_id: r.sequence for r in receipts} if originals is None else originals
    return [[r.sequence for r in batch.receipts] for batch in Pending(receipts, originals, {}, tried).batches(1)]


def test_a_receipt_begun_alone_goes_alone_again():
    assert _batches(_receipts(5), {3: 1}) == [[1, 2], [3], [4, 5]]


def test_the_files_of_a_batch_begun_before_go_in_batches_of_a_64th_of_it():
    receipts = _receipts(12)
    begun = dict.fromkeys(range(3, 11), 500)  # 3 to 10 begun in a batch of 500: 8 files a batch at most
    assert _batches(receipts, begun) == [[1, 2], list(range(3, 11)), [11, 12]]
    begun = dict.fromkeys(range(3, 11), 200)  # ... of 200: 4 at most
    assert _batches(receipts, begun) == [[1, 2], [3, 4, 5, 6], [7, 8, 9, 10], [11, 12]]
    begun = dict.fromkeys(range(3, 11), 64)  # ... of 64 or fewer: each alone
    assert _batches(receipts, begun) == [[1, 2], *([n] for n in range(3, 11)), [11, 12]]
    # Begun by two runs, in batches of different sizes: apart.
    assert _batches(receipts, {**dict.fromkeys(range(1, 7), 200), **dict.fromkeys(range(7, 13), 128)}) == [
        [1, 2, 3, 4],
        [5, 6],
        [7, 8],
        [9, 10],
        [11, 12],
    ]


def test_a_duplicate_stays_where_it_falls_among_files_begun_before():
    receipts = _receipts(6)
    originals = {"id1": 1, "id2": 2, "id3": 3, "id5": 5, "id6": 6}  # receipt 4 repeats the bytes of 1
    receipts[3] = Receipt(4, "id1", "f4.csv", "csv", 100, NOW, NOW)
    assert _batches(receipts, {2: 1, 3: 1}, originals) == [[1], [2], [3, 4], [5, 6]]


# ------------------------------------------------------------- what is taken
def test_links_devices_and_pipes_are_never_taken(paths, tmp_path):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"root:$6$very-secret-hash:19000:0:99999:7:::\n")
    (inbox / "shadow.csv").symlink_to(secret)
    (inbox / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(inbox / "pipe.csv")
    (inbox / "zero.csv").symlink_to("/dev/zero")
    (inbox / "folder.csv").mkdir()
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"ncct.csv": "loaded"}
    assert sorted(summary.ignored) == ["dangling.json", "folder.csv", "pipe.csv", "shadow.csv", "zero.csv"]
    archived = [p for p in WarehouseFiles(warehouse).archive_dir.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in archived] == [SEED_CSV]
    assert "secret" not in str(query(warehouse, "select * from audit.findings"))


def test_archive_is_readable_only_by_its_owner(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    previous = os.umask(0o022)
    try:
        run(inbox, warehouse)
    finally:
        os.umask(previous)
    archive = WarehouseFiles(warehouse).archive_dir
    folders = [archive, *[p for p in archive.rglob("*") if p.is_dir()]]
    files = [p for p in archive.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in folders)


def test_file_name_that_is_not_utf8_is_taken_and_named(paths):
    inbox, warehouse = paths
    inbox.mkdir(parents=True)
    name = os.fsdecode(b"caf\xe9 2019-S1.csv")
    (inbox / name).write_bytes(SEED_CSV)
    (inbox / os.fsdecode(b"bad \xff.csv")).write_bytes(b"reporter,period,indicator,value\nMOI,2019-S1,cases,x\n")
    summary = run(inbox, warehouse)
    assert statuses(warehouse) == {"caf\\xe9 2019-S1.csv": "loaded", "bad \\xff.csv": "rejected"}
    assert {s["file_name"] for s in summary.submissions} == {"caf\\xe9 2019-S1.csv", "bad \\xff.csv"}
    assert run(inbox, warehouse).already_received == 2  # the same names and bytes are recognised as done


def test_a_file_beyond_the_size_limit_is_archived_and_rejected_without_being_read(paths, registry, monkeypatch):
    import dataclasses

    inbox, warehouse = paths
    small = dataclasses.replace(registry, limits=dataclasses.replace(registry.limits, max_file_bytes=200))
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "moi.csv": MOI_CSV})
    read = []
    original = steps.read_columns
    monkeypatch.setattr(
        steps, "read_columns", lambda c, f, limits, *rest: read.append(len(c)) or original(c, f, limits, *rest)
    )
    steps.run_once(inbox, warehouse, small, steps.ZoneInfo("Asia/Phnom_Penh"), NOW)
    assert statuses(warehouse) == {"ncct.csv": "rejected", "moi.csv": "loaded"}
    assert read == [len(MOI_CSV)]
    [message] = [m for (m,) in query(warehouse, "select message from audit.findings where file_name = 'ncct.csv'")]
    assert f"the file is {len(SEED_CSV):,} bytes; the limit is 200 bytes" in message


# ----------------------------------------------------- the run's own processes
def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# The temporary Prefect server a run starts for a fan-out on Dask when no server answers for its warehouse,
# entered as the run enters it (SIGTERM handled as the run handles it).
WITH_TEMPORARY_SERVER = """
import time
from flows.nightly import temporary_server
from flows.orchestrator import stop_on_sigterm
with stop_on_sigterm(), temporary_server():
    print("up", flush=True)
    time.sleep(600)
"""


def _temporary_server_started(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """A process inside a run's temporary Prefect server, once the server answers; and that server's pid.
    Its Prefect home is new, as on a new machine: the server's first start makes its database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(PROJECT),
    )
    process = subprocess.Popen(
        [sys.executable, "-c", WITH_TEMPORARY_SERVER],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = process.stdout.readline()
    servers = [pid for pid in _children(process.pid) if "uvicorn" in (Path("/proc") / str(pid) / "cmdline").read_text()]
    assert output == "up\n" and servers, output + process.stdout.read() if process.poll() is not None else output
    return process, servers


def _gone(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftover = [pid for pid in pids if _alive(pid)]
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    return not leftover


@pytest.mark.slow  # processes killed
def test_killed_run_leaves_no_server_behind(tmp_path):
    process, servers = _temporary_server_started(tmp_path)
    process.kill()  # SIGKILL to the run alone: no clean-up of its own can run
    process.wait()
    assert _gone(servers, 30)


@pytest.mark.slow  # processes killed
def test_sigterm_stops_a_run_with_a_temporary_server_and_its_server(tmp_path):
    process, servers = _temporary_server_started(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert _gone(servers, 15)


@pytest.mark.slow  # processes killed
def test_sigterm_stops_the_run_within_seconds_and_the_next_run_loads_everything(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    names = [f"ncct {n}.csv" for n in range(40)]
    write_inbox(inbox, {name: SEED_CSV.replace(b"human", name.encode()) for name in names})
    process = subprocess.Popen(
        ctip_run_command(inbox, warehouse), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    archive = WarehouseFiles(warehouse).archive_dir
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:  # under way: the archive is being written
        if archive.is_dir() and any(archive.iterdir()):
            break
        time.sleep(0.05)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    said = process.stdout.read()
    assert process.returncode == 128 + signal.SIGTERM, said
    assert "ctip run stopped (SIGTERM)" in said and "next run finishes" in said and "Traceback" not in said
    assert time.monotonic() - sent < 30
    assert run_ctip(ctip_run_command(inbox, warehouse), timeout=300).returncode == 0
    assert statuses(warehouse) == dict.fromkeys(names, "loaded")


def test_a_commit_the_disk_fails_is_the_disks_failure_not_the_files(tmp_path, registry):
    """A full disk fails the commit, and DuckDB has then ended the transaction: the rollback's own error ("no
    transaction is active") must not hide the disk's, which `load_isolated` lets end the run instead of setting
    the file aside as one ctip failed on."""
    import duckdb

    from warehouse.database import Writer, open_writer

    class DiskFull:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *rest):
            if sql == "commit":
                self.con.execute("rollback")
                raise duckdb.IOException("could not write: No space left on device")
            if sql == "rollback":
                raise duckdb.TransactionException("cannot rollback - no transaction is active")
            return self.con.execute(sql, *rest)

        def __getattr__(self, name):
            return getattr(self.con, name)

    with open_writer(WarehouseFiles(tmp_path / "w" / "ctip.duckdb"), registry) as writer:
        full = Writer(DiskFull(writer.con), writer.registry, writer.files)
        with pytest.raises(duckdb.IOException, match="No space left"), loading.load_transaction(full):
            pass


DIES_BEFORE_NOTICES = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, timezone
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from flows import notices, steps
    from schemas import load_registry
    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before any notice is given
    notices.after_run = killed
    steps.run_once(Path(sys.argv[1]), Path(sys.argv[2]), load_registry(), ZoneInfo("Asia/Phnom_Penh"),
                   datetime.now(timezone.utc))
    """
)


@pytest.mark.slow  # a process killed
def test_a_rejection_notice_a_killed_run_did_not_give_is_given_by_the_next(paths, monkeypatch):
    from aiosmtpd.controller import Controller

    from flows.local_server import free_port

    inbox, warehouse = paths
    draft = (PROJECT / "data" / "inbox" / "mosvy_2019-Q2_draft.csv").read_bytes()  # rejected on purpose
    write_inbox(inbox, {"mosvy_2019-Q2_draft.csv": draft, "moi.csv": MOI_CSV})
    killed = run_python(DIES_BEFORE_NOTICES, str(inbox), str(warehouse))
    assert killed.returncode == -signal.SIGKILL
    assert statuses(warehouse) == {"mosvy_2019-Q2_draft.csv": "rejected", "moi.csv": "loaded"}  # committed

    class Mailbox:
        def __init__(self):
            self.received = []

        async def handle_DATA(self, server, session, envelope):
            self.received.append(envelope.rcpt_tos)
            return "250 OK"

    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("CTIP_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("CTIP_MAIL_FROM", "ctip@ncct.gov.kh")
        summary = run(inbox, warehouse)
        assert summary.submissions == [] and "1 sent" in summary.notices  # nothing new, and the notice given
        assert mailbox.received == [["statistics@mosvy.gov.kh"]]
        assert "0 sent" in run(inbox, warehouse).notices  # once
    finally:
        controller.stop()


def test_validation_pages_that_cannot_be_written_fail_no_run(paths, monkeypatch):
    """The pages are a view of what is loaded: a folder the run cannot write (full, read-only) is said in the
    summary, and the run, whose batches are committed, goes on to summarise and give its notices."""
    from flows import datadocs

    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "moi.csv": MOI_CSV})

    def unwritable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "docs/validations")

    monkeypatch.setattr(datadocs, "write_site", unwritable)
    summary = steps.run_once(inbox, warehouse, load_registry(), ZONE, NOW, validation_pages=True)
    assert summary.count("loaded") == 2 and summary.docs is None and summary.notices
    assert "PermissionError" in summary.docs_failed and statuses(warehouse) == dict.fromkeys(
        ["ncct.csv", "moi.csv"], "loaded"
    )
