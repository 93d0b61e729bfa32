"""`ctip export --public DIR`: the seed's comparison table published with small counts suppressed."""

from __future__ import annotations

import csv
import json

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.export import neutralise_text, protected_table, write_public
from schemas import load_registry
from schemas.registry import TOTAL
from schemas.shapes import DIMENSIONS
from tests.conftest import SEED_INBOX
from tests.flows.conftest import query, run, write_inbox
from tests.transforms.test_audit import assert_audited
from tests.transforms.test_disclosure import assert_protected, published_figures
from transforms.disclosure import PUBLIC_COLUMNS

runner = CliRunner()
LABELLED = ["reporter", "area", "indicator", "sex", "age", "citizenship", "referral", "offence", "country"]
COLUMNS = [
    *PUBLIC_COLUMNS,
    *"value_conf base_value_conf status base_status is_derived change_pct_rounded".split(),
    *(f"{name}_label" for name in LABELLED),
]
TYPES = {"value": pl.Int64, "base_value": pl.Int64, "change": pl.Int64, "change_pct": pl.Float64}
CUT = dict.fromkeys(DIMENSIONS, TOTAL)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A warehouse holding the seed (NCCT, 2019-S1 and 2018-S1), and its comparison table."""
    root = tmp_path_factory.mktemp("seeded")
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    assert [s["status"] for s in run(inbox, warehouse).submissions] == ["loaded"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        original = con.sql("select * from marts.period_comparison").pl()
    return warehouse, original


def export(warehouse, public, *options: str):
    return runner.invoke(app, ["export", "--public", str(public), "--warehouse", str(warehouse), *options])


def row(table: pl.DataFrame, period: str = "2019-S1", indicator: str = "suspects_to_court", **cut: str) -> dict:
    wanted = {"period": period, "indicator": indicator, **CUT, **cut}
    found = table.filter(pl.all_horizontal(pl.col(c) == v for c, v in wanted.items()))
    assert found.height == 1, wanted
    return found.row(0, named=True)


def read_both(public) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    parquet = pl.read_parquet(public / "period_comparison.parquet")
    with (public / "period_comparison.csv").open(newline="", encoding="utf-8") as handle:
        return parquet, list(csv.DictReader(handle))


def test_export_with_k_10_suppresses_two_americans_and_the_chinese_beside_them(seeded, tmp_path):
    warehouse, original = seeded
    public = tmp_path / "public"
    result = export(warehouse, public, "--min-cell", "10")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "Cells suppressed (C): 2. Figures suppressed: 1 small count and 1 to protect them; every small count "
        "passes the disclosure audit" in said
    )
    table, text = read_both(public)
    assert table.columns == COLUMNS and list(text[0]) == COLUMNS
    assert {name: table.schema[name] for name in TYPES} == TYPES
    assert table.height == original.height == len(text)
    us, cn, foreign = (row(table, citizenship=c) for c in ("US", "CN", "FOREIGN"))
    assert (us["value"], us["value_conf"]) == (None, "C")
    assert (cn["value"], cn["value_conf"]) == (None, "C")  # else 14 foreigners - 12 Chinese = 2 Americans
    office = pl.read_csv(warehouse.parent / "ctip.duckdb.ctip" / "disclosure_audit.csv")
    assert sorted(office["citizenship"].to_list()) == ["CN", "US"]
    assert dict(zip(office["citizenship"], office["status"], strict=True)) == {"CN": "D", "US": "C"}
    small = office.filter(pl.col("status") == "C")  # the sensitive counts; a D only protects them
    assert small["protected"].all() and (small["upper"] - small["lower"] >= 10).all()
    assert office.filter(pl.col("status") == "D")["protected"].is_null().all()
    assert (foreign["value"], foreign["value_conf"]) == (14, "F")
    headline = row(table, indicator="cases")
    assert (headline["value"], headline["base_value"], headline["change"], headline["value_conf"]) == (78, 62, 16, "F")
    assert round(headline["change_pct"], 1) == 25.8
    assert not table["value"].is_between(1, 9).any() and not table["base_value"].is_between(1, 9).any()
    assert_protected(published_figures(original, table), 10)
    csv_us = next(r for r in text if r["indicator"] == "suspects_to_court" and r["citizenship"] == "US")
    assert (csv_us["value"], csv_us["value_conf"], csv_us["change"]) == ("", "C", "")


def test_export_with_k_100_and_the_default_k(seeded, tmp_path):
    warehouse, original = seeded
    result = export(warehouse, tmp_path / "k100", "--min-cell", "100")
    assert result.exit_code == 0, result.output
    table, text = read_both(tmp_path / "k100")
    assert not table["value"].is_between(1, 99).any() and not table["base_value"].is_between(1, 99).any()
    cases = row(table, indicator="cases")
    assert (cases["value_conf"], cases["base_value_conf"]) == ("C", "C")
    assert (cases["value"], cases["base_value"], cases["change"], cases["change_pct"]) == (None, None, None, None)
    victims = row(table, indicator="victims_rescued")
    assert (victims["value"], victims["base_value"], victims["change"]) == (263, 106, 157)
    family = row(table, indicator="victims_rescued", referral="FAMILY")
    assert (family["value"], family["value_conf"]) == (None, "C")  # else 263 - 191 = 72 handed to Social Affairs
    assert row(table, indicator="victims_rescued", referral="SOCIAL_AFFAIRS")["value_conf"] == "C"
    assert row(table, indicator="marriage_applications")["value"] == 1009
    assert_protected(published_figures(original, table), 100)
    assert pl.DataFrame(text)["value_conf"].to_list() == table["value_conf"].to_list()

    default = export(warehouse, tmp_path / "default")
    assert default.exit_code == 0, default.output
    assert export(warehouse, tmp_path / "k10", "--min-cell", "10").exit_code == 0
    assert read_both(tmp_path / "default")[0].equals(read_both(tmp_path / "k10")[0])
    assert query(warehouse, "select count(*) from marts.period_comparison") == [(original.height,)]


def test_nothing_to_export_exits_1(tmp_path):
    (tmp_path / "inbox").mkdir()
    empty = tmp_path / "empty" / "ctip.duckdb"
    run(tmp_path / "inbox", empty)
    result = export(empty, tmp_path / "public")
    assert result.exit_code == 1 and "Nothing to export" in result.output
    assert not (tmp_path / "public").exists()


def test_a_warehouse_that_is_none_exits_2(tmp_path):
    missing = export(tmp_path / "nowhere.duckdb", tmp_path / "public")
    assert missing.exit_code == 2 and "no warehouse there" in missing.output
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    assert export(other, tmp_path / "public").exit_code == 2
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("not a database")
    assert export(not_duckdb, tmp_path / "public").exit_code == 2
    assert not (tmp_path / "public").exists()


def test_usage_errors_exit_2(seeded, tmp_path):
    warehouse, _ = seeded
    assert runner.invoke(app, ["export", "--warehouse", str(warehouse)]).exit_code == 2
    assert export(warehouse, tmp_path / "public", "--min-cell", "0").exit_code == 2
    assert export(warehouse, tmp_path / "public", "--min-cell", "ten").exit_code == 2
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert export(warehouse, a_file).exit_code == 2
    assert runner.invoke(app, ["export", "--help"]).exit_code == 0


def test_csv_neutralises_formulas_and_keeps_numbers(tmp_path):
    frame = pl.DataFrame(
        {
            "reporter": ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "NCCT", None],
            "area": ["KH", "KH", "KH", "KH", "a=b", "KH"],
            "value": [None, 12, 0, 40, 15, 7],
            "base_value": [None, 17, 40, 37, None, 7],
            "change": [None, -5, -40, 3, None, 0],
            "change_pct": [None, -29.4, -100.0, 8.1, None, 0.0],
        },
        schema={"reporter": pl.String, "area": pl.String, **TYPES},
    )
    parquet, csv_file = write_public(frame, tmp_path / "out")
    with csv_file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x")', "'+1", "'-2+3", "'@SUM(A1)", "NCCT", ""]
    assert [r[1] for r in rows[1:]] == ["KH", "KH", "KH", "KH", "a=b", "KH"]
    assert [r[4] for r in rows[1:]] == ["", "-5", "-40", "3", "", "0"]
    assert [r[5] for r in rows[1:]] == ["", "-29.4", "-100.0", "8.1", "", "0.0"]
    assert not any(cell.startswith("'") for r in rows for cell in r[2:])
    back = pl.read_parquet(parquet)
    assert back.equals(frame) and back.schema["change"] == pl.Int64 and back.schema["change_pct"] == pl.Float64
    assert neutralise_text(frame).schema == frame.schema
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["period_comparison.csv", "period_comparison.parquet"]


def test_the_audit_is_never_written_inside_the_public_folder(seeded, tmp_path):
    warehouse, _ = seeded
    public = tmp_path / "public"
    result = export(warehouse, public, "--audit", str(public / "disclosure_audit.csv"))
    assert result.exit_code == 2 and "never published" in " ".join(result.output.split())
    assert not public.exists()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A warehouse holding three months of generated NCCT submissions (every cut, many ties among small
    counts), and its comparison table."""
    root = tmp_path_factory.mktemp("generated")
    made = runner.invoke(
        app,
        ["generate", "--out", str(root / "generated"), "--years", "2019", "--provinces", "none"]
        + ["--reporters", "NCCT", "--invalid-share", "0", "--seed", "11"],
    )
    assert made.exit_code == 0, made.output
    files = {
        p.name: p.read_bytes()
        for p in sorted((root / "generated").iterdir())
        if not p.name.startswith(".") and any(f"2019-0{m}" in p.name for m in (1, 2, 3))
    }
    assert len(files) == 3
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, files)
    assert [s["status"] for s in run(inbox, warehouse).submissions] == ["loaded"] * 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        original = con.sql("select * from marts.period_comparison").pl()
    return warehouse, original


