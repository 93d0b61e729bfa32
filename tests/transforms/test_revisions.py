"""What a release revises: figures of reporter-periods released before whose published value or status changed."""

from __future__ import annotations

import polars as pl

from transforms.revisions import revisions

KEY = ["reporter", "period", "indicator"]


def _figures(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "reporter": pl.String,
            "period": pl.String,
            "indicator": pl.String,
            "value": pl.Int64,
            "status": pl.String,
            "value_conf": pl.String,
        },
        orient="row",
    )


def test_changed_added_and_withdrawn_figures_of_periods_released_before():
    previous = _figures(
        [
            ("NCCT", "2019-S1", "cases", 78, "A", "F"),
            ("NCCT", "2019-S1", "victims_rescued", 263, "P", "F"),  # provisional, then final
            ("NCCT", "2019-S1", "suspects_to_court", None, "A", "C"),  # suppressed both times: no revision
            ("NCCT", "2019-S1", "marriage_applications", 1009, "A", "F"),  # withdrawn
            ("MOI", "2019-S1", "cases", 75, "A", "F"),  # MOI 2019-S1 no longer released
        ]
    )
    current = _figures(
        [
            ("NCCT", "2019-S1", "cases", 81, "A", "F"),
            ("NCCT", "2019-S1", "victims_rescued", 263, "A", "F"),
            ("NCCT", "2019-S1", "suspects_to_court", None, "A", "C"),
            ("NCCT", "2019-S1", "persons_convicted", 40, "A", "F"),  # added to a period released before
            ("NCCT", "2018-S1", "cases", 62, "A", "F"),  # a period released for the first time: new, not revised
        ]
    )
    found = revisions(previous, current, KEY)
    assert found.select(*KEY, "revision", "old_value", "new_value", "old_status", "new_status").rows() == [
        ("MOI", "2019-S1", "cases", "withdrawn", 75, None, "A", None),
        ("NCCT", "2019-S1", "cases", "changed", 78, 81, "A", "A"),
        ("NCCT", "2019-S1", "marriage_applications", "withdrawn", 1009, None, "A", None),
        ("NCCT", "2019-S1", "persons_convicted", "added", None, 40, None, "A"),
        ("NCCT", "2019-S1", "victims_rescued", "changed", 263, 263, "P", "A"),
    ]


def test_a_figure_suppressed_in_one_release_and_published_in_the_next_is_revised():
    previous = _figures([("NCCT", "2019-S1", "cases", None, "A", "C")])
    current = _figures([("NCCT", "2019-S1", "cases", 12, "A", "F")])
    assert revisions(previous, current, KEY).select("old_value_conf", "new_value", "new_value_conf").rows() == [
        ("C", 12, "F")
    ]
