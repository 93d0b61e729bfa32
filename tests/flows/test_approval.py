"""Approval and numbered releases (REPORTING.md section 5, rule period_approved of SUBMISSIONS.md section 6).

One warehouse for the module, built once by `story`: the seed report is loaded, NCCT 2019-S1 approved and
released; a changed file, an added and a withdrawn figure are rejected while a file that restates the same
figures (and changes the unapproved 2018-S1) loads; the period is unapproved, corrected, approved again
with 2018-S1, and released a second time. The tests read what each step left.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from flows import steps
from flows.checking import check_files
from flows.cli import app
from flows.releases import NothingApproved, record_act, write_release
from flows.settings import Settings
from schemas import load_registry
from tests.conftest import SEED
from tests.flows.conftest import NOW, ZONE, query, write_inbox
from tests.flows.portal_server import running_portal
from warehouse import approvals
from warehouse.layout import WarehouseFiles

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
CHANGED = SEED_CSV.replace(",78,", ",80,")  # NCCT 2019-S1 cases, row 2
CORRECTED = SEED_CSV.replace(",78,", ",81,")
RESTATED = (  # the approved figure as it is held (in other words), and a change of 2018-S1, which is not approved
    "reporter,period,indicator,value,comment\nNCCT,2019-S1,cases,78,as approved\nNCCT,2018-S1,cases,63,\n"
)
ADDED = "reporter,period,indicator,value\nNCCT,2018-S1,persons_convicted,40\nNCCT,2019-S1,persons_convicted,41\n"
WITHDRAWN = "reporter,period,indicator,action,value\nNCCT,2019-S1,marriage_applications,D,\n"
HOUR = timedelta(hours=1)
T0 = NOW - timedelta(days=30)  # the story ends before the clock of the portal, which judges uploads now
DAY = timedelta(days=1)


def run(inbox: Path, warehouse: Path, now):
    return steps.run_once(inbox, warehouse, load_registry(), ZONE, now, validation_pages=False)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    registry = load_registry()
    root = tmp_path_factory.mktemp("approval")
    inbox, warehouse, out = root / "inbox", root / "warehouse" / "ctip.duckdb", root / "releases"
    told: dict = {"inbox": inbox, "warehouse": warehouse, "out": out, "root": root}
    settings = told["settings"] = Settings(inbox=inbox, warehouse=warehouse, timezone=ZONE.key)

    write_inbox(inbox, {"ncct.csv": SEED_CSV}, start_mtime=1_700_000_000)
    run(inbox, warehouse, T0)
    try:
        write_release(settings, registry, out, 10, None, None, T0 + HOUR / 2)
    except NothingApproved as refused:
        told["nothing_approved"] = str(refused)
    told["release_before_approval"] = _cli("release", "--out", str(out), "--warehouse", str(warehouse))

    record_act(settings, registry, "NCCT", "2019-S1", approvals.APPROVE, "Chan Dara", "signed off", T0 + HOUR)
    first = write_release(settings, registry, out, 10, T0 + 5 * DAY, "first", T0 + 2 * HOUR)
    told["first"], told["first_digests"] = first, _digests(first.folder)

    (root / "changed.csv").write_text(CHANGED, encoding="utf-8")
    told["validated"] = check_files([root / "changed.csv"], settings, registry, T0 + 3 * HOUR)

    write_inbox(
        inbox,
        {"changed.csv": CHANGED, "restated.csv": RESTATED, "added.csv": ADDED, "withdrawn.csv": WITHDRAWN},
        start_mtime=1_700_100_000,
    )
    told["rejecting_run"] = run(inbox, warehouse, T0 + DAY)

    record_act(settings, registry, "NCCT", "2019-S1", approvals.UNAPPROVE, "Chan Dara", "cases recounted", T0 + DAY)
    write_inbox(inbox, {"corrected.csv": CORRECTED}, start_mtime=1_700_200_000)
    told["correcting_run"] = run(inbox, warehouse, T0 + 2 * DAY)
    record_act(settings, registry, "NCCT", "2019-S1", approvals.APPROVE, "Chan Dara", None, T0 + 2 * DAY + HOUR)
    record_act(settings, registry, "NCCT", "2018-S1", approvals.APPROVE, "Chan Dara", None, T0 + 2 * DAY + HOUR)
    second = write_release(settings, registry, out, 10, None, "corrected cases", T0 + 2 * DAY + 2 * HOUR)
    told["second"] = second
    return told


def _statuses(summary) -> dict[str, str]:
    return {s["file_name"]: s["status"] for s in summary.submissions}


def _errors(summary, file_name: str) -> list[dict]:
    ids = {s["submission_id"] for s in summary.submissions if s["file_name"] == file_name}
    return [f for f in summary.findings if f["submission_id"] in ids and f["severity"] == "error"]


def test_a_release_with_nothing_approved_exits_1(story):
    assert "no reporter-period is approved" in story["nothing_approved"]
    assert story["release_before_approval"].exit_code == 1
    assert "Nothing to release" in story["release_before_approval"].stderr


def test_validate_rejects_a_file_that_changes_an_approved_period(story):
    (report,) = story["validated"]
    assert report["errors"] == 1
    (finding,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert (finding["rule"], finding["row_number"], finding["column_name"]) == ("period_approved", 2, "period")
    assert "NCCT for 2019-S1 were approved by Chan Dara" in finding["message"]
    assert not [f for f in report["findings"] if f["rule"] == "restatement"]  # rejected whole: judged no further


def test_the_run_rejects_what_would_add_change_or_withdraw_approved_figures(story):
    summary = story["rejecting_run"]
    assert _statuses(summary) == {
        "changed.csv": "rejected",
        "restated.csv": "loaded",
        "added.csv": "rejected",
        "withdrawn.csv": "rejected",
    }
    for name, row in (("changed.csv", 2), ("added.csv", 3), ("withdrawn.csv", 2)):
        (finding,) = _errors(summary, name)
        assert (finding["rule"], finding["row_number"], finding["column_name"]) == ("period_approved", row, "period")
        assert "2019-S1" in finding["message"] and "ctip unapprove" in finding["message"]
    held = query(
        story["warehouse"],
        "select period, value from core.observations where reporter = 'NCCT' and indicator = 'cases' order by 1",
    )
    assert held == [("2018-S1", 62), ("2019-S1", 81)]  # as corrected.csv left them
    recorded = query(
        story["warehouse"],
        "select s.file_name, s.status, s.errors, f.rule from audit.submissions s join audit.findings f "
        "using (submission_id, file_name) where f.rule = 'period_approved' order by s.sequence",
    )
    assert recorded == [
        ("changed.csv", "rejected", 1, "period_approved"),
        ("added.csv", "rejected", 1, "period_approved"),
        ("withdrawn.csv", "rejected", 1, "period_approved"),
    ]


def test_unapprove_send_and_approve_again_corrects_approved_figures(story):
    assert _statuses(story["correcting_run"]) == {"corrected.csv": "loaded"}
    acts = query(
        story["warehouse"], 'select reporter, period, action, "by", note from audit.approvals order by "at", period'
    )
    assert acts == [
        ("NCCT", "2019-S1", "approve", "Chan Dara", "signed off"),
        ("NCCT", "2019-S1", "unapprove", "Chan Dara", "cases recounted"),
        ("NCCT", "2019-S1", "approve", "Chan Dara", None),
        ("NCCT", "2018-S1", "approve", "Chan Dara", None),
    ]


def test_wrong_usage_exits_2_with_a_plain_message(story):
    warehouse = str(story["warehouse"])
    cases = {
        ("approve", "XYZ", "2019-S1", "--by", "Chan"): "not a reporter",
        ("approve", "NCCT", "2019-S9", "--by", "Chan"): "not a period",
        ("approve", "NCCT", "2019-S1", "--by", "Chan"): "already approved",
        ("unapprove", "MOI", "2019-S1", "--by", "Chan", "--reason", "typo"): "not approved",
        ("approve", "MOI", "2019-S1", "--by", "Chan"): "holds no figure",
        ("approve", "NCCT", "2019-S1", "--by", " "): "--by is blank",
        ("unapprove", "NCCT", "2019-S1", "--by", "Chan", "--reason", ""): "--reason is blank",
        ("release", "--out", str(story["root"] / "changed.csv")): "is a file",
        ("release", "--out", str(story["out"]), "--embargo", "soon"): "not a time",
    }
    for args, said in cases.items():
        result = _cli(*args, "--warehouse", warehouse)
        assert (result.exit_code, said in result.stderr, "Traceback" in result.stderr) == (2, True, False), args
    assert query(warehouse, "select count(*) from audit.approvals") == [(4,)]
    assert query(warehouse, "select count(*) from audit.releases") == [(2,)]


def test_a_release_holds_only_approved_figures_protected_as_export_public(story):
    first = pl.read_parquet(story["first"].folder / "period_comparison.parquet")
    assert set(first.select("reporter", "period").unique().rows()) == {("NCCT", "2019-S1")}
    assert first["base_value"].is_null().all()  # 2018-S1 was not approved yet: its figures stay out
    second = pl.read_parquet(story["second"].folder / "period_comparison.parquet")
    assert set(second.select("reporter", "period").unique().rows()) == {("NCCT", "2019-S1"), ("NCCT", "2018-S1")}
    cases = second.filter((pl.col("period") == "2019-S1") & (pl.col("indicator") == "cases")).row(0, named=True)
    assert (cases["value"], cases["base_value"], cases["change"]) == (81, 62, 19)
    americans = second.filter(pl.col("citizenship") == "US").row(0, named=True)
    assert (americans["value"], americans["value_conf"]) == (None, "C")  # 2 < K = 10
    csv = pl.read_csv(story["second"].folder / "period_comparison.csv", infer_schema_length=0)
    assert csv.columns == second.columns and csv.height == second.height


def test_revisions_list_what_changed_since_the_previous_release(story):
    assert pl.read_csv(story["first"].folder / "revisions.csv").height == 0
    revised = pl.read_csv(story["second"].folder / "revisions.csv", infer_schema_length=0)
    assert revised.select("reporter", "period", "indicator", "revision", "old_value", "new_value").rows() == [
        ("NCCT", "2019-S1", "cases", "changed", "78", "81")
    ]
    assert revised.columns[-6:] == [
        "old_value",
        "old_status",
        "old_value_conf",
        "new_value",
        "new_status",
        "new_value_conf",
    ]


def test_release_1_is_never_changed_and_manifests_match_their_files(story):
    first, second = story["first"], story["second"]
    assert (first.folder.name, second.folder.name) == ("release-0001", "release-0002")
    assert _digests(first.folder) == story["first_digests"]
    for made in (first, second):
        manifest = json.loads((made.folder / "MANIFEST.json").read_text(encoding="utf-8"))
        assert {"release", "created_at", "embargo", "watermark", "note", "files"} <= set(manifest)
        assert manifest["release"] == made.number
        listed = {f["name"]: (f["sha256"], f["size"]) for f in manifest["files"]}
        on_disk = {
            p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
            for p in made.folder.iterdir()
            if p.name != "MANIFEST.json"
        }
        assert listed == on_disk and set(listed) == {
            "period_comparison.csv",
            "period_comparison.parquet",
            "revisions.csv",
        }
    manifest = json.loads((first.folder / "MANIFEST.json").read_text(encoding="utf-8"))
    assert (manifest["embargo"], manifest["note"]) == ((T0 + 5 * DAY).isoformat(), "first")
    rows = query(story["warehouse"], "select release, embargo, note, revisions, manifest_sha256 from audit.releases")
    assert [r[:4] for r in sorted(rows)] == [(1, T0 + 5 * DAY, "first", 0), (2, None, "corrected cases", 1)]
    assert sorted(rows)[0][4] == hashlib.sha256((first.folder / "MANIFEST.json").read_bytes()).hexdigest()


def test_a_release_that_did_not_finish_is_no_release(story, monkeypatch):
    from flows import releases as module

    registry = load_registry()
    leftover = story["out"] / ".release-0003.999.tmp"  # a release killed while writing its folder
    leftover.mkdir()
    (leftover / "period_comparison.csv").write_text("half", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(module, "move_folder_into_place", fail)
    with pytest.raises(OSError):
        write_release(story["settings"], registry, story["out"], 10, None, None, T0 + 3 * DAY)
    assert sorted(p.name for p in story["out"].iterdir()) == ["release-0001", "release-0002"]
    assert query(story["warehouse"], "select max(release) from audit.releases") == [(2,)]


def test_the_commands_record_acts_and_write_a_release(story):
    warehouse = str(story["warehouse"])
    unapproved = _cli("unapprove", "ncct", "2019S1", "--by", "Chan", "--reason", "check", "--warehouse", warehouse)
    approved = _cli("approve", "NCCT", "2019-S1", "--by", "Chan", "--note", "checked", "--warehouse", warehouse)
    released = _cli(
        "release", "--out", str(story["out"]), "--embargo", "2027-01-05T09:00:00+07:00", "--warehouse", warehouse
    )
    assert [r.exit_code for r in (unapproved, approved, released)] == [0, 0, 0]
    assert unapproved.stdout.startswith("Unapproved NCCT 2019-S1 by Chan at ")
    assert "Wrote release 3 to " in released.stdout and "0 revisions" in released.stdout
    assert query(warehouse, "select release, embargo from audit.releases where release = 3") == [
        (3, datetime(2027, 1, 5, 2, 0, tzinfo=UTC))
    ]
    assert query(warehouse, 'select action, note from audit.approvals order by "at" desc limit 2') == [
        ("approve", "checked"),
        ("unapprove", "check"),
    ]


def test_the_portal_verdict_applies_period_approved(story, registry):
    with running_portal(story["root"] / "portal-inbox", story["warehouse"], registry) as portal:
        credentials = portal.add("sokha", "NCCT")
        answer = portal.upload(credentials, "ncct.csv", SEED_CSV.replace(",78,", ",79,").encode())
    receipt = answer.json()
    assert (answer.status_code, receipt["verdict"], receipt["errors"]) == (201, "invalid", 1)
    (finding,) = receipt["findings"]
    assert finding["rule"] == "period_approved" and "2019-S1" in finding["message"]


def test_a_backfill_reproduces_the_verdicts(story):
    from flows.orchestrator import backfill

    warehouse = story["warehouse"]
    verdicts = "select sequence, file_name, status, errors, warnings from audit.submissions order by sequence"
    found = "select submission_id, rule, row_number, column_name, message from audit.findings order by all"
    history = "select * exclude (valid_to), valid_to is null from core.observation_history order by all"
    before = [query(warehouse, q) for q in (verdicts, found, history)]
    summary, _ = backfill(warehouse, "2018-S1", "2019-S1", None, str(ZONE), 60.0, show_progress=False)
    assert summary.count("rejected") == 3
    assert [query(warehouse, q) for q in (verdicts, found, history)] == before
    assert WarehouseFiles(warehouse).analyst_file.exists()


def test_a_file_uploaded_before_a_sign_off_is_judged_as_the_portal_answered(tmp_path, registry):
    """Approved "when the submission was received": an upload is received when the portal takes it, so a run
    after the sign-off loads it (its answer said valid); a file put in the inbox folder is received by the run."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    settings = Settings(inbox=inbox, warehouse=warehouse, timezone=ZONE.key)
    now = datetime.now(UTC)
    write_inbox(inbox, {"ncct.csv": SEED_CSV}, start_mtime=1_700_000_000)
    run(inbox, warehouse, now - DAY)
    with running_portal(inbox, warehouse, registry) as portal:
        credentials = portal.add("sokha", "NCCT")
        answer = portal.upload(credentials, "uploaded.csv", CHANGED.encode()).json()
    assert answer["verdict"] == "valid"
    record_act(settings, registry, "NCCT", "2019-S1", approvals.APPROVE, "Chan Dara", None, now + HOUR)
    (inbox / "put.csv").write_text(CORRECTED, encoding="utf-8")
    summary = run(inbox, warehouse, now + 2 * HOUR)
    assert _statuses(summary) == {"uploaded.csv": "loaded", "put.csv": "rejected"}
    assert [e["rule"] for e in _errors(summary, "put.csv")] == ["period_approved"]
    from flows.orchestrator import backfill

    verdicts = "select file_name, status from audit.submissions order by sequence"
    before = query(warehouse, verdicts)
    backfill(warehouse, "2019-S1", "2019-S1", None, str(ZONE), 60.0, show_progress=False)
    assert query(warehouse, verdicts) == before


