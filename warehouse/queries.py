"""Read-only questions analysts and the command line ask of the warehouse.

Every command that reads the analyst file opens it here, with `open_analyst`, and asks it here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from schemas.registry import TOTAL, Registry
from warehouse.layout import WarehouseFiles
from warehouse.marts import compare_with_base_sql

# Relations of the live analyst file that read the Parquet segments in `<file>.ctip/segments/`.
SEGMENT_VIEWS = ("core.observation_history", "audit.submissions", "audit.findings")
ANALYST_SCHEMAS = ("core", "audit", "marts")  # the schemas analysts may query


class DetachedAnalystFile(RuntimeError):
    """A live analyst file opened away from its `.ctip` folder, whose segments its views read."""


def not_an_analyst_file(path: Path) -> str | None:
    """Why the DuckDB file at `path` is not a ctip analyst file, or None when it is one."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            found = con.execute(
                "select count(*) from information_schema.tables where table_catalog = current_database() "
                "and table_schema = 'audit' and table_name = 'submissions'"
            ).fetchall()[0][0]
    except duckdb.Error as problem:
        return f"it cannot be opened ({str(problem).splitlines()[0]})"
    return None if found else "it is a DuckDB file without ctip's relations (no audit.submissions)"


def open_analyst(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an analyst file, live or exported.

    A live file's views read the Parquet segments of the `.ctip` folder beside the
    place it was published at; opened anywhere else (moved, or copied without its
    folder) it cannot answer, and this says so in words instead of DuckDB's "No files found".
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        for relation in SEGMENT_VIEWS:
            con.sql(f"select * from {relation} limit 0").fetchall()
    except duckdb.IOException as problem:
        con.close()
        if "no files found" not in str(problem).lower():
            raise
        raise DetachedAnalystFile(
            f"{path} is a live analyst file moved or copied away from where ctip published it: its views read "
            f"the Parquet segments of its .ctip folder by the paths they had there, and those are gone"
            f"{_missing(problem)}. A live file works only where ctip writes it, beside its "
            f".ctip folder (here that would be {WarehouseFiles(path).segments_dir}); for a copy that works "
            "anywhere, ask for `ctip export --duckdb FILE`."
        ) from None
    except duckdb.CatalogException:
        pass  # not a ctip analyst file at all: the caller's own query says what is missing
    return con


def empty_warehouse() -> duckdb.DuckDBPyConnection:
    """A warehouse that holds nothing, in memory: what a file is judged against before there is any."""
    from warehouse.database import ensure_schema

    con = duckdb.connect()
    ensure_schema(con)
    return con


def _missing(problem: duckdb.Error) -> str:
    """The first path DuckDB looked for, as ' (such as PATH)', or nothing."""
    found = re.search(r'pattern "([^"]+)"', str(problem))
    return f" (such as {found[1]})" if found else ""


def comparison(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    period: str,
    base_period: str | None = None,
    reporter: str | None = None,
    default_base: str | None = None,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Rows of the comparison table for `period`, headline figures (no cut) first, areas in the registry's order.

    Without `base_period` (or with the year before) and `as_of`, the rows come from
    `marts.period_comparison` as analysts see it; with `as_of`, from what the
    warehouse knew at that time (`core.observation_history`).
    """
    if as_of is None and (base_period is None or base_period == default_base):
        frame = con.sql(
            "select * from marts.period_comparison where period = $period and ($reporter is null or reporter = $reporter)",
            params={"period": period, "reporter": reporter},
        ).pl()
    else:
        frame = con.sql(
            compare_with_base_sql(),
            params={
                "period": period,
                "base_period": base_period or default_base,
                "reporter": reporter,
                "as_of": as_of or "infinity",
            },
        ).pl()
    dims = list(registry.dimension_names)
    cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in dims])
    ranks = {code: registry.area_rank(code) for code in registry.areas}
    area_rank = pl.col("area").replace_strict(ranks, default=len(ranks), return_dtype=pl.Int64)
    return (
        frame.with_columns(cut_size.alias("_cut_size"), area_rank.alias("_area_rank"))
        .sort("reporter", "_area_rank", "area", "indicator", "_cut_size", *dims)
        .drop("_cut_size", "_area_rank")
    )


SUBMISSION_COLUMNS = (
    "sequence",
    "received_at",
    "file_name",
    "format",
    "reporter",
    "status",
    "errors",
    "warnings",
    "observations",
    "submission_id",
)
FINDING_COLUMNS = (
    "sequence",
    "received_at",
    "file_name",
    "reporter",
    "status",
    "severity",
    "rule",
    "row_number",
    "column_name",
    "message",
)


def recent_submissions(
    con: duckdb.DuckDBPyConnection,
    reporter: str | None = None,
    status: str | None = None,
    file_name: str | None = None,
    limit: int = 20,
) -> pl.DataFrame:
    """The latest files received (`audit.submissions`), newest first, of a reporter, status or file name if given."""
    return con.sql(
        f"""select {", ".join(SUBMISSION_COLUMNS)} from audit.submissions
            where ($reporter is null or reporter = $reporter) and ($status is null or status = $status)
              and ($file_name is null or file_name = $file_name)
            order by sequence desc limit $limit""",
        params={"reporter": reporter, "status": status, "file_name": file_name, "limit": limit},
    ).pl()


def originals(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Submission id -> (file name, status) of the file that first brought those bytes (a duplicate's original)."""
    rows = con.execute(
        """select submission_id, arg_min(file_name, sequence), arg_min(status, sequence) from audit.submissions
           where status <> 'duplicate' and submission_id in (select unnest($ids)) group by submission_id""",
        {"ids": submission_ids},
    ).fetchall()
    return {submission_id: (file_name, status) for submission_id, file_name, status in rows}


def recent_findings(
    con: duckdb.DuckDBPyConnection,
    reporter: str | None = None,
    status: str | None = None,
    rule: str | None = None,
    severity: str | None = None,
    file_name: str | None = None,
    limit: int = 50,
) -> pl.DataFrame:
    """The findings of the latest files (`audit.findings` with the file's receipt), newest file first, each file's
    findings in row order; of a reporter, submission status, rule, severity or file name if given."""
    return con.sql(
        f"""select {
            ", ".join(
                "s." + c if c in ("sequence", "received_at", "file_name", "reporter", "status") else "f." + c
                for c in FINDING_COLUMNS
            )
        }
            from audit.findings as f
            join audit.submissions as s on s.submission_id = f.submission_id and s.file_name = f.file_name
            where ($reporter is null or s.reporter = $reporter) and ($status is null or s.status = $status)
              and ($rule is null or f.rule = $rule) and ($severity is null or f.severity = $severity)
              and ($file_name is null or s.file_name = $file_name)
            order by s.sequence desc, f.row_number nulls first, f.column_name nulls first, f.rule
            limit $limit""",
        params={
            "reporter": reporter,
            "status": status,
            "rule": rule,
            "severity": severity,
            "file_name": file_name,
            "limit": limit,
        },
    ).pl()


def first_received(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the warehouse received its first submission, or None when it holds none."""
    return con.execute("select min(received_at) from audit.submissions").fetchall()[0][0]


def publication(con: duckdb.DuckDBPyConnection) -> dict:
    """The publication the analyst file shows: number, watermark and published_at (empty before the first)."""
    rows = con.sql("select number, watermark, published_at from audit.publication").pl().to_dicts()
    return rows[0] if rows else {}


def public_comparison(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> pl.DataFrame:
    """These columns of every row of `marts.period_comparison`, for publication."""
    return con.sql(f"select {', '.join(columns)} from marts.period_comparison").pl()


def comparison_figures(
    con: duckdb.DuckDBPyConnection, registry: Registry, keys: list[tuple[str, ...]]
) -> dict[tuple[str, ...], tuple[int, bool]]:
    """The figure of each key given (its key columns in the registry's order) as the comparison table shows it
    (`marts.period_comparison`, which `ctip compare` and `ctip report` read: reported, or derived from shorter
    periods where no one reported it): key -> (value, is_derived). A key the table does not hold is left out."""
    columns = list(registry.key_columns)
    if not keys:
        return {}
    wanted = pl.DataFrame(keys, schema={name: pl.String for name in columns}, orient="row")
    con.register("wanted_keys", wanted)
    try:
        names = ", ".join(columns)
        rows = con.sql(
            f"select {names}, c.value, c.is_derived from wanted_keys join marts.period_comparison as c using ({names})"
        ).fetchall()
    finally:
        con.unregister("wanted_keys")
    return {tuple(row[:-2]): (int(row[-2]), bool(row[-1])) for row in rows}


def report_frames(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    period: str,
    base: str | None,
    default_base: str,
    period_type: str,
    reporter: str | None,
    inside: list[str],
    compared: list[str],
) -> dict:
    """Everything the report of a period shows, as frames: its comparison rows, the history of the periods of its
    type, comments, warnings, disagreements, rejected submissions with their errors, and the publication.

    `inside`: the period and the periods within it, whose rejected files the report lists; `compared`: those and
    the periods within its base, the figures whose files' warnings it lists."""
    params = {"period": period, "reporter": reporter}
    keys = ", ".join(registry.key_columns)
    shown = con.sql("select number, watermark, published_at from audit.publication").fetchall()
    return {
        "rows": comparison(con, registry, period, base, reporter, default_base=default_base),
        "history": con.sql(
            "select * from marts.period_comparison where period_type = $period_type "
            "and ($reporter is null or reporter = $reporter)",
            params={"period_type": period_type, "reporter": reporter},
        ).pl(),
        "comments": con.sql(
            f"select {keys}, comment from core.observations "
            "where period = $period and comment is not null and ($reporter is null or reporter = $reporter)",
            params=params,
        ).pl(),
        "findings": con.sql(
            "select * from audit.findings where severity = 'warning' and submission_id in (select submission_id "
            "from audit.submission_periods where period in (select unnest($periods)))",
            params={"periods": compared},
        ).pl(),
        "disagreements": con.sql(
            "select * from marts.reporter_disagreements where period = $period", params={"period": period}
        ).pl(),
        "rejected": con.sql(
            "select s.* from audit.submissions s where s.status = 'rejected' "
            "and ($reporter is null or s.reporter = $reporter) and s.submission_id in "
            "(select submission_id from audit.submission_periods where period in (select unnest($periods)))",
            params={"periods": inside, "reporter": reporter},
        ).pl(),
        "rejected_findings": con.sql(
            "select * from audit.findings where severity = 'error' and submission_id in (select submission_id "
            "from audit.submission_periods where period in (select unnest($periods)))",
            params={"periods": inside},
        ).pl(),
        "submissions": con.sql(
            "select submission_id, file_name, reporter, sequence, status from audit.submissions"
        ).pl(),
        "publication": shown[0] if shown else None,
    }


def relations(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ANALYST_SCHEMAS) -> list[dict]:
    """Every table, view and table macro of the analyst file's `schemas`, sorted by name.

    Each with its kind, parameters (of a macro) and columns with their types, in their order.
    """
    listed = ", ".join(f"'{schema}'" for schema in schemas)
    mine = f"database_name = current_database() and schema_name in ({listed})"
    found: dict[str, dict] = {}
    for schema, name in con.sql(
        f"select schema_name, table_name from duckdb_tables() where {mine} and not temporary"
    ).fetchall():
        found[f"{schema}.{name}"] = {"kind": "table", "parameters": []}
    for schema, name in con.sql(
        f"select schema_name, view_name from duckdb_views() where {mine} and not internal and not temporary"
    ).fetchall():
        found[f"{schema}.{name}"] = {"kind": "view", "parameters": []}
    for schema, name, parameters in con.sql(
        f"select schema_name, function_name, parameters from duckdb_functions() where {mine} and function_type = 'table_macro'"
    ).fetchall():
        found[f"{schema}.{name}"] = {"kind": "table macro", "parameters": list(parameters)}
    columns: dict[str, list[dict]] = {}
    for schema, name, column, data_type in con.sql(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_catalog = current_database() and table_schema in ({listed}) "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall():
        columns.setdefault(f"{schema}.{name}", []).append({"name": column, "type": data_type})
    for name, relation in found.items():
        if relation["kind"] == "table macro":  # its columns are those of a call: all arguments null
            arguments = ", ".join("null" for _ in relation["parameters"])
            columns[name] = [
                {"name": row[0], "type": row[1]}
                for row in con.sql(f"describe select * from {name}({arguments})").fetchall()
            ]
    return [{"name": name, **found[name], "columns": columns.get(name, [])} for name in sorted(found)]


def completeness(
    con: duckdb.DuckDBPyConnection,
    zone: str,
    as_of: datetime,
    reporter: str | None = None,
    within: tuple[date, date] | None = None,
) -> pl.DataFrame:
    """marts.completeness as known at `as_of` in the time zone `zone` (CTIP_TIMEZONE): of one reporter, and of
    the periods that lie within `within` (a period's start and exclusive end dates), when given."""
    from warehouse.marts import completeness_sql

    params: dict = {"as_of": as_of}
    query = f"select * from ({completeness_sql(zone, as_of='$as_of', within=within is not None)}) where true"
    if within:
        params["within_start"], params["within_end"] = within
    if reporter:
        query += " and reporter = $reporter"
        params["reporter"] = reporter
    return con.sql(query, params=params).pl()
