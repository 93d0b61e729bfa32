"""The portal's API and forms against a real server on 127.0.0.1 (REPORTING.md sections 1 and 2)."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from flows import steps
from flows.checking import check_files
from tests.conftest import FILES, PROJECT, SEED
from tests.flows.conftest import query, run
from tests.flows.portal_server import free_port, running_portal
from warehouse.archive import Archive, sha256_of
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.uploads import UploadLedger

SAMPLE = PROJECT / "data" / "inbox"
DRAFT = (SAMPLE / "mosvy_2019-Q2_draft.csv").read_bytes()  # rejected on purpose: parts_differ_from_total
FIXED = DRAFT.replace(b"Y_GE18,95,", b"Y_GE18,97,")
SEED_CSV = (SEED / "ncct_2019-S1.csv").read_bytes()


@pytest.fixture
def portal(tmp_path, registry):
    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", registry) as running:
        yield running


def inbox_files(portal) -> list[str]:
    return sorted(p.name for p in portal.settings.inbox.iterdir()) if portal.settings.inbox.exists() else []


def archived(portal, content: bytes) -> bool:
    return Archive(WarehouseFiles(portal.settings.warehouse).archive_dir).path_of(sha256_of(content)).exists()


def test_health_answers_without_credentials(portal):
    answer = httpx.get(f"{portal.url}/api/v1/health")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_missing_wrong_and_disabled_credentials_get_401_without_a_challenge(portal):
    user, password = portal.add("sokha", "MOSVY")
    refusals = [
        httpx.get(f"{portal.url}/api/v1/submissions"),
        httpx.get(f"{portal.url}/api/v1/submissions", auth=(user, password + "x")),
        httpx.get(f"{portal.url}/api/v1/submissions", headers={"Authorization": "Basic !!not-base64!!"}),
        portal.upload((user, "wrong"), "mosvy.csv", FIXED),
    ]
    portal.accounts.disable(user)
    refusals.append(httpx.get(f"{portal.url}/api/v1/submissions", auth=(user, password)))
    refusals.append(portal.upload((user, password), "mosvy.csv", FIXED))
    assert [r.status_code for r in refusals] == [401] * 6
    assert not any("www-authenticate" in r.headers for r in refusals)
    assert inbox_files(portal) == []


def test_an_invalid_upload_gets_the_findings_of_ctip_validate_and_is_kept_for_the_run(portal, registry, tmp_path):
    credentials = portal.add("sokha", "MOSVY")
    answer = portal.upload(credentials, "mosvy_2019-Q2_draft.csv", DRAFT)
    assert answer.status_code == 201
    receipt = answer.json()
    (expected,) = check_files([SAMPLE / "mosvy_2019-Q2_draft.csv"], portal.settings, registry, receipt_time(receipt))
    assert receipt["verdict"] == "invalid" and receipt["state"] == "waiting"
    assert (receipt["errors"], receipt["warnings"]) == (expected["errors"], expected["warnings"]) == (1, 0)
    assert receipt["findings"] == [
        {k: f[k] for k in ("severity", "rule", "row_number", "column_name", "message")} for f in expected["findings"]
    ]
    assert receipt["submission_id"] == sha256_of(DRAFT)
    assert (receipt["file_name"], receipt["reporter"], receipt["uploaded_by"]) == (
        "mosvy_2019-Q2_draft.csv",
        "MOSVY",
        "sokha",
    )
    assert receipt["sequence"] is None and receipt["received_at"] is None
    assert archived(portal, DRAFT)
    assert inbox_files(portal) == ["mosvy_2019-Q2_draft.csv"]
    assert (portal.settings.inbox / "mosvy_2019-Q2_draft.csv").read_bytes() == DRAFT


def test_a_judge_in_a_process_of_its_own_gives_the_findings_of_ctip_validate(tmp_path, registry):
    """`ctip portal` validates in warm processes of its own; their answers are those of `ctip validate`."""
    import flows.portal.intake as intake

    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", registry, True) as portal:
        credentials = portal.add("sokha", "MOSVY")
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda n: portal.upload(credentials, *n).json(), [("draft.csv", DRAFT), ("fixed.csv", FIXED)])
            )
        judge = portal.app.state.intake._judge
        processes = [process for pool in judge._pools for process in pool._processes.values()]  # the judges
    assert len(processes) == intake.judge_processes()  # one per core, started with the portal ...
    assert not any(process.is_alive() for process in processes)  # ... and ended with it
    for content, answer in zip([DRAFT, FIXED], answers, strict=True):
        alone = tmp_path / answer["file_name"]
        alone.write_bytes(content)
        (expected,) = check_files([alone], portal.settings, registry, receipt_time(answer))
        assert [(f["rule"], f["row_number"], f["message"]) for f in answer["findings"]] == [
            (f["rule"], f["row_number"], f["message"]) for f in expected["findings"]
        ]
    assert [a["verdict"] for a in answers] == ["invalid", "valid"]
    assert sorted(p.name for p in portal.settings.inbox.iterdir()) == sorted(a["file_name"] for a in answers)


def test_uploads_sent_at_once_are_judged_together_each_on_its_own(portal, registry, monkeypatch, tmp_path):
    """Four clerks upload at once: the first validation is held until all four uploads are in; those it did not
    take are then judged in one validation, and each answer is what `ctip validate` gives for that file alone."""
    import flows.portal.intake as intake

    spool = WarehouseFiles(portal.settings.warehouse).upload_spool_dir
    validations: list[list[str]] = []

    def held_first(files, *arguments, **options):
        deadline = time.monotonic() + 60
        while not validations and sum(p.is_file() for p in spool.iterdir()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # the four uploads are spooled: one being judged, three waiting
        validations.append([path.name for path in files])
        return check_files(files, *arguments, **options)

    monkeypatch.setattr(intake, "check_files", held_first)
    contents = [DRAFT, FIXED, DRAFT.replace(b"2019-Q2", b"2019-Q1"), FIXED.replace(b"2019-Q2", b"2019-Q1")]
    senders = [portal.add(f"clerk{number}", "MOSVY") for number in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: portal.upload(senders[n], f"mosvy-{n}.csv", contents[n]).json(), range(4)))
    assert sum(len(files) for files in validations) == 4 and len(validations) <= 2
    for number, answer in enumerate(answers):
        alone = tmp_path / f"alone-{number}" / f"mosvy-{number}.csv"
        alone.parent.mkdir()
        alone.write_bytes(contents[number])
        (expected,) = check_files([alone], portal.settings, registry, receipt_time(answer))
        assert answer["verdict"] == ("invalid" if number % 2 == 0 else "valid")
        assert [(f["rule"], f["row_number"], f["message"]) for f in answer["findings"]] == [
            (f["rule"], f["row_number"], f["message"]) for f in expected["findings"]
        ]


def test_a_validation_about_to_start_takes_the_uploads_on_their_way_to_it(tmp_path, registry, monkeypatch):
    """An upload still being read and checked when a validation is about to start joins it, instead of waiting
    for it to end and then for a validation of its own."""
    from concurrent.futures import wait

    import flows.portal.intake as intake
    from flows.settings import Settings

    batches: list[list[str]] = []

    def judged(files, *arguments, **options):
        batches.append([path.name for path in files])
        return [{"errors": 0, "warnings": 0, "findings": []} for _ in files]

    monkeypatch.setattr(intake, "check_files", judged)
    monkeypatch.setattr(intake, "GATHER_SECONDS", 60.0)
    judge = intake._Judge(Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "w" / "ctip.duckdb"), registry)
    judge.spool_dir.mkdir(parents=True)
    for name in ("a", "b"):
        (judge.spool_dir / name).write_bytes(FIXED)
    with judge.arriving():  # b is being read and checked
        first = judge.submit(judge.spool_dir / "a", "a.csv")
        assert not wait([first], timeout=0.3).done  # a waits for b ...
        second = judge.submit(judge.spool_dir / "b", "b.csv")
    assert first.result(timeout=60) == second.result(timeout=60)
    assert batches == [["a.csv", "b.csv"]]  # ... and both are judged in one validation


def test_an_upload_is_judged_beside_a_batch_being_judged(tmp_path, registry, monkeypatch):
    """With a judging process per core, an upload that arrives while another batch is judged is judged at once
    on another core, not after that batch."""
    import threading

    import flows.portal.intake as intake
    from flows.settings import Settings

    monkeypatch.setattr(intake, "judge_processes", lambda: 2)
    monkeypatch.setattr(intake, "_judge_process", lambda registry: None)  # the batches are only recorded
    release, batches = threading.Event(), []

    def judged(judge, uploads, seat=0, lang="en"):
        batches.append((seat, [name for _, name in uploads]))
        if uploads[0][1] == "a.csv":
            release.wait(60)
        return [{"errors": 0, "warnings": 0, "findings": []} for _ in uploads]

    monkeypatch.setattr(intake._Judge, "_judge_together", judged)
    judge = intake._Judge(Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "w" / "ctip.duckdb"), registry, True)
    first = judge.submit(tmp_path / "a", "a.csv")
    deadline = time.monotonic() + 60
    while not batches and time.monotonic() < deadline:
        time.sleep(0.01)
    second = judge.submit(tmp_path / "b", "b.csv")
    assert second.result(timeout=60) == {"errors": 0, "warnings": 0, "findings": []}
    assert not first.done()  # b was answered while a was still being judged
    release.set()
    first.result(timeout=60)
    assert sorted(seat for seat, _ in batches) == [0, 1]  # each batch by a judge of its own
    assert sorted(names for _, names in batches) == [["a.csv"], ["b.csv"]]


def test_uploads_waiting_for_two_free_judges_are_shared_between_them(tmp_path, registry, monkeypatch):
    """Two uploads that arrive together while both judges are free are judged one by each, at the same time."""
    import threading

    import flows.portal.intake as intake
    from flows.settings import Settings

    monkeypatch.setattr(intake, "judge_processes", lambda: 2)
    monkeypatch.setattr(intake, "_judge_process", lambda registry: None)  # the batches are only recorded
    monkeypatch.setattr(intake, "GATHER_SECONDS", 60.0)
    batches, both = [], threading.Barrier(2, timeout=10)

    def judged(judge, uploads, seat=0, lang="en"):
        batches.append((seat, [name for _, name in uploads]))
        both.wait()  # each judge waits for the other: neither batch holds both uploads
        return [{"errors": 0, "warnings": 0, "findings": []} for _ in uploads]

    monkeypatch.setattr(intake._Judge, "_judge_together", judged)
    judge = intake._Judge(Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "w" / "ctip.duckdb"), registry, True)
    with judge.arriving():  # both uploads are in before either judge takes any
        uploads = [judge.submit(tmp_path / name, f"{name}.csv") for name in ("a", "b")]
        deadline = time.monotonic() + 60
        while judge._free < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [upload.result(timeout=60)["errors"] for upload in uploads] == [0, 0]
    assert sorted(seat for seat, _ in batches) == [0, 1]
    assert sorted(names for _, names in batches) == [["a.csv"], ["b.csv"]]


def receipt_time(receipt):
    from datetime import datetime

    return datetime.fromisoformat(receipt["uploaded_at"])


def test_the_next_run_receives_uploads_with_their_uploader_and_time(portal):
    credentials = portal.add("sokha", "MOSVY")
    draft = portal.upload(credentials, "mosvy_2019-Q2_draft.csv", DRAFT).json()
    fixed = portal.upload(credentials, "mosvy_2019-Q2_fixed.csv", FIXED).json()
    assert (draft["verdict"], fixed["verdict"]) == ("invalid", "valid")
    run(portal.settings.inbox, portal.settings.warehouse)
    rows = query(
        portal.settings.warehouse,
        "select file_name, status, uploaded_by, uploaded_at from audit.submissions order by sequence",
    )
    assert [(name, status, by) for name, status, by, _ in rows] == [
        ("mosvy_2019-Q2_draft.csv", "rejected", "sokha"),
        ("mosvy_2019-Q2_fixed.csv", "loaded", "sokha"),
    ]
    assert [at.isoformat() for *_, at in rows] == [draft["uploaded_at"], fixed["uploaded_at"]]
    states = {
        r["file_name"]: r for r in httpx.get(f"{portal.url}/api/v1/submissions", auth=credentials).json()["submissions"]
    }
    assert (states["mosvy_2019-Q2_draft.csv"]["state"], states["mosvy_2019-Q2_fixed.csv"]["state"]) == (
        "rejected",
        "loaded",
    )
    assert states["mosvy_2019-Q2_fixed.csv"]["sequence"] == 2 and states["mosvy_2019-Q2_fixed.csv"]["received_at"]
    assert list(states) == ["mosvy_2019-Q2_fixed.csv", "mosvy_2019-Q2_draft.csv"]  # newest first
    # The answer pages say what became of each file, no longer what the next run will do.
    client = signed_in(portal, *credentials)
    loaded = client.get(f"/submissions/{fixed['submission_id']}").text
    rejected = client.get(f"/submissions/{draft['submission_id']}").text
    assert "Loaded: the file" in loaded and "next run" not in loaded
    assert "Rejected: 1 error" in rejected and "next run" not in rejected


def test_a_file_found_valid_and_rejected_by_the_run_shows_the_runs_errors(portal, monkeypatch):
    """ctip failed on the file in the run (it is set aside, rule unreadable): its receipt, as it stands now, gives
    that error beside the answer at upload, so the sender is never left with a rejection and no reason."""
    credentials = portal.add("sokha", "MOSVY")
    answer = portal.upload(credentials, "mosvy.csv", FIXED).json()
    assert (answer["verdict"], answer["errors"]) == ("valid", 0)
    original = steps.normalise

    def failing(frame, *rest, **named):
        raise RuntimeError("injected defect while normalising")

    monkeypatch.setattr(steps, "normalise", failing)
    run(portal.settings.inbox, portal.settings.warehouse)
    monkeypatch.setattr(steps, "normalise", original)
    now = httpx.get(f"{portal.url}/api/v1/submissions/{answer['submission_id']}", auth=credentials).json()
    assert (now["verdict"], now["state"], now["errors"]) == ("valid", "rejected", 1)
    assert [f["rule"] for f in now["findings"] if f["severity"] == "error"] == ["unreadable"]
    page = signed_in(portal, *credentials).get(f"/submissions/{answer['submission_id']}").text
    assert "Rejected: 1 error" in page and "injected defect" in page


def test_the_same_bytes_twice_are_a_duplicate_and_not_put_in_the_inbox_again(portal):
    credentials = portal.add("sokha", "MOSVY")
    first = portal.upload(credentials, "mosvy.csv", FIXED).json()
    again = portal.upload(credentials, "mosvy again.csv", FIXED)
    assert again.status_code == 201
    assert (again.json()["verdict"], again.json()["state"]) == ("duplicate", "duplicate")
    assert inbox_files(portal) == ["mosvy.csv"]
    one = httpx.get(f"{portal.url}/api/v1/submissions/{first['submission_id']}", auth=credentials).json()
    assert (one["file_name"], one["uploaded_at"], one["verdict"]) == ("mosvy.csv", first["uploaded_at"], "valid")


def test_bytes_received_through_the_inbox_folder_are_a_duplicate_too(portal):
    credentials = portal.add("analyst", "NCCT")
    portal.settings.inbox.mkdir(parents=True)
    (portal.settings.inbox / "ncct_2019-S1.csv").write_bytes(SEED_CSV)
    run(portal.settings.inbox, portal.settings.warehouse)
    answer = portal.upload(credentials, "seed.csv", SEED_CSV).json()
    assert (answer["verdict"], answer["state"]) == ("duplicate", "duplicate")
    assert inbox_files(portal) == ["ncct_2019-S1.csv"]
    # the first upload of those bytes: its uploader finds its receipt, alone and in the list, as it was answered
    one = httpx.get(f"{portal.url}/api/v1/submissions/{answer['submission_id']}", auth=credentials)
    assert one.status_code == 200 and one.json() == answer
    listed = httpx.get(f"{portal.url}/api/v1/submissions", auth=credentials).json()["submissions"]
    assert listed == [answer]
    again = portal.upload(credentials, "seed again.csv", SEED_CSV).json()
    assert (again["verdict"], again["file_name"]) == ("duplicate", "seed again.csv")
    assert httpx.get(f"{portal.url}/api/v1/submissions/{answer['submission_id']}", auth=credentials).json() == answer
    other = portal.add("sokha", "MOSVY")
    assert httpx.get(f"{portal.url}/api/v1/submissions/{answer['submission_id']}", auth=other).status_code == 404
    run(portal.settings.inbox, portal.settings.warehouse)  # the run gives the inbox file no uploader
    assert query(portal.settings.warehouse, "select file_name, uploaded_by from audit.submissions") == [
        ("ncct_2019-S1.csv", None)
    ]


def test_a_file_of_another_reporter_gets_403_and_nothing_is_kept(portal):
    credentials = portal.add("sokha", "MOSVY")
    refused = portal.upload(credentials, "ncct.csv", SEED_CSV)
    assert refused.status_code == 403 and "NCCT" in refused.json()["error"]
    assert not archived(portal, SEED_CSV) and inbox_files(portal) == []
    mixed = (FILES / "bad" / "two_reporters.csv").read_bytes()
    received = portal.upload(credentials, "two_reporters.csv", mixed)
    assert received.status_code == 201 and received.json()["verdict"] == "invalid"
    assert "mixed_reporters" in {f["rule"] for f in received.json()["findings"]}
    # Rows naming MOI and a blank reporter: received, and rejected as the sender's reporter's file, not MOI's.
    blank = b"reporter,period,indicator,value\nMOI,2019-S1,cases,1\n,2019-S1,cases,2\n"
    assert portal.upload(credentials, "moi_and_blank.csv", blank).status_code == 201
    run(portal.settings.inbox, portal.settings.warehouse)
    assert query(portal.settings.warehouse, "select file_name, reporter, status from audit.submissions") == [
        ("two_reporters.csv", "MOSVY", "rejected"),
        ("moi_and_blank.csv", "MOSVY", "rejected"),
    ]
    listed = httpx.get(f"{portal.url}/api/v1/submissions", auth=credentials).json()["submissions"]
    assert {r["reporter"] for r in listed} == {"MOSVY"}
    assert query(
        portal.settings.warehouse,
        "select count(*) from marts.completeness where reporter = 'MOI' and status = 'rejected_only'",
    ) == [(0,)]


def test_another_reporters_file_renamed_to_another_format_still_gets_403(portal):
    """Bytes naming NCCT sent by MOSVY under a name they cannot be read by are still NCCT's: refused, so MOSVY
    can neither take NCCT's file before it is sent (NCCT's own upload would be a duplicate of MOSVY's) nor
    read its state."""
    credentials = portal.add("sokha", "MOSVY")
    for name in ("ncct.json", "ncct.xlsx"):
        refused = portal.upload(credentials, name, SEED_CSV)
        assert refused.status_code == 403 and "NCCT" in refused.json()["error"], name
    workbook = (SEED / "ncct_2019-S1.xlsx").read_bytes()
    assert portal.upload(credentials, "ncct.csv", workbook).status_code == 403
    assert not archived(portal, SEED_CSV) and not archived(portal, workbook) and inbox_files(portal) == []
    # a code with an invisible character around it is the code a run reads: NCCT's still
    hidden = SEED_CSV.replace(b"\nNCCT,", "\nNCCT\u200b,".encode())
    assert hidden != SEED_CSV and portal.upload(credentials, "ncct_zw.csv", hidden).status_code == 403
    ncct = portal.add("dara", "NCCT")
    first = portal.upload(ncct, "ncct_2019-S1.csv", SEED_CSV)
    assert first.status_code == 201 and first.json()["verdict"] == "valid"


def test_an_upload_over_the_size_limit_gets_413_while_it_streams(tmp_path, registry):
    small = replace(registry, limits=replace(registry.limits, max_file_bytes=50_000))
    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", small) as portal:
        user, password = portal.add("sokha", "MOSVY")
        boundary = "ctipboundary"
        sent = {"bytes": 0}

        def body():  # chunked, no Content-Length: only counting while streaming can stop it
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            for _ in range(200):
                sent["bytes"] += 10_000
                yield b"x" * 10_000
            yield f"\r\n--{boundary}--\r\n".encode()

        answer = httpx.post(
            f"{portal.url}/api/v1/submissions",
            auth=(user, password),
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=60,
        )
        declared = portal.upload((user, password), "big.csv", b"x" * 60_000)
        assert answer.status_code == declared.status_code == 413
        assert "50,000" in answer.json()["error"]
        assert inbox_files(portal) == []
        files = WarehouseFiles(portal.settings.warehouse)
        assert not files.archive_dir.exists() or not any(files.archive_dir.rglob("*"))
        assert not [p for p in files.upload_spool_dir.iterdir()]


def test_a_cut_off_upload_and_an_rfc_6266_name_are_told_apart(portal):
    user, password = portal.add("sokha", "MOSVY")
    boundary = "ctipboundary"

    def post(disposition: str, closed: bool) -> httpx.Response:
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\nContent-Type: text/csv\r\n\r\n"
        ).encode() + FIXED
        body += f"\r\n--{boundary}--\r\n".encode() if closed else b""
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return httpx.post(
            f"{portal.url}/api/v1/submissions", auth=(user, password), content=body, headers=headers, timeout=60
        )

    cut = post('name="file"; filename="mosvy.csv"', closed=False)
    assert cut.status_code == 400 and "cut off" in cut.json()["error"]
    assert inbox_files(portal) == []
    named = post("name=\"file\"; filename*=UTF-8''%E1%9E%9A%E1%9E%94%E1%9E%B6%E1%9E%99.csv", closed=True)
    assert named.status_code == 201 and named.json()["file_name"] == "របាយ.csv"
    assert inbox_files(portal) == ["របាយ.csv"]
    # the API answers in its own shape at an address it does not have, and a SHA-256 in capitals is the same
    missing = httpx.get(f"{portal.url}/api/v1/nothing-here", auth=(user, password))
    assert missing.status_code == 404 and "error" in missing.json()
    one = httpx.get(f"{portal.url}/api/v1/submissions/{named.json()['submission_id'].upper()}", auth=(user, password))
    assert one.status_code == 200 and one.json()["file_name"] == "របាយ.csv"


def test_only_csv_xlsx_and_json_are_taken(portal):
    credentials = portal.add("sokha", "MOSVY")
    for name in ("report.xls", "report.csv.exe", "report", "report.txt"):
        assert portal.upload(credentials, name, FIXED).status_code == 415
    assert inbox_files(portal) == []


def test_file_names_are_made_safe_and_never_used_as_paths(portal):
    credentials = portal.add("sokha", "MOSVY")
    answer = portal.upload(credentials, "../../etc/\x1b[31m.mosvy.csv", FIXED).json()
    assert answer["file_name"] == "[31m.mosvy.csv"  # no folders, no control character
    assert inbox_files(portal) == ["[31m.mosvy.csv"]
    other = portal.upload(credentials, "..\\..\\mosvy.csv", DRAFT).json()
    assert other["file_name"] == "mosvy.csv" and inbox_files(portal) == ["[31m.mosvy.csv", "mosvy.csv"]
    same_name = portal.upload(credentials, "mosvy.csv", FIXED.replace(b"draft", b"final")).json()
    assert same_name["file_name"] == "mosvy.csv"
    assert len(inbox_files(portal)) == 3  # another name in the inbox, the sender's name in the receipt


def test_a_long_khmer_name_is_shortened_to_what_a_file_system_takes(portal):
    credentials = portal.add("sokha", "MOSVY")
    name = "របាយការណ៍ប្រចាំឆមាស" * 10 + ".csv"  # 191 characters, 569 bytes of UTF-8
    answers = [portal.upload(credentials, name, FIXED), portal.upload(credentials, name, DRAFT)]
    assert [a.status_code for a in answers] == [201, 201]
    kept = [a.json()["file_name"] for a in answers]
    assert kept[0] == kept[1] and kept[0].endswith(".csv") and kept[0].startswith("របាយការណ៍")
    assert len(kept[0].encode("utf-8")) <= 180
    assert len(inbox_files(portal)) == 2  # the second under the name with the start of its SHA-256
    assert all(len(n.encode("utf-8")) < 255 for n in inbox_files(portal))
    spool = WarehouseFiles(portal.settings.warehouse).upload_spool_dir
    assert [p.name for p in spool.iterdir()] == []  # no folder of a judgement left behind
    run(portal.settings.inbox, portal.settings.warehouse)
    assert query(portal.settings.warehouse, "select status from audit.submissions order by sequence") == [
        ("loaded",),
        ("rejected",),
    ]


def test_every_submission_is_listed_by_the_api_and_the_home_page_says_when_it_shows_the_newest(
    tmp_path, registry, monkeypatch
):
    from flows.portal import app as portal_app

    monkeypatch.setattr(portal_app, "HOME_LIST", 3)
    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", registry) as portal:
        user, password = portal.add("sokha", "MOSVY")
        for n in range(5):
            assert portal.upload((user, password), f"mosvy_{n}.csv", FIXED + b"," * n).status_code == 201
        listed = httpx.get(f"{portal.url}/api/v1/submissions", auth=(user, password)).json()["submissions"]
        assert [r["file_name"] for r in listed] == [f"mosvy_{n}.csv" for n in (4, 3, 2, 1, 0)]
        home = signed_in(portal, user, password).get("/").text
        assert "mosvy_2.csv" in home and "mosvy_1.csv" not in home
        assert "The 3 newest of 5 submissions are listed here" in home


def test_a_reviewer_reads_a_khmer_senders_findings_in_english_and_the_sender_in_khmer(portal):
    sokha = portal.add("sokha", "MOSVY")
    portal.accounts.set_language("sokha", "km")
    answer = portal.upload(sokha, "mosvy_2019-Q2_draft.csv", DRAFT).json()
    (kept,) = [f for f in answer["findings"] if f["rule"] == "parts_differ_from_total"]
    assert "ជួរទី" in kept["message"]  # answered in the sender's language
    page_of = f"/submissions/{answer['submission_id']}"
    reviewer = signed_in(portal, *portal.add("chan", "NCCT", "reviewer"))
    shown = reviewer.get(page_of).text
    assert "ជួរទី" not in shown and f"row {kept['row_number']}: the" in shown  # the reviewer's language
    assert "ជួរទី" in signed_in(portal, *sokha).get(page_of).text  # and the sender's still in theirs
    capitals = reviewer.get(page_of.upper().replace("/SUBMISSIONS/", "/submissions/"))  # the same SHA-256
    assert capitals.status_code == 200 and f"row {kept['row_number']}: the" in capitals.text


def test_a_ledger_made_before_the_findings_language_was_kept_gains_it(tmp_path):
    import sqlite3

    path = tmp_path / "uploads.sqlite"
    with sqlite3.connect(path) as con:  # the ledger as an earlier ctip made it
        con.execute(
            "create table uploads (submission_id text primary key, file_name text not null, inbox_name text not null, "
            "reporter text not null, uploaded_by text not null, uploaded_at text not null, verdict text not null, "
            "errors integer not null, warnings integer not null, findings text not null)"
        )
        con.execute(
            "insert into uploads values ('a', 'x.csv', 'x.csv', 'MOI', 'dara', '2026-01-01T00:00:00+00:00', "
            "'valid', 0, 0, '[]')"
        )
    ledger = UploadLedger(path)
    assert ledger.get("a").lang == ""  # not known: a reader's page words its findings again in the reader's
    kept = replace(ledger.get("a"), submission_id="b", lang="km")
    assert ledger.record(kept) and ledger.get("b").lang == "km"


def test_a_sender_sees_its_own_reporter_only_and_a_reviewer_sees_all(portal):
    sokha, dara, reviewer = (
        portal.add("sokha", "MOSVY"),
        portal.add("dara", "MOI"),
        portal.add("chan", "NCCT", "reviewer"),
    )
    mine = portal.upload(sokha, "mosvy.csv", FIXED).json()
    theirs = portal.upload(dara, "moi.csv", (SAMPLE / "moi_2019-S1.csv").read_bytes()).json()

    def listed(credentials):
        return [
            r["file_name"]
            for r in httpx.get(f"{portal.url}/api/v1/submissions", auth=credentials).json()["submissions"]
        ]

    assert listed(sokha) == ["mosvy.csv"] and listed(dara) == ["moi.csv"]
    assert listed(reviewer) == ["moi.csv", "mosvy.csv"]
    assert httpx.get(f"{portal.url}/api/v1/submissions/{theirs['submission_id']}", auth=sokha).status_code == 404
    assert httpx.get(f"{portal.url}/api/v1/submissions/{'0' * 64}", auth=sokha).status_code == 404
    assert httpx.get(f"{portal.url}/api/v1/submissions/{mine['submission_id']}", auth=reviewer).status_code == 200


def test_uploads_go_on_while_a_run_holds_the_writer(portal):
    credentials = portal.add("sokha", "MOSVY")
    files = WarehouseFiles(portal.settings.warehouse)
    files.home.mkdir(parents=True, exist_ok=True)
    with WriterLock(files.lock_file, 1, purpose="a long run"):
        answer = portal.upload(credentials, "mosvy.csv", FIXED)
    assert answer.status_code == 201 and answer.json()["verdict"] == "valid"


def test_every_hostile_file_gets_its_answer_and_the_portal_stays_up(portal):
    credentials = portal.add("chan", "NCCT", "reviewer")
    hostile = sorted(p for p in (FILES / "bad").iterdir() if p.suffix in {".csv", ".xlsx", ".json"})
    with ThreadPoolExecutor(8) as pool:  # sent eight at a time, as a busy morning would
        answers = dict(
            zip(
                (p.name for p in hostile),
                pool.map(lambda p: portal.upload(credentials, p.name, p.read_bytes()), hostile),
                strict=True,
            )
        )
    assert {name: a.status_code for name, a in answers.items() if a.status_code not in (201, 403)} == {}
    judged = {name: a.json() for name, a in answers.items() if a.status_code == 201}
    assert len(judged) > 50
    assert {name for name, r in judged.items() if r["verdict"] == "valid" and not r["findings"]} == set()
    assert httpx.get(f"{portal.url}/api/v1/health").json() == {"status": "ok"}


# ---------------------------------------------------------------------- forms
def signed_in(portal, user, password) -> httpx.Client:
    client = httpx.Client(base_url=portal.url, follow_redirects=False, timeout=60)
    form = client.get("/signin")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/signin", data={"user": user, "password": password, "csrf": token})
    assert answer.status_code == 303, answer.text
    return client


def page_token(client: httpx.Client) -> str:
    return client.get("/").text.split('name="csrf" value="')[1].split('"')[0]


def test_the_session_cookie_is_httponly_and_samesite(portal):
    user, password = portal.add("sokha", "MOSVY")
    client = httpx.Client(base_url=portal.url, timeout=60)
    form = client.get("/signin")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/signin", data={"user": user, "password": password, "csrf": token})
    cookie = answer.headers["set-cookie"]
    assert "ctip_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_forms_without_their_token_are_refused(portal):
    user, password = portal.add("sokha", "MOSVY")
    bare = httpx.post(f"{portal.url}/signin", data={"user": user, "password": password})
    assert bare.status_code == 403 and "ctip_session" not in bare.headers.get("set-cookie", "")
    client = signed_in(portal, user, password)
    forged = client.post("/upload", files={"file": ("mosvy.csv", FIXED)}, data={"csrf": "guess"})
    missing = client.post("/upload", files={"file": ("mosvy.csv", FIXED)})
    assert (forged.status_code, missing.status_code) == (403, 403)
    assert inbox_files(portal) == []
    sent = client.post("/upload", files={"file": ("mosvy.csv", FIXED)}, data={"csrf": page_token(client)})
    assert sent.status_code == 303 and inbox_files(portal) == ["mosvy.csv"]
    assert "Valid" in client.get(sent.headers["location"]).text


def test_a_disabled_account_stops_at_once_and_sign_out_ends_the_session(portal):
    user, password = portal.add("sokha", "MOSVY")
    client = signed_in(portal, user, password)
    assert client.get("/").status_code == 200
    portal.accounts.disable(user)
    assert client.get("/").headers["location"] == "/signin"
    other_user, other_password = portal.add("dara", "MOI")
    other = signed_in(portal, other_user, other_password)
    assert other.post("/signout", data={"csrf": page_token(other)}).status_code == 303
    assert other.get("/").headers["location"] == "/signin"
    assert [e["event"] for e in portal.accounts.events("dara")] == ["added", "signed_in", "signed_out"]
    # Signed out without the page's token (an old page, a script): the session ends on the server too, not only
    # the browser's cookie.
    third = signed_in(portal, other_user, other_password)
    cookie = third.cookies.get("ctip_session")
    assert third.post("/signout", data={}).status_code == 303
    again = httpx.Client(base_url=portal.url, follow_redirects=False, cookies={"ctip_session": cookie})
    assert again.get("/").headers["location"] == "/signin"


def test_pages_escape_what_they_show(portal):
    user, password = portal.add("sokha", "MOSVY")
    client = signed_in(portal, user, password)
    hostile = b"reporter,period,indicator,value,comment\nMOSVY,2019-Q2,<script>alert(1)</script>,5,x\n"
    sent = client.post(
        "/upload", files={"file": ("<img src=x onerror=alert(2)>.csv", hostile)}, data={"csrf": page_token(client)}
    )
    page = client.get(sent.headers["location"]).text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the cell, quoted in the finding's message
    assert "_img src=x onerror=alert(2)_.csv" in page  # the name, made safe
    assert "<img src=x" not in client.get("/").text


# ------------------------------------------------------------------ killed mid-upload
def test_a_portal_killed_mid_upload_leaves_nothing_in_the_inbox(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    warehouse.parent.mkdir(parents=True)
    inbox.mkdir()
    env = {**os.environ, "CTIP_INBOX": str(inbox), "CTIP_WAREHOUSE": str(warehouse)}
    ctip = [sys.executable, "-c", "import sys; sys.argv[0] = 'ctip'; from flows.cli import app; app()"]
    where = {"env": env, "cwd": PROJECT, "text": True}
    added = subprocess.run(
        [*ctip, "accounts", "add", "sokha", "--reporter", "MOSVY"], capture_output=True, check=True, **where
    )
    password = added.stdout.splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*ctip, "portal", "--port", str(port)], stdout=subprocess.PIPE, start_new_session=True, **where
    )
    try:
        assert "ctip portal on" in server.stdout.readline()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        boundary = "cut"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="mosvy.csv"\r\n\r\n').encode()
        credentials = base64.b64encode(f"sokha:{password}".encode()).decode()
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(
                (
                    f"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000\r\n\r\n"
                ).encode()
                + head
                + FIXED[:60]
            )
            spool = WarehouseFiles(warehouse).upload_spool_dir
            deadline = time.monotonic() + 30
            while not (spool.exists() and any(spool.iterdir())) and time.monotonic() < deadline:
                time.sleep(0.05)  # the upload has begun to be received
            assert spool.exists() and any(spool.iterdir())
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        assert list(inbox.iterdir()) == []
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_a_duplicate_sent_from_the_page_says_so_and_reloading_sends_nothing(portal):
    user, password = portal.add("sokha", "MOSVY")
    client = signed_in(portal, user, password)
    first = client.post("/upload", files={"file": ("mosvy.csv", FIXED)}, data={"csrf": page_token(client)})
    again = client.post("/upload", files={"file": ("mosvy.csv", FIXED)}, data={"csrf": page_token(client)})
    assert first.headers["location"] + "?again=1" == again.headers["location"]
    shown = client.get(again.headers["location"]).text
    assert "Already received" in shown and "never judged twice" in shown
    assert "Already received" not in client.get(first.headers["location"]).text
    assert inbox_files(portal) == ["mosvy.csv"]


def test_the_template_of_the_accounts_reporter_downloads_from_the_portal(portal):
    import io

    import openpyxl

    user, password = portal.add("sokha", "MOSVY")
    portal.accounts.set_language(user, "km")
    client = signed_in(portal, user, password)
    answer = client.get("/template", params={"period": "2019q2"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="mosvy_2019-Q2.xlsx"'
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content))
    rows = list(workbook["data"].iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in rows} == {"MOSVY"} and {row[1] for row in rows} == {"2019-Q2"}
    assert "ក្រសួងសង្គមកិច្ច" in workbook["instructions"]["A1"].value  # the account's language
    assert client.get("/template", params={"period": "2019-S9"}).status_code == 400
    year_to_date = client.get("/template", params={"period": "2019-01/2019-06"})
    assert year_to_date.headers["content-disposition"] == 'attachment; filename="mosvy_2019-01_2019-06.xlsx"'
    future = client.get("/template", params={"period": "2099-Q1"})
    assert future.status_code == 400 and "មិនទាន់ចាប់ផ្ដើម" in future.text  # a file for it would be rejected
    assert httpx.get(f"{portal.url}/template?period=2019-S1", follow_redirects=False).status_code == 303


def test_a_khmer_account_reads_its_findings_and_refusals_in_khmer(portal, registry):
    """The page's language is the account's: the findings' messages as `ctip validate --lang km` gives them, and
    the reasons a file is not taken; the API's refusals stay in English for scripts."""
    import html

    user, password = portal.add("sokha", "MOSVY")
    portal.accounts.set_language(user, "km")
    client = signed_in(portal, user, password)
    sent = client.post("/upload", files={"file": ("draft.csv", DRAFT)}, data={"csrf": page_token(client)})
    answer = client.get(sent.headers["location"]).text
    (upload,) = UploadLedger(WarehouseFiles(portal.settings.warehouse).uploads_db).of_reporter("MOSVY")
    (khmer,) = check_files([SAMPLE / "mosvy_2019-Q2_draft.csv"], portal.settings, registry, upload.uploaded_at, "km")
    (english,) = check_files([SAMPLE / "mosvy_2019-Q2_draft.csv"], portal.settings, registry, upload.uploaded_at)
    assert [f["message"] for f in upload.findings] == [f["message"] for f in khmer["findings"]]
    assert khmer["findings"][0]["message"] != english["findings"][0]["message"]
    assert html.escape(khmer["findings"][0]["message"]) in answer
    refused = client.post("/upload", files={"file": ("n.txt", b"x")}, data={"csrf": page_token(client)})
    assert refused.status_code == 415 and "n.txt៖ ទទួលយកតែឯកសារ .csv, .xlsx និង .json ប៉ុណ្ណោះ" in refused.text
    other = client.post("/upload", files={"file": ("ncct.csv", SEED_CSV)}, data={"csrf": page_token(client)})
    assert other.status_code == 403 and "គណនីនេះផ្ញើសម្រាប់តែ MOSVY ប៉ុណ្ណោះ" in other.text
    assert client.get("/submissions/" + "0" * 64).text.count("មិនមានការផ្ញើនេះរបស់អ្នកទេ។") == 1
    by_api = portal.upload((user, password), "n.txt", b"x")
    assert by_api.json() == {"error": "n.txt: only .csv, .xlsx and .json files are taken"}