def test_a_release_keeps_public_what_an_earlier_release_published(tmp_path, registry):
    """Each release is protected knowing what the releases before it published: the first half's SE (40),
    released, is not suppressed in the second to protect the second half's 5, so the year's 45 is."""
    inbox, warehouse, out = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", tmp_path / "releases"
    settings = Settings(inbox=inbox, warehouse=warehouse, timezone=ZONE.key)
    head = "reporter,period,indicator,offence,value\n"
    write_inbox(
        inbox, {"s1.csv": head + "NCCT,2019-S1,cases,_T,100\nNCCT,2019-S1,cases,HT,60\nNCCT,2019-S1,cases,SE,40\n"}
    )
    run(inbox, warehouse, T0)
    record_act(settings, registry, "NCCT", "2019-S1", approvals.APPROVE, "Chan Dara", None, T0 + HOUR)
    write_release(settings, registry, out, 10, None, None, T0 + 2 * HOUR)
    rows = ["NCCT,2019-S2,cases,_T,50", "NCCT,2019-S2,cases,HT,45", "NCCT,2019-S2,cases,SE,5"]
    rows += ["NCCT,2019,cases,_T,150", "NCCT,2019,cases,HT,105", "NCCT,2019,cases,SE,45"]
    write_inbox(inbox, {"s2.csv": head + "\n".join(rows) + "\n"}, start_mtime=1_700_100_000)
    run(inbox, warehouse, T0 + DAY)
    for period in ("2019-S2", "2019"):
        record_act(settings, registry, "NCCT", period, approvals.APPROVE, "Chan Dara", None, T0 + DAY + HOUR)
    second = write_release(settings, registry, out, 10, None, None, T0 + DAY + 2 * HOUR)
    table = pl.read_csv(second.folder / "period_comparison.csv", infer_schema=False)
    published = {
        (r["period"], r["offence"]): r["value"] for r in table.iter_rows(named=True) if r["indicator"] == "cases"
    }
    assert published[("2019-S1", "SE")] == "40" and published[("2019-S2", "SE")] is None
    assert published[("2019", "SE")] is None  # else 45 - 40 gives the 5 away
    # the small count, and the three suppressed to protect it (the year's SE, the HT of the half and of the year)
    assert second.manifest["suppressed"] == {"small_counts": 1, "protecting": 3}
    # The public export knows the releases too (the analyst file holds what they published).
    exported = _cli("export", "--public", str(tmp_path / "public"), "--warehouse", str(warehouse))
    assert exported.exit_code == 0, exported.output
    public = pl.read_csv(tmp_path / "public" / "period_comparison.csv", infer_schema=False)
    shown = {(r["period"], r["offence"]): r["value"] for r in public.iter_rows(named=True) if r["indicator"] == "cases"}
    assert shown[("2019-S1", "SE")] == "40" and shown[("2019-S2", "SE")] is None and shown[("2019", "SE")] is None


