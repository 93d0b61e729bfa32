"""A warehouse written before the portal existed gains `uploaded_by` and `uploaded_at` and goes on working."""

from __future__ import annotations

import duckdb

from tests.conftest import SEED, SEED_INBOX
from tests.flows.conftest import query, run, write_inbox
from warehouse.layout import WarehouseFiles


def test_a_warehouse_without_upload_columns_gains_them_and_keeps_its_rows(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    run(inbox, warehouse)
    with duckdb.connect(str(WarehouseFiles(warehouse).state_db)) as con:  # as an older ctip left it
        for table in ("pipeline.receipts", "audit.submissions"):
            con.execute(f"alter table {table} drop column uploaded_by")
            con.execute(f"alter table {table} drop column uploaded_at")
        con.execute("drop table pipeline.digests")  # nor did it keep what its schema was
    write_inbox(inbox, {"ncct_2019-S1_again.csv": (SEED / "ncct_2019-S1.csv").read_bytes()}, start_mtime=1_800_000_000)
    run(inbox, warehouse)
    assert query(
        warehouse, "select file_name, status, uploaded_by, uploaded_at from audit.submissions order by sequence"
    ) == [("ncct_2019-S1.csv", "loaded", None, None), ("ncct_2019-S1_again.csv", "duplicate", None, None)]
