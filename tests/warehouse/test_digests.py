"""What the writer makes the database hold (its schema, the registry's code lists) is written again only when
it changes: a newer ctip's DDL, an edited registry."""

from __future__ import annotations

from dataclasses import replace

from warehouse.database import ensure_schema, open_writer
from warehouse.reference import refresh_reference


def _names(con) -> dict[str, str]:
    return dict(con.execute("select reporter, name from core.reporters").fetchall())


def test_the_reference_tables_follow_the_registry(registry, new_warehouse):
    renamed = replace(
        registry, reporters={**registry.reporters, "MOI": replace(registry.reporters["MOI"], name="Interior")}
    )
    with open_writer(new_warehouse(), registry) as writer:
        con = writer.con
        refresh_reference(con, registry)
        codes = con.execute("select count(*) from core.codes").fetchall()[0][0]
        assert codes == sum(len(d.codes) for d in registry.dimensions.values())
        assert _names(con)["MOI"] == registry.reporters["MOI"].name
        refresh_reference(con, renamed)
        assert _names(con)["MOI"] == "Interior"
        refresh_reference(con, registry)
        assert _names(con)["MOI"] == registry.reporters["MOI"].name


def test_an_unchanged_registry_rewrites_nothing(registry, new_warehouse):
    with open_writer(new_warehouse(), registry) as writer:
        con = writer.con
        refresh_reference(con, registry)
        digest = con.execute("select digest from pipeline.digests where name = 'reference'").fetchall()
        # a row taken away behind the writer's back shows whether the tables were written again
        con.execute("delete from core.areas where area = 'KH-1'")
        refresh_reference(con, registry)
        assert con.execute("select count(*) from core.areas where area = 'KH-1'").fetchall() == [(0,)]
        assert con.execute("select digest from pipeline.digests where name = 'reference'").fetchall() == digest
        con.execute("delete from pipeline.digests")  # forgotten: written again in full
        refresh_reference(con, registry)
        assert con.execute("select count(*) from core.areas where area = 'KH-1'").fetchall() == [(1,)]


def test_the_schema_is_run_again_only_when_it_changes(registry, new_warehouse):
    files = new_warehouse()
    view = "select count(*) from duckdb_views() where schema_name = 'marts' and view_name = 'reporter_disagreements'"
    with open_writer(files, registry) as writer:
        writer.con.execute("drop view marts.reporter_disagreements")  # behind the writer's back
        ensure_schema(writer.con)
        assert writer.con.execute(view).fetchall() == [(0,)]  # the same schema: nothing run again
        writer.con.execute("update pipeline.digests set digest = 'older' where name = 'schema'")  # an older ctip's
    with open_writer(files, registry) as writer:
        assert writer.con.execute(view).fetchall() == [(1,)]