def test_a_release_that_cannot_protect_a_small_count_says_why_writes_nothing_and_how_to_go_on(tmp_path, registry):
    """Release 1 published NCCT 2019-S1 victims rescued, 100 in all and 92 under 15. The period is corrected with
    8 aged 15 to 17 and 0 adults: 100 - 92 - 0 gives the 8 away whatever a release suppresses, since the 100 and
    the 92 are public. The release (and the public export, which knows the releases) says so, names the figures
    and the release that published them, writes and records nothing and exits 1; leaving the period out, as it
    advises, releases the rest, and the disclosure audit finds nothing to recover in what the releases hold."""
    from flows.export import protected_table
    from transforms.disclosure import confidentiality
    from warehouse.releases import public_figures

    inbox, warehouse, out = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", tmp_path / "releases"
    settings = Settings(inbox=inbox, warehouse=warehouse, timezone=ZONE.key)
    head = "reporter,period,indicator,age,value\n"
    first = "NCCT,2019-S1,victims_rescued,_T,100\nNCCT,2019-S1,victims_rescued,Y_LT15,92\n"
    write_inbox(inbox, {"s1.csv": head + first + "NCCT,2018-S1,victims_rescued,_T,90\n"})
    run(inbox, warehouse, T0)
    for period in ("2019-S1", "2018-S1"):
        record_act(settings, registry, "NCCT", period, approvals.APPROVE, "Chan Dara", None, T0 + HOUR)
    write_release(settings, registry, out, 10, None, None, T0 + 2 * HOUR)
    record_act(settings, registry, "NCCT", "2019-S1", approvals.UNAPPROVE, "Chan Dara", "ages", T0 + 3 * HOUR)
    rest = "NCCT,2019-S1,victims_rescued,Y15T17,8\nNCCT,2019-S1,victims_rescued,Y_GE18,0\n"
    write_inbox(inbox, {"ages.csv": head + rest}, start_mtime=1_700_100_000)
    run(inbox, warehouse, T0 + DAY)
    assert _cli("approve", "NCCT", "2019-S1", "--by", "Chan Dara", "--warehouse", str(warehouse)).exit_code == 0
    releases_before = query(warehouse, "select count(*) from audit.releases")

    refused = _cli("release", "--out", str(out), "--warehouse", str(warehouse))
    said = " ".join(refused.stderr.split())
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit), said
    assert "Traceback" not in refused.output
    assert "1 small count cannot be protected (K = 10)" in said
    assert "NCCT 2019-S1 KH victims_rescued, age Y15T17 = 8: what is published leaves it between 0 and 8" in said
    assert (
        "release 1 published NCCT 2019-S1 KH victims_rescued (total) = 100 and "
        "NCCT 2019-S1 KH victims_rescued, age Y_LT15 = 92" in said
    )
    assert "Nothing was written and no release was recorded" in said
    assert "`ctip unapprove NCCT 2019-S1 --by NAME --reason TEXT`; then run `ctip release` again" in said
    assert sorted(p.name for p in out.iterdir()) == ["release-0001"]  # no release-0002, no temporary folder
    assert query(warehouse, "select count(*) from audit.releases") == releases_before

    # The export publishes every figure, 2019-S1 too: it says the same, and writes neither folder.
    exported = _cli(
        "export", "--public", str(tmp_path / "public"), "--sdmx", str(tmp_path / "sdmx"), "--warehouse", str(warehouse)
    )
    told = " ".join(exported.stderr.split())
    assert exported.exit_code == 1 and isinstance(exported.exception, SystemExit), told
    assert "does not pass the disclosure audit: 1 small count cannot be protected" in told
    assert "age Y15T17 = 8" in told and "release 1 published" in told and "Nothing was written" in told
    assert "ctip unapprove" in told and "ctip release" in told
    assert not (tmp_path / "public").exists() and not (tmp_path / "sdmx").exists()

    # As advised: leave NCCT 2019-S1 out, and release the rest.
    left_out = _cli(
        "unapprove", "NCCT", "2019-S1", "--by", "Chan Dara", "--reason", "8 given away", "--warehouse", str(warehouse)
    )
    assert left_out.exit_code == 0, left_out.output
    released = _cli("release", "--out", str(out), "--warehouse", str(warehouse))
    assert released.exit_code == 0, released.output
    second = out / "release-0002"
    table = pl.read_csv(second / "period_comparison.csv", infer_schema=False)
    assert table.select("period", "value").rows() == [("2018-S1", "90")]
    revised = pl.read_csv(second / "revisions.csv", infer_schema=False)
    assert sorted(revised.select("period", "age", "revision").rows()) == [
        ("2019-S1", "Y_LT15", "withdrawn"),
        ("2019-S1", "_T", "withdrawn"),
    ]
    # The disclosure audit, over every figure any release published as it holds now, knowing what they published:
    # no small count among them, and nothing to suppress or recover.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        known = public_figures(con, "audit.released_figures")
        comparison = con.sql("select * from marts.period_comparison").pl()
    key = ["reporter", "area", "indicator", "period", *registry.dimension_names]
    current = comparison.select(*key, "value").join(known.select(key), on=key, how="semi")
    assert current.height == 3
    audited = confidentiality(current, registry, 10, known=known)
    assert audited["conf"].to_list() == ["F"] * 3
    # and release 2's table, protected knowing release 1, passes the audit with nothing suppressed
    assert (
        protected_table(comparison.filter(pl.col("period") == "2018-S1"), registry, 10, known=known).audit.height == 0
    )


