"""`ctip report`: one self-contained HTML file of a period, to read or send offline.

The file holds the headline table of each reporter, the breakdowns, a bar chart of
each headline indicator over every period of the same type, and the open warnings.
Its CSS and SVG charts are inline; it needs no script and refers to nothing outside
itself. Every figure, code and comment is escaped by the template (autoescaping is
on); only the charts, which escape their own text, are inserted as they are.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from flows.cli import (
    WarehouseOption, _base_period, _canonical_period, _open_analyst, _registry, _settings, app, console, errors,
    readable_warehouse,
)
from warehouse.durable import atomic_write_text

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"
SUFFIXES = (".html", ".htm")


@app.command()
def report(
    period: Annotated[str, typer.Argument(help="Period to report on, such as 2019-S1.")],
    out: Annotated[
        Path, typer.Option("--out", dir_okay=False, help="The HTML file to write (FILE.html); replaced if it exists.")
    ],
    base: Annotated[Optional[str], typer.Option("--base", help="Period to compare with (default: a year before).")] = None,
    reporter: Annotated[Optional[str], typer.Option("--reporter", help="Only this reporter's figures.")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write one self-contained HTML report of PERIOD: headlines, breakdowns, charts and open warnings.

    The file opens offline in any browser (inline CSS and SVG, no script, no external reference).
    Exit 0 when written, 1 when there is nothing to report for the period, 2 for wrong usage.
    """
    import duckdb

    from transforms.periods import base_period_code, parse_period

    settings = _settings(warehouse=warehouse)
    period_code = _canonical_period(period, "PERIOD")
    base_code = _base_period(base, period_code) if base else base_period_code(period_code)
    reporter_code = reporter.strip().upper() if reporter else None
    if reporter_code is not None and reporter_code not in _registry.reporters:
        raise typer.BadParameter(f"'{reporter}' is not a reporter; use one of {', '.join(_registry.reporters)}",
                                 param_hint="--reporter")
    if out.suffix.lower() not in SUFFIXES:
        raise typer.BadParameter(f"'{out}' does not end in .html", param_hint="--out")
    readable_warehouse(settings)
    period_type = parse_period(period_code).type
    try:
        with _open_analyst(settings.warehouse) as con:
            data = _read(con, period_code, base_code, period_type, reporter_code)
    except duckdb.Error as problem:
        errors.print(f"[bold red]ctip report failed:[/] cannot read {escape(str(settings.warehouse))}: "
                     f"{type(problem).__name__}: {escape(str(problem))}", highlight=False)
        raise typer.Exit(1) from None
    if data["rows"].height == 0:
        errors.print(f"Nothing to report: no figures for {period_code}" + (f" from {reporter_code}" if reporter_code else "") + ".")
        raise typer.Exit(1)
    page = render(build_context(data, period_code, base_code, period_type, reporter_code, datetime.now(timezone.utc)))
    try:
        _write(out, page)
    except OSError as problem:
        errors.print(f"[bold red]ctip report failed:[/] cannot write {escape(str(out))}: {escape(str(problem))}",
                     highlight=False)
        raise typer.Exit(1) from None
    console.print(f"Wrote {out}: {period_code} against {base_code}.", highlight=False, markup=False)


def _read(con, period: str, base: str | None, period_type: str, reporter: str | None) -> dict:
    """Everything the report shows, as frames, from the analyst file."""
    from transforms.periods import base_period_code
    from warehouse.queries import comparison

    params = {"period": period, "reporter": reporter}
    keys = ", ".join(_registry.key_columns)
    publication = con.sql("select number, watermark, published_at from audit.publication").fetchall()
    return {
        "rows": comparison(con, _registry, period, base, reporter, default_base=base_period_code(period)),
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
        "findings": con.sql("select * from audit.findings where severity = 'warning'").pl(),
        "disagreements": con.sql(
            "select * from marts.reporter_disagreements where period = $period", params={"period": period}
        ).pl(),
        "rejected": con.sql(
            "select s.* from audit.submissions s where s.status = 'rejected' "
            "and ($reporter is null or s.reporter = $reporter) and s.submission_id in "
            "(select submission_id from audit.submission_periods where period = $period)",
            params=params,
        ).pl(),
        "rejected_findings": con.sql(
            "select * from audit.findings where severity = 'error' and submission_id in (select submission_id "
            "from audit.submission_periods where period = $period)", params={"period": period},
        ).pl(),
        "submissions": con.sql("select submission_id, file_name, reporter, sequence, status from audit.submissions").pl(),
        "publication": publication[0] if publication else None,
    }


def build_context(data: dict, period: str, base: str | None, period_type: str, reporter: str | None,
                  generated_at: datetime) -> dict:
    """What the template needs: the shaped sections and one chart per headline figure."""
    from markupsafe import Markup

    from transforms import report as shape
    from transforms.charts import bar_chart

    notes = shape.disagreement_notes(data["disagreements"], _registry)
    headlines = shape.headlines(data["rows"], _registry, data["comments"], notes)
    series = shape.series(data["history"], _registry, period_type)
    type_name = shape.period_type_name(period_type)
    charts = []
    for group in headlines:
        figures = []
        for row in group["rows"]:
            points = series.get((group["reporter"], row["indicator"]), [])
            marks = {p["period"]: p["status"] for p in points if p["status"] not in (None, _registry.defaults["status"])}
            title = f"{group['reporter']}: {shape.noun(row['indicator'])}, every {type_name} held"
            svg = bar_chart([(p["period"], p["value"]) for p in points], title=title, x_label=type_name,
                            y_label=row["unit"] + "s" if row["unit"] else row["indicator"], highlight=[period],
                            notes=marks, derived=[p["period"] for p in points if p["derived"]])
            figures.append({"indicator": row["indicator"], "label": row["label"], "periods": len(points),
                            "svg": Markup(svg)})  # bar_chart escapes every text it writes
        charts.append({"reporter": group["reporter"], "name": group["name"], "figures": figures})
    number, watermark, published_at = data["publication"] or (None, None, None)
    return {
        "period": period,
        "base": base or "—",
        "period_type": type_name,
        "reporter": reporter,
        "generated_at": f"{generated_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "publication": number,
        "watermark": f"{watermark.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if watermark else None,
        "headlines": headlines,
        "breakdowns": shape.breakdowns(data["rows"], _registry, data["comments"], notes),
        "rejected": shape.rejected_submissions(data["rejected"], data["rejected_findings"]),
        "charts": charts,
        "warnings": shape.open_warnings(data["findings"], data["submissions"], reporter),
        "statuses": {code: meaning for code, meaning in _registry.statuses.items()
                     if code != _registry.defaults["status"]},
    }


def render(context: dict) -> str:
    """The page: the Jinja2 template with autoescaping on for every value."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    return environment.get_template(TEMPLATE).render(**context)


def _write(out: Path, page: str) -> None:
    """Write the whole file under a temporary name, then rename it over `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, page)
