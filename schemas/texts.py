"""Words ctip shows people, in each language, read from `texts.toml` beside this file."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

_HERE = Path(__file__).parent


@functools.cache
def load_texts(folder: Path = _HERE) -> dict:
    return tomllib.loads((folder / "texts.toml").read_text(encoding="utf-8"))


def text(section: str, key: str, lang: str = "en", **values: str):
    """A text (or a list of texts) in `lang`, English where it has none, with `{name}`s filled in."""
    entry = load_texts()[section][key]
    chosen = entry.get(lang) or entry["en"]
    if isinstance(chosen, dict):  # forms by count, where the language has them
        chosen = chosen["one"] if str(values.get("count")) == "1" else chosen["other"]
    if isinstance(chosen, list):
        return [line.format(**values) for line in chosen]
    return chosen.format(**values)