def test_the_export_of_a_generated_inbox_passes_an_independent_audit(generated, tmp_path):
    """Every suppressed count's interval, by the test's own LPs, from the public files alone."""
    warehouse, original = generated
    public = tmp_path / "public"
    result = export(warehouse, public, "--min-cell", "5")
    assert result.exit_code == 0, result.output
    table, _ = read_both(public)
    figures = published_figures(
        original,
        table.with_columns(pl.col("value_conf").replace({"C": "X"}), pl.col("base_value_conf").replace({"C": "X"})),
    )
    assert sum(not shown for _, shown in figures.values()) > 0
    assert_audited(figures, 5)


def test_two_exports_of_one_warehouse_write_the_same_bytes_whatever_the_order_of_its_rows(generated, tmp_path):
    """The same warehouse, the same public files, byte for byte: the choice among tied candidates for secondary
    suppression depends on the figures' keys only, never on the order the rows come in."""
    warehouse, original = generated
    written = []
    for name in ("first", "second"):
        assert export(warehouse, tmp_path / name, "--audit", str(tmp_path / f"{name}.csv")).exit_code == 0
        written.append(
            {f: (tmp_path / name / f).read_bytes() for f in ("period_comparison.csv", "period_comparison.parquet")}
        )
    assert written[0] == written[1]
    assert (tmp_path / "first.csv").read_bytes() == (tmp_path / "second.csv").read_bytes()
    registry = load_registry()
    table = protected_table(original, registry, 10).table
    secondary = pl.read_csv(tmp_path / "first.csv").filter(pl.col("status") == "D").height
    assert secondary > 20  # room for choice: many counts were suppressed to protect others
    for seed in range(3):
        shuffled = original.sample(fraction=1.0, shuffle=True, seed=seed)
        assert protected_table(shuffled, registry, 10).table.equals(table), seed


