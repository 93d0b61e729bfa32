"""What DuckDB alone does last in every benchmark's baseline, written once: store the observations that have a
value, then set each beside the same month a year before (the comparison ctip's marts make).

Imported by the baselines' child processes (the project is on their path through its editable install); it
imports nothing but what it is given, so it adds nothing to DuckDB's own time."""

from __future__ import annotations


def store_and_compare(con, dims: list[str]) -> tuple[int, int]:
    """From the relation `obs` (reporter, period, indicator, area, `dims`, value) on DuckDB connection `con`:
    the table `observations` of the rows with a value and `year_on_year` of each beside its base; returns the
    rows stored and the pairs that found a base."""
    key = ["reporter", "period", "indicator", "area", *dims]
    con.execute(f"create table observations ({', '.join(c + ' varchar' for c in key)}, value bigint)")
    con.execute(f"insert into observations select {', '.join(key)}, value from obs where value is not null")
    inserted = con.execute("select count(*) from observations").fetchone()[0]
    match = " and ".join(f"b.{c} = c.{c}" for c in ["reporter", "indicator", "area", *dims])
    con.execute(f"""create table year_on_year as
        select c.*, b.value as base_value, c.value - b.value as change,
               100.0 * (c.value - b.value) / nullif(b.value, 0) as change_pct
        from observations c left join observations b
          on {match} and b.period = strftime(try_strptime(c.period, '%Y-%m') - interval 1 year, '%Y-%m')""")
    pairs = con.execute("select count(base_value) from year_on_year").fetchone()[0]
    return inserted, pairs