def test_a_count_a_release_of_a_smaller_k_published_is_said_published_already(tmp_path, registry):
    """Release 1 at K = 3 published 25; a release at K = 30 would have it small: no suppression can take it back,
    and the refusal says so, not that the figures around it give it away."""
    inbox, warehouse, out = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", tmp_path / "releases"
    settings = Settings(inbox=inbox, warehouse=warehouse, timezone=ZONE.key)
    head = "reporter,period,indicator,sex,value\n"
    rows = "NCCT,2019-S1,suspects_to_court,_T,100\nNCCT,2019-S1,suspects_to_court,F,25\n"
    write_inbox(inbox, {"s1.csv": head + rows + "NCCT,2019-S1,suspects_to_court,M,75\n"})
    run(inbox, warehouse, T0)
    record_act(settings, registry, "NCCT", "2019-S1", approvals.APPROVE, "Chan Dara", None, T0 + HOUR)
    assert _cli("release", "--out", str(out), "--min-cell", "3", "--warehouse", str(warehouse)).exit_code == 0
    refused = _cli("release", "--out", str(out), "--min-cell", "30", "--warehouse", str(warehouse))
    said = " ".join(refused.stderr.split())
    assert refused.exit_code == 1, said
    assert "NCCT 2019-S1 KH suspects_to_court, sex F = 25: release 1 published it already" in said
    assert "since release 1 published NCCT 2019-S1 KH suspects_to_court, sex F" not in said  # not circular
    assert "with the --min-cell of the releases that published them" in said