def test_the_public_table_carries_statuses_labels_a_rounded_change_and_its_metadata(seeded, tmp_path):
    import hashlib

    warehouse, original = seeded
    public = tmp_path / "public"
    assert export(warehouse, public).exit_code == 0
    table, _ = read_both(public)
    cases = row(table, indicator="cases")
    assert (cases["status"], cases["base_status"], cases["is_derived"]) == ("A", "A", False)
    assert (cases["change_pct"], cases["change_pct_rounded"]) == (100 * 16 / 62, 25.8)
    assert (cases["reporter_label"], cases["area_label"], cases["indicator_label"]) == (
        "National Committee for Counter Trafficking",
        "Cambodia",
        "trafficking cases cracked down",
    )
    women = row(table, sex="F")
    assert (women["sex_label"], women["citizenship_label"]) == ("female", "total")
    victims = row(table, indicator="victims_rescued")
    assert victims["change_pct_rounded"] == 148.1  # 157 / 106 = 148.11...%
    assert (
        table.filter(pl.col("change_pct").is_null())["change_pct_rounded"].null_count()
        == table.filter(pl.col("change_pct").is_null()).height
    )
    metadata = json.loads((public / "metadata.json").read_text(encoding="utf-8"))
    (publication,) = query(warehouse, "select number, watermark from audit.publication")
    assert (metadata["publication"], metadata["watermark"]) == (publication[0], publication[1].isoformat())
    assert metadata["min_cell"] == 10 and "1 to 9" in metadata["suppression"]
    assert "interval audit" in metadata["suppression"] and metadata["status_codes"].keys() == {"F", "C"}
    # one status for every suppressed count: the public files never tell a small count from a protecting one
    assert metadata["suppressed"] == {"C": 2} and metadata["rows"] == original.height
    assert metadata["disclosure_audit"] == {"passed": True, "audited": 2}
    assert set(table["value_conf"].drop_nulls()) | set(table["base_value_conf"].drop_nulls()) == {"F", "C"}
    assert [(f["name"], f["sha256"], f["size"]) for f in metadata["files"]] == [
        (name, hashlib.sha256((public / name).read_bytes()).hexdigest(), (public / name).stat().st_size)
        for name in ("period_comparison.parquet", "period_comparison.csv")
    ]
    assert sorted(p.name for p in public.iterdir()) == [
        "metadata.json",
        "period_comparison.csv",
        "period_comparison.parquet",
    ]