def test_a_sender_is_told_of_a_disagreement_without_the_other_reporters_figure(portal, registry):
    """A sender sees its own reporter's figures only: the NCCT's figure, held (approved or not, released or not),
    does not reach a ministry through the warning on its upload; `ctip validate` gives it to the NCCT's staff."""
    portal.settings.inbox.mkdir(parents=True)
    (portal.settings.inbox / "ncct_2019-S1.csv").write_bytes(SEED_CSV)
    run(portal.settings.inbox, portal.settings.warehouse)
    credentials = portal.add("sokha", "MOSVY")
    probe = b"reporter,period,indicator,value\nMOSVY,2019-S1,victims_rescued,5\n"
    answer = portal.upload(credentials, "probe.csv", probe).json()
    [warning] = [f for f in answer["findings"] if f["rule"] == "disagreement"]
    assert "NCCT holds another figure" in warning["message"] and "263" not in warning["message"]
    path = portal.settings.inbox.parent / "probe.csv"
    path.write_bytes(probe)
    [report] = check_files([path], portal.settings, registry, datetime.now(UTC))
    [staff] = [f for f in report["findings"] if f["rule"] == "disagreement"]
    assert "NCCT holds 263" in staff["message"]


def test_a_sign_in_page_opened_twice_leaves_the_first_form_valid(portal):
    user, password = portal.add("sokha", "MOSVY")
    client = httpx.Client(base_url=portal.url, follow_redirects=False, timeout=60)
    first = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
    client.get("/signin")  # a second tab
    signed = client.post("/signin", data={"user": user, "password": password, "csrf": first})
    assert signed.status_code == 303
    other = httpx.Client(base_url=portal.url, follow_redirects=False, timeout=60)
    other.get("/signin")
    stale = other.post("/signin", data={"user": user, "password": password, "csrf": "from another day"})
    assert stale.status_code == 403 and "had expired" in stale.text and 'name="csrf"' in stale.text
    fresh = stale.text.split('name="csrf" value="')[1].split('"')[0]
    assert other.post("/signin", data={"user": user, "password": password, "csrf": fresh}).status_code == 303
