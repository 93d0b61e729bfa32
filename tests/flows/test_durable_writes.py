"""Every file ctip puts in place goes through warehouse/durable.py: written whole under a hidden temporary
name, flushed, renamed over the old one, its folder flushed."""

from __future__ import annotations

import polars as pl

from flows.export import METADATA_NAME, write_metadata, write_public
from flows.portal.intake import Intake, Spooled
from flows.settings import Settings
from flows.template import write_template
from tests.conftest import SEED, put_in_place
from tests.flows.conftest import run, write_inbox
from warehouse.layout import WarehouseFiles

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_bytes()


def test_a_run_archives_and_publishes_durably(tmp_path, synced):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    run(inbox, warehouse)
    files = WarehouseFiles(warehouse)
    archived = [path for path in files.archive_dir.rglob("*") if path.is_file()]
    segments = [path for path in files.segments_dir.rglob("*.parquet")]
    assert len(archived) == 1 and segments
    for target in [*archived, *segments, warehouse, files.published_marker]:
        put_in_place(synced, target)


def test_public_export_files_are_written_durably(tmp_path, synced):
    frame = pl.DataFrame({"value": [1, 20], "value_conf": ["C", "F"], "base_value_conf": [None, "F"]})
    parquet, csv = write_public(frame, tmp_path / "public")
    metadata = write_metadata(tmp_path / "public", [parquet, csv], {}, 10, frame)
    assert metadata.name == METADATA_NAME
    for target in (parquet, csv, metadata):
        put_in_place(synced, target)


def test_a_template_is_written_durably(tmp_path, registry, synced):
    out = tmp_path / "templates" / "ncct-2019-S1.xlsx"
    assert write_template(out, registry, "NCCT", "2019-S1") > 0
    put_in_place(synced, out)


def test_an_upload_is_handed_to_the_inbox_durably(tmp_path, registry, synced):
    settings = Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "w" / "ctip.duckdb")
    spool = tmp_path / "spool.bin"
    spool.write_bytes(SEED_CSV)
    intake, spooled = Intake(settings, registry), Spooled(spool, "ncct.csv", "0" * 64, len(SEED_CSV))
    name = intake._inbox_name(spooled)
    intake._hand_to_inbox(spooled, name)
    assert (settings.inbox / name).read_bytes() == SEED_CSV
    put_in_place(synced, settings.inbox / name)


def test_the_files_of_a_run_are_flushed_together_before_any_is_given_a_receipt(tmp_path, synced, monkeypatch):
    """Two flushes of the file system for all the new files of a run (their bytes, then their renames), none per
    file, and the receipts only after the second."""
    from warehouse import receipts

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {f"moi_{n}.csv": f"reporter,period,indicator,value\nMOI,2019-S1,cases,{n}\n" for n in range(5)})
    record_receipts = receipts.record_receipts

    def recorded(con, files, now):
        synced.append(("receipts", tmp_path))
        return record_receipts(con, files, now)

    monkeypatch.setattr(receipts, "record_receipts", recorded)
    assert run(inbox, warehouse).count("loaded") == 5
    archive = WarehouseFiles(warehouse).archive_dir
    archived = [path for path in archive.rglob("*") if path.is_file()]
    assert len(archived) == 5
    given = synced.index(("receipts", tmp_path))
    before = synced[:given]
    assert [e for e in before if e[0] == "fsync" and (e[1] == archive or archive in e[1].parents)] == []
    syncs = [i for i, (kind, _) in enumerate(before) if kind == "syncfs"]
    renames = [i for i, (kind, path) in enumerate(before) if kind == "replace" and path in archived]
    assert len(syncs) == 2 and len(renames) == 5
    assert syncs[0] < min(renames) and max(renames) < syncs[1]
    for target in archived:
        put_in_place(synced, target)
