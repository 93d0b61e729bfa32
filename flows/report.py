"""`ctip report`: one self-contained HTML file of a period, to read or send offline.

The file holds the headline table of each reporter, the breakdowns, a bar chart of
each headline indicator over every period of the same type, and the open warnings.
Its CSS and SVG charts are inline; it needs no script and refers to nothing outside
itself. Every figure, code and comment is escaped by the template (autoescaping is
on); only the charts, which escape their own text, are inserted as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from flows.cli.common import (
    Language,
    WarehouseOption,
    command_settings,
    compared_periods,
    console,
    errors,
    known_reporter,
    lang_option,
    output_folder,
    readable_warehouse,
    reading_analyst,
)
from flows.completeness import completeness_rows
from flows.pages import render_page
from schemas import load_registry
from schemas.registry import Registry
from schemas.texts import text
from transforms.report import (
    Figures,
    breakdowns,
    disagreement_notes,
    headlines,
    noun,
    open_warnings,
    period_type_name,
    rejected_submissions,
    series,
)
from warehouse.durable import atomic_write_text

TEMPLATE = "report.html.j2"
SUFFIXES = (".html", ".htm")


def report(
    period: Annotated[str, typer.Argument(help="Period to report on, such as 2019-S1.")],
    out: Annotated[
        Path, typer.Option("--out", dir_okay=False, help="The HTML file to write (FILE.html); replaced if it exists.")
    ],
    base: Annotated[str | None, typer.Option("--base", help="Period to compare with (default: a year before).")] = None,
    reporter: Annotated[str | None, typer.Option("--reporter", help="Only this reporter's figures.")] = None,
    warehouse: WarehouseOption = None,
    lang: Annotated[
        Language, lang_option("Language of the page: en (English) or km (Khmer); figures and codes stay as they are.")
    ] = Language.en,
) -> None:
    """Write one self-contained HTML report of PERIOD: headlines, breakdowns, charts and open warnings.

    The file opens offline in any browser (inline CSS and SVG, no script, no external reference).
    Exit 0 when written, 1 when there is nothing to report for the period, 2 for wrong usage.
    """
    from transforms.periods import base_period_code, parse_period
    from warehouse.queries import report_frames

    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    period_code, base_code = compared_periods(period, base)
    reporter_code = known_reporter(registry, reporter)
    if out.suffix.lower() not in SUFFIXES:
        raise typer.BadParameter(f"'{out}' does not end in .html", param_hint="--out")
    output_folder(out.resolve().parent, "--out")
    readable_warehouse(settings)
    period_type = parse_period(period_code).type
    now = datetime.now(UTC)
    with reading_analyst(settings.warehouse) as con:
        inside = [p.code for p in parse_period(period_code).within()]
        compared = inside + ([p.code for p in parse_period(base_code).within()] if base_code else [])
        data = report_frames(
            con,
            registry,
            period_code,
            base_code,
            base_period_code(period_code),
            period_type,
            reporter_code,
            inside,
            compared,
        )
        data["completeness"] = completeness_rows(con, settings.timezone, now, reporter_code, period_code)
    if data["rows"].height == 0:
        errors.print(
            f"Nothing to report: no figures for {period_code}"
            + (f" from {reporter_code}" if reporter_code else "")
            + "."
        )
        raise typer.Exit(1)
    context = build_context(data, registry, period_code, base_code, period_type, reporter_code, now, lang.value)
    context["completeness"] = completeness_section(data["completeness"], settings.timezone, now, lang.value)
    page = render(context)
    try:
        _write(out, page)
    except OSError as problem:
        errors.print(
            f"[bold red]ctip report failed:[/] cannot write {escape(str(out))}: {escape(str(problem))}", highlight=False
        )
        raise typer.Exit(1) from None
    console.print(f"Wrote {out}: {period_code} against {base_code}.", highlight=False, markup=False)


def build_context(
    data: dict,
    registry: Registry,
    period: str,
    base: str | None,
    period_type: str,
    reporter: str | None,
    generated_at: datetime,
    lang: str = "en",
) -> dict:
    """What the template needs: the shaped sections and one chart per headline figure, in the words of `lang`.

    Figures, codes and periods stay as they are in every language; the messages of warnings and
    rejections are shown as the warehouse keeps them (in English).
    """
    from markupsafe import Markup

    from transforms.charts import bar_chart

    notes = disagreement_notes(data["disagreements"], registry, lang)
    of_period = Figures(data["rows"], registry, data["comments"], notes, lang)
    groups = headlines(of_period)
    history = series(data["history"], registry, period_type)
    type_name = period_type_name(period_type, lang)
    charts = []
    for group in groups:
        figures = []
        for row in group["rows"]:
            points = history.get((group["reporter"], row["indicator"]), [])
            marks = {p["period"]: p["status"] for p in points if p["status"] not in (None, registry.defaults["status"])}
            title = text(
                "report",
                "chart_title",
                lang,
                reporter=group["reporter"],
                noun=noun(row["indicator"], registry, lang),
                period_type=type_name,
            )
            unit = registry.label("unit", row["unit"], lang) if lang != "en" and row["unit"] else row["unit"] + "s"
            svg = bar_chart(
                [(p["period"], p["value"]) for p in points],
                title=title,
                x_label=type_name,
                y_label=unit if row["unit"] else row["indicator"],
                highlight=[period],
                notes=marks,
                derived=[p["period"] for p in points if p["derived"]],
            )
            figures.append(
                {"indicator": row["indicator"], "label": row["label"], "periods": len(points), "svg": Markup(svg)}
            )  # bar_chart escapes every text it writes
        charts.append({"reporter": group["reporter"], "name": group["name"], "figures": figures})
    number, watermark, published_at = data["publication"] or (None, None, None)
    return {
        "lang": lang,
        "t": lambda key, **values: text("report", key, lang, **values),
        "period": period,
        "base": base or "—",
        "period_type": type_name,
        "reporter": reporter,
        "generated_at": f"{generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "publication": number,
        "watermark": f"{watermark.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if watermark else None,
        "headlines": groups,
        "breakdowns": breakdowns(of_period),
        "rejected": rejected_submissions(data["rejected"], data["rejected_findings"]),
        "charts": charts,
        "warnings": open_warnings(data["findings"], data["submissions"], reporter),
        "statuses": {
            code: meaning if lang == "en" else registry.label("status", code, lang)
            for code, meaning in registry.statuses.items()
            if code != registry.defaults["status"]
        },
    }


def completeness_section(rows, zone: str, as_of: datetime, lang: str = "en") -> dict:
    """marts.completeness of the report's period as the report shows it: local times, statuses in words."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    return {
        "as_of": f"{as_of.astimezone(tz):%Y-%m-%d %H:%M}",
        "zone": zone,
        "rows": [
            {
                "reporter": row["reporter"],
                "period": row["period"],
                "due": f"{row['due_at'].astimezone(tz):%Y-%m-%d %H:%M}",
                "arrived": f"{row['arrived_at'].astimezone(tz):%Y-%m-%d %H:%M}" if row["arrived_at"] else "",
                "status": row["status"],
                "status_text": text("report", f"status_{row['status']}", lang),
                "days_late": "" if row["days_late"] is None else row["days_late"],
            }
            for row in rows.iter_rows(named=True)
        ],
    }


def render(context: dict) -> str:
    """The page: the Jinja2 template with autoescaping on for every value."""
    return render_page(TEMPLATE, context)


def _write(out: Path, page: str) -> None:
    """Write the whole file under a temporary name, then rename it over `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, page)
