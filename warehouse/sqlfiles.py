"""The SQL of the warehouse lives in files under sql/, one object or query per file.

The DDL and the analyst objects (sql/ddl/, sql/analyst/) run as they are (`sql_text`).
The queries of the marts, the load and the judgements (sql/marts/, sql/load/,
sql/judgement/) are Jinja templates (`render_sql`): a template names what it reads with
`{{ history }}` or `{{ source }}`, writes the key of an observation with the macros of
sql/macros.sql (`same_key('i', 'o')`, ...), which take it from the registry, and
includes another query whole (`{% include 'marts/figures.sql' %}`). To read or run one
in the DuckDB CLI, render it:

    python -m warehouse.sqlfiles judgement/restatement.sql [history=core.observation_history] [repeated=run_repeated]
    python -m warehouse.sqlfiles marts/tilings.sql [source=core.observations] [by=judged,...]

prints the query as ctip runs it (a judgement reads the relation `run_rows` of the load).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import jinja2

from schemas.registry import Registry, load_registry

SQL_DIR = Path(__file__).parent / "sql"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(SQL_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


@functools.cache
def sql_text(*parts: str) -> str:
    """The text of one SQL file, read once per process (loads ask for the same few per submission)."""
    return SQL_DIR.joinpath(*parts).read_text(encoding="utf-8")


def key_context(registry: Registry) -> dict[str, tuple[str, ...]]:
    """What the macros of sql/macros.sql know of the registry: the key and its dimensions."""
    return {"key": registry.key_columns, "dimension_names": registry.dimension_names}


def render_sql(template: str, **context: object) -> str:
    """The query of one template under sql/ (a path such as `judgement/outlier.sql`), given what it names.

    Rendered once per process for the same template and context (a load asks for the same few queries
    for every batch); lists in the context are taken as tuples.
    """
    return _rendered(template, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in context.items())))


@functools.lru_cache(maxsize=256)
def _rendered(template: str, context: tuple[tuple[str, object], ...]) -> str:
    return _TEMPLATES.get_template(template).render(**dict(context))


def main(argv: list[str]) -> int:
    """Print one template rendered under the registry, with `name=value` for what it names."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m warehouse.sqlfiles TEMPLATE [name=value ...]   (such as judgement/outlier.sql)")
        return 0 if argv else 2
    context: dict[str, object] = {
        "history": "core.observation_history",
        "source": "core.observations",
        "by": [],
        "repeated": "",  # no table of the keys with more than one event: load/versions.sql works them out
        "part": "all",
    }
    for pair in argv[1:]:
        name, _, value = pair.partition("=")
        context[name] = [column for column in value.split(",") if column] if name == "by" else value
    try:
        print(render_sql(argv[0], **key_context(load_registry()), **context))
    except jinja2.TemplateNotFound:
        print(f"no template {argv[0]} under {SQL_DIR}", file=sys.stderr)
        return 2
    except jinja2.UndefinedError as error:
        print(f"{argv[0]}: {error}; give it as name=value", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
