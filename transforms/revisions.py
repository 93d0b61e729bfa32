"""What a release revises: the published figures that differ from the release before it."""

from __future__ import annotations

import polars as pl

# What a release publishes of each figure, beside its key: the count (empty when suppressed), its SDMX
# observation status and its confidentiality status.
FIGURE_COLUMNS = ("value", "status", "value_conf")
ADDED, CHANGED, WITHDRAWN = "added", "changed", "withdrawn"


def revisions(previous: pl.DataFrame, current: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Every figure of a reporter-period the previous release held whose value, status or confidentiality
    status is not the same in the current one: its key, `revision` (`changed`; `added`, a figure the
    reporter-period did not have; `withdrawn`, one it no longer has, or the reporter-period is no longer
    released) and the old and new `value`, `status`, `value_conf`.

    Both frames hold one row per figure (`key` and FIGURE_COLUMNS) as published, so a suppressed count
    is compared as the empty cell it is, never as its value. Figures of reporter-periods released for
    the first time are new, not revised.
    """
    old = previous.select(*key, *FIGURE_COLUMNS).rename({c: f"old_{c}" for c in FIGURE_COLUMNS})
    new = current.select(*key, *FIGURE_COLUMNS).rename({c: f"new_{c}" for c in FIGURE_COLUMNS})
    released_before = previous.select("reporter", "period").unique()
    joined = (
        old.with_columns(pl.lit(True).alias("_old"))
        .join(new.with_columns(pl.lit(True).alias("_new")), on=key, how="full", coalesce=True)
        .join(released_before, on=["reporter", "period"], how="semi")
    )
    differs = pl.any_horizontal(pl.col(f"old_{c}").ne_missing(pl.col(f"new_{c}")) for c in FIGURE_COLUMNS)
    kind = (
        pl.when(pl.col("_old").is_null())
        .then(pl.lit(ADDED))
        .when(pl.col("_new").is_null())
        .then(pl.lit(WITHDRAWN))
        .otherwise(pl.lit(CHANGED))
    )
    return (
        joined.filter(differs | pl.col("_old").is_null() | pl.col("_new").is_null())
        .with_columns(kind.alias("revision"))
        .select(*key, "revision", *(f"old_{c}" for c in FIGURE_COLUMNS), *(f"new_{c}" for c in FIGURE_COLUMNS))
        .sort(key)
    )
