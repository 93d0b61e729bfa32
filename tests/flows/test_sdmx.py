"""`ctip export --sdmx DIR`: the protected comparison table of the shipped sample as SDMX-CSV 2.0 and its
structure as SDMX-ML, read back with pysdmx and compared with `export --public`'s table, row by row."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from pysdmx.io import get_datasets, read_sdmx
from pysdmx.model import Codelist, DataStructureDefinition
from typer.testing import CliRunner

from flows.cli import app
from schemas import load_registry
from schemas.registry import LANGUAGES
from tests.flows.conftest import run, write_inbox
from transforms.periods import PERIOD_TYPES, periods_of_year
from transforms.sdmx import ctip_period, sdmx_period
from warehouse.layout import WarehouseFiles

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "inbox"
DIMENSIONS = ["REPORTER", "REF_AREA", "INDICATOR", "SEX", "AGE", "CITIZENSHIP", "REFERRAL", "OFFENCE", "COUNTRY"]
HEADER = [
    *"STRUCTURE STRUCTURE_ID ACTION".split(),
    *DIMENSIONS,
    *"TIME_PERIOD OBS_VALUE CONF_STATUS OBS_STATUS DERIVED BASE_PERIOD BASE_VALUE".split(),
    *"BASE_CONF_STATUS BASE_OBS_STATUS CHANGE CHANGE_PCT".split(),
]
# The public table's columns, as the SDMX dataset names them.
AS_PUBLIC = {
    **dict(
        zip(
            DIMENSIONS,
            ["reporter", "area", "indicator", "sex", "age", "citizenship", "referral", "offence", "country"],
            strict=True,
        )
    ),
    "TIME_PERIOD": "period",
    "OBS_VALUE": "value",
    "CONF_STATUS": "value_conf",
    "OBS_STATUS": "status",
    "BASE_PERIOD": "base_period",
    "BASE_VALUE": "base_value",
    "BASE_CONF_STATUS": "base_value_conf",
    "BASE_OBS_STATUS": "base_status",
    "CHANGE": "change",
    "CHANGE_PCT": "change_pct",
}
COM = "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common}"
STR = "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure}"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """A warehouse holding the shipped sample (data/inbox/): MFAIC's months make quarters, halves and years to
    date derived beside the reported periods."""
    root = tmp_path_factory.mktemp("sample")
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    files = {path.name: path.read_bytes() for path in sorted(SAMPLE.iterdir()) if path.suffix != ".txt"}
    write_inbox(inbox, files)
    decisions = {s["file_name"]: s["status"] for s in run(inbox, warehouse).submissions}
    assert decisions.pop("mosvy_2019-Q2_draft.csv") == "rejected" and set(decisions.values()) == {"loaded"}
    return warehouse


def export(warehouse: Path, *options: str):
    return runner.invoke(app, ["export", *options, "--warehouse", str(warehouse)])


def read_back(folder: Path) -> tuple[pl.DataFrame, DataStructureDefinition, dict[str, Codelist]]:
    """The SDMX-CSV read with pysdmx against the structure beside it (validated against SDMX-ML 3.0's schemas)."""
    message = read_sdmx(folder / "structure.xml")
    [dsd] = message.get_data_structure_definitions()
    [dataset] = get_datasets(folder / "period_comparison.csv", folder / "structure.xml")
    assert dataset.structure.short_urn == "Dataflow=NCCT:CTIP_COMPARISON(1.0)"
    lists = {c.id: c.local_codes for c in dsd.components if c.local_codes is not None}
    data = pl.from_pandas(dataset.data)
    absent = [name for name, dtype in data.schema.items() if dtype == pl.String]  # SDMX-CSV: empty is absent
    return data.with_columns(pl.col(absent).replace("", None)), dsd, lists


def assert_same_as_public(folder: Path, public: pl.DataFrame) -> pl.DataFrame:
    """Every row of the SDMX dataset is the public table's row in the same place: key, figures, statuses; but for
    the years to date of January alone, whose time is January's (the month stands for both in SDMX)."""
    public = public.filter(~pl.col("period").str.contains(r"^[0-9]{4}-01/[0-9]{4}-01$"))
    data, dsd, lists = read_back(folder)
    text = (folder / "period_comparison.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    assert {tuple(r[:3]) for r in rows[1:]} == {("dataflow", "NCCT:CTIP_COMPARISON(1.0)", "I")}
    assert data.height == public.height == len(rows) - 1 > 0
    assert [c.id for c in dsd.components.dimensions] == [*DIMENSIONS, "TIME_PERIOD"]
    assert data.select(*DIMENSIONS, "TIME_PERIOD").is_duplicated().sum() == 0  # one observation for each key
    assert [c.id for c in dsd.components.measures] == ["OBS_VALUE"]
    for component, codes in lists.items():  # every code written is in its code list
        assert set(data[component].drop_nulls().to_list()) <= {code.id for code in codes}, component
    back = data.select(
        *(pl.col(name).alias(column) for name, column in AS_PUBLIC.items() if "PERIOD" not in name),
        *(
            pl.col(name).map_elements(ctip_period, return_dtype=pl.String).alias(AS_PUBLIC[name])
            for name in ("TIME_PERIOD", "BASE_PERIOD")
        ),
        (pl.col("DERIVED") == "DERIVED").alias("is_derived"),
    ).with_columns(pl.col("value", "base_value", "change").cast(pl.Int64), pl.col("change_pct").cast(pl.Float64))
    expected = public.select(back.columns)
    for column in back.columns:
        assert back[column].to_list() == expected[column].to_list(), column
    # the public statuses: F free, C suppressed whatever the reason (the status never tells a small count)
    assert set(back["value_conf"].drop_nulls()) | set(back["base_value_conf"].drop_nulls()) == {"F", "C"}
    suppressed = back.filter(pl.col("value_conf") == "C")
    assert suppressed.height > 0 and suppressed["value"].null_count() == suppressed.height
    assert back.filter(pl.col("value").is_null())["value_conf"].is_not_null().all()
    return back


def test_sdmx_reads_back_with_the_figures_and_statuses_of_the_public_table(sample, tmp_path):
    public, sdmx = tmp_path / "public", tmp_path / "sdmx"
    result = export(sample, "--public", str(public), "--sdmx", str(sdmx))
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "(SDMX-CSV 2.0)" in said and said.count("Cells suppressed (C):") == 2
    assert sorted(p.name for p in sdmx.iterdir()) == ["period_comparison.csv", "structure.xml"]
    table = pl.read_parquet(public / "period_comparison.parquet")
    back = assert_same_as_public(sdmx, table)
    # every kind of period is there, in SDMX's time format, and a year to date as the range of its months;
    # derived figures say so
    raw = {r["TIME_PERIOD"] for r in csv.DictReader(io.StringIO((sdmx / "period_comparison.csv").read_text()))}
    assert {"2019-S1", "2019-Q1", "2019-M01", "2019-01-01/P5M"} <= raw
    assert set(back["period"]) >= {"2019-S1", "2019-Q1", "2019-01", "2019-01/2019-05"}
    assert set(back.filter(pl.col("period") == "2019-01/2019-05")["is_derived"]) == {True}
    headline = back.filter(
        (pl.col("reporter") == "NCCT") & (pl.col("indicator") == "cases") & (pl.col("period") == "2019-S1")
    ).filter(
        pl.all_horizontal(pl.col(d) == "_T" for d in ("sex", "age", "citizenship", "referral", "offence", "country"))
    )
    assert headline.select("value", "base_value", "change", "value_conf", "status").row(0) == (78, 62, 16, "F", "A")


def test_sdmx_alone_protects_as_the_public_export_with_the_same_k(sample, tmp_path):
    min_cell = "100"
    assert export(sample, "--public", str(tmp_path / "public"), "--min-cell", min_cell).exit_code == 0
    result = export(sample, "--sdmx", str(tmp_path / "sdmx"), "--min-cell", min_cell)
    assert result.exit_code == 0, result.output
    back = assert_same_as_public(tmp_path / "sdmx", pl.read_parquet(tmp_path / "public" / "period_comparison.parquet"))
    assert not back["value"].is_between(1, 99).any() and (back["value_conf"] == "C").any()
    office = pl.read_csv(WarehouseFiles(sample).disclosure_audit)  # the office's audit keeps C and D apart
    assert set(office["status"]) == {"C", "D"} and office.filter(pl.col("status") == "C")["protected"].all()
    assert sorted(p.name for p in (tmp_path / "sdmx").iterdir()) == ["period_comparison.csv", "structure.xml"]


def test_the_structure_names_every_code_and_concept_in_english_and_khmer(sample, tmp_path):
    assert export(sample, "--sdmx", str(tmp_path)).exit_code == 0
    registry = load_registry()
    root = ET.parse(tmp_path / "structure.xml").getroot()

    def names(element) -> dict[str, str]:
        found = [(n.get(LANG), n.text) for n in element.findall(f"{COM}Name")]
        assert len(found) == len(dict(found)), found  # one name per language
        return dict(found)

    codelists = {c.get("id"): c for c in root.iter(f"{STR}Codelist")}
    items = [*root.iter(f"{STR}Code"), *root.iter(f"{STR}Concept")]
    artefacts = [*codelists.values(), *root.iter(f"{STR}ConceptScheme"), *root.iter(f"{STR}DataStructure")]
    assert len(items) > 300 and all(set(names(e)) == set(LANGUAGES) for e in [*items, *artefacts])

    def code(list_id: str, code_id: str) -> dict[str, str]:
        return names(next(c for c in codelists[list_id] if c.get("id") == code_id))

    assert code("CL_AREA", "KH") == {"en": "Cambodia", "km": "កម្ពុជា"}
    assert code("CL_AREA", "KH-1")["km"] == registry.label("area", "KH-1", "km") == "បន្ទាយមានជ័យ"
    assert code("CL_REPORTER", "NCCT")["km"] == registry.label("reporter", "NCCT", "km")
    assert code("CL_SEX", "F") == {"en": "female", "km": "ស្រី"}
    assert code("CL_OBS_STATUS", "P")["km"] == registry.label("status", "P", "km")
    assert set(code("CL_CONF_STATUS", "C")) == {"en", "km"}
    assert {c.get("id") for c in codelists["CL_CONF_STATUS"].iter(f"{STR}Code")} == {"F", "C"}  # no more
    sex = next(c for c in root.iter(f"{STR}Concept") if c.get("id") == "SEX")
    assert names(sex) == {"en": "sex", "km": "ភេទ"}
    # pysdmx reads the English names
    [areas] = [c for c in read_sdmx(tmp_path / "structure.xml").get_codelists() if c.id == "CL_AREA"]
    assert areas["KH"].name == "Cambodia" and len(areas) == len(registry.areas)


def test_wrong_usage_exits_2_and_writes_nothing(sample, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    named_a_file = export(sample, "--sdmx", str(a_file))
    assert named_a_file.exit_code == 2 and "--sdmx" in named_a_file.output
    same = export(sample, "--public", str(tmp_path / "out"), "--sdmx", str(tmp_path / "out"))
    assert same.exit_code == 2 and "period_comparison.csv" in " ".join(same.output.split())
    assert export(sample, "--sdmx", str(tmp_path / "k0"), "--min-cell", "0").exit_code == 2
    nothing = export(sample)
    assert nothing.exit_code == 2 and "--sdmx" in nothing.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] and a_file.read_text() == ""


def test_nothing_to_export_exits_1(tmp_path):
    (tmp_path / "inbox").mkdir()
    empty = tmp_path / "empty" / "ctip.duckdb"
    run(tmp_path / "inbox", empty)
    result = export(empty, "--sdmx", str(tmp_path / "sdmx"))
    assert result.exit_code == 1 and "Nothing to export" in result.output
    assert not (tmp_path / "sdmx").exists()


def test_every_period_type_has_one_sdmx_time_period_and_back():
    written = {}
    for kind in PERIOD_TYPES:
        for period in (*periods_of_year(2019, kind), *periods_of_year(2020, kind)):
            written[period.code] = sdmx_period(period.code)
            assert ctip_period(written[period.code]) == period.code
    assert len(set(written.values())) == len(written)  # no two periods share one
    assert [written[c] for c in ("2019", "2019-S2", "2019-Q4", "2019-12", "2019-01/2019-12", "2019-01/2019-01")] == [
        "2019",
        "2019-S2",
        "2019-Q4",
        "2019-M12",
        "2019-01-01/P12M",
        "2019-01-01/P1M",
    ]
    for wrong in ("2019-01", "2019-M13", "2019-02-01/P3M", "2019-01-01/P13M", "S1", "2019-s1"):
        with pytest.raises(ValueError):
            ctip_period(wrong)
    with pytest.raises(ValueError):
        sdmx_period("2019S1")  # only the canonical form


def test_a_year_to_date_of_january_sent_without_the_month_is_written(tmp_path):
    """January's twin is left out only beside January itself: sent alone, it is the only observation of its time,
    and the count said is the count written."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "moi_ytd.csv": "reporter,period,indicator,value\nMOI,2020-01/2020-01,cases,70\nMOI,2019-01/2019-01,cases,60\n",
            "mfaic_months.csv": "reporter,period,indicator,value\nMFAIC,2020-01,marriage_applications,40\n",
        },
    )
    run(inbox, warehouse)
    result = export(warehouse, "--sdmx", str(tmp_path / "sdmx"), "--min-cell", "1")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sdmx" / "period_comparison.csv").read_text())))
    times = {(r["REPORTER"], r["TIME_PERIOD"]): r["OBS_VALUE"] for r in rows}
    assert times[("MOI", "2020-01-01/P1M")] == "70" and times[("MOI", "2019-01-01/P1M")] == "60"
    assert ("MFAIC", "2020-M01") in times and ("MFAIC", "2020-01-01/P1M") not in times  # the month stands for both
    assert f"Wrote {len(rows)} observations" in " ".join(result.output.split())
