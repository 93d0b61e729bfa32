"""The HTML pages ctip writes (the report of a period, the validation pages of a run): one Jinja2 environment
over flows/templates/, autoescaping every value, so that no name, code or message can add markup."""

from __future__ import annotations

from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(template: str, context: dict) -> str:
    """A page from its template in flows/templates/, every value escaped."""
    return _environment().get_template(template).render(**context)
