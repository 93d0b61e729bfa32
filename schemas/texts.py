"""Words ctip shows people, in each language, read from `texts.toml` beside this file."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

_HERE = Path(__file__).parent


@functools.cache
def load_texts(folder: Path = _HERE) -> dict:
    return tomllib.loads((folder / "texts.toml").read_text(encoding="utf-8"))


def _filled(entry: dict, lang: str, values: dict):
    chosen = entry.get(lang) or entry["en"]
    if isinstance(chosen, dict):  # forms by count, where the language has them
        chosen = chosen["one"] if str(values.get("count")) == "1" else chosen["other"]
    if isinstance(chosen, list):
        return [line.format(**values) for line in chosen]
    return chosen.format(**values)


def text(section: str, key: str, lang: str = "en", **values: str):
    """A text (or a list of texts) in `lang`, English where it has none, with `{name}`s filled in."""
    return _filled(load_texts()[section][key], lang, values)


def message_templates() -> dict[str, dict[str, dict[str, str]]]:
    """Every finding's message template: rule (or `common`) -> template name -> language -> text."""
    return load_texts()["messages"]


def message(rule: str, key: str, lang: str = "en", /, **values) -> str:
    """The message `key` of `rule` (or a piece of `common`) in `lang`, with its `{name}`s filled in.

    Values keep their own form in every language: row numbers, codes, periods and figures
    are shown as found; `{value:,}` in a template formats a figure the same way in each.
    """
    return _filled(message_templates()[rule][key], lang, values)
