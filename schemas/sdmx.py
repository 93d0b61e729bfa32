"""How the comparison table is named in SDMX, read from `sdmx.toml` beside this file."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).parent

Names = dict[str, str]  # language -> name


@dataclass(frozen=True)
class Exchange:
    """The agency, identifiers and version of the SDMX artefacts, and the names (per language) of what the
    registry does not name: the dataflow, the structure, the concept scheme, concepts, code lists and the
    codes of the lists that are SDMX's own."""

    agency: str
    version: str
    dataflow: str
    structure: str
    concept_scheme: str
    names: dict[str, Names]
    concepts: dict[str, Names]
    codelists: dict[str, Names]
    codes: dict[str, dict[str, Names]]

    @property
    def dataflow_ref(self) -> str:
        """How SDMX-CSV names the dataflow in STRUCTURE_ID: `AGENCY:ID(VERSION)`."""
        return f"{self.agency}:{self.dataflow}({self.version})"


@functools.cache
def load_exchange(folder: Path = _HERE) -> Exchange:
    data = tomllib.loads((folder / "sdmx.toml").read_text(encoding="utf-8"))
    return Exchange(
        agency=data["agency"],
        version=data["version"],
        dataflow=data["dataflow"],
        structure=data["structure"],
        concept_scheme=data["concept_scheme"],
        names=dict(data["names"]),
        concepts=dict(data["concepts"]),
        codelists=dict(data["codelists"]),
        codes={name: dict(codes) for name, codes in data["codes"].items()},
    )