def test_a_table_that_does_not_pass_the_audit_is_not_written(seeded, tmp_path, monkeypatch):
    """Should a small count stay pinned, the export says so, exits 1 and writes nothing, public or office's."""
    import flows.export
    from transforms.disclosure import protect_comparison

    def failing(*args, **kwargs):
        protection = protect_comparison(*args, **kwargs)
        return protection._replace(
            audit=protection.audit.with_columns(
                pl.when(pl.col("status") == "C").then(False).otherwise(pl.col("protected")).alias("protected")
            )
        )

    warehouse, _ = seeded
    monkeypatch.setattr(flows.export, "protect_comparison", failing)
    public, audit = tmp_path / "public", tmp_path / "office.csv"
    result = runner.invoke(
        app,
        ["export", "--public", str(public), "--sdmx", str(tmp_path / "sdmx"), "--audit", str(audit)]
        + ["--warehouse", str(warehouse)],
    )
    assert result.exit_code == 1 and "does not pass the disclosure audit" in " ".join(result.output.split())
    assert not public.exists() and not (tmp_path / "sdmx").exists() and not audit.exists()


def test_counts_near_the_largest_int64_are_exported_and_audited_exactly(tmp_path):
    """9223372036854775807 suspects sent to court, 5 women and 9223372036854775802 men, as the contract allows
    (int64): the public and SDMX files publish the total as it is and suppress the 5 and the men beside it, and
    the office's audit gives their bounds as whole counts within int64."""
    largest = 2**63 - 1
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    rows = [
        f"NCCT,2019-S1,suspects_to_court,{sex},{value}"
        for sex, value in (("_T", largest), ("F", 5), ("M", largest - 5))
    ]
    write_inbox(inbox, {"big.csv": "reporter,period,indicator,sex,value\n" + "\n".join(rows) + "\n"})
    assert [s["status"] for s in run(inbox, warehouse).submissions] == ["loaded"]
    public, sdmx, audit = tmp_path / "public", tmp_path / "sdmx", tmp_path / "office.csv"
    result = runner.invoke(
        app,
        ["export", "--public", str(public), "--sdmx", str(sdmx), "--audit", str(audit), "--warehouse", str(warehouse)],
    )
    assert result.exit_code == 0 and result.exception is None, result.output
    table = pl.read_csv(public / "period_comparison.csv", infer_schema=False)
    shown = {r["sex"]: (r["value"], r["value_conf"]) for r in table.iter_rows(named=True)}
    assert shown == {"_T": (str(largest), "F"), "F": (None, "C"), "M": (None, "C")}
    assert pl.read_parquet(public / "period_comparison.parquet")["value"].to_list()[0] == largest
    observations = pl.read_csv(sdmx / "period_comparison.csv", infer_schema=False)
    assert sorted(observations.select("SEX", "OBS_VALUE", "CONF_STATUS").rows(), key=str) == sorted(
        [("_T", str(largest), "F"), ("F", None, "C"), ("M", None, "C")], key=str
    )
    office = {r["sex"]: r for r in pl.read_csv(audit, infer_schema=False).iter_rows(named=True)}
    assert (office["F"]["value"], office["F"]["status"], office["F"]["protected"]) == ("5", "C", "true")
    assert office["M"]["upper"] == str(largest) and office["M"]["value"] == str(largest - 5)
    for row in office.values():
        assert 0 <= int(row["lower"]) <= int(row["value"]) <= int(row["upper"]) <= largest, row
