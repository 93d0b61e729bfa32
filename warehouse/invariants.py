"""The audit of a load before its commit: invariants that only a defect of ctip can break."""

from __future__ import annotations

import duckdb

from schemas.registry import Registry


class LoadAuditFailed(RuntimeError):
    """The rows being loaded broke an invariant; the transaction is rolled back and nothing is committed."""


def audit_load(con: duckdb.DuckDBPyConnection, registry: Registry, incoming: str) -> None:
    """Invariants of the rows in `incoming`, checked before commit: every code known to the registry, and at
    most one current version of each key they touch. Raises LoadAuditFailed naming what is broken."""
    problems = []
    unknown = [
        "i.reporter not in (select reporter from core.reporters)",
        "i.indicator not in (select indicator from core.indicators)",
        "i.area not in (select area from core.areas)",
    ]
    unknown += [f"i.{d} not in (select code from core.codes where dimension = '{d}')" for d in registry.dimension_names]
    # looked for among the distinct cells (a few thousand where a large file has a hundred thousand rows); the
    # rows are counted only when one is found
    cells = ", ".join(["reporter", "indicator", "area", *registry.dimension_names])
    where = " or ".join(unknown)
    if con.execute(f"select count(*) from (select distinct {cells} from {incoming}) i where {where}").fetchall()[0][0]:
        bad_codes = con.execute(f"select count(*) from {incoming} i where {where}").fetchall()[0][0]
        problems.append(f"{bad_codes} staged rows carry codes the registry does not know")
    # keys compared by their hash first (one number each, so ten million fit in little memory),
    # then exactly among the few hashes held more than once
    keys = ", ".join(registry.key_columns)
    doubled = con.execute(
        f"""with touched as (select distinct hash({keys}) as key_hash from {incoming}),
            current as (
                select hash({keys}) as key_hash from core.observation_history
                where valid_to is null and hash({keys}) in (select key_hash from touched)
            ),
            suspects as (select key_hash from current group by all having count(*) > 1)
            select count(*) from (
                select {keys} from core.observation_history
                where valid_to is null and hash({keys}) in (select key_hash from suspects)
                group by all having count(*) > 1)"""
    ).fetchall()[0][0]
    if doubled:
        problems.append(f"{doubled} keys would have more than one current version")
    if problems:
        raise LoadAuditFailed("; ".join(problems))
