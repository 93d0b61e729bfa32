"""The protected comparison table in SDMX: the structure it follows and its observations.

The structure (SDMX 3.0): code lists of the registry's codes (reporters, areas,
indicators, each dimension's codes, observation statuses) and of SDMX's own
confidentiality statuses, one concept scheme, the data structure definition and its
dataflow. Its dimensions are the comparison table's key (REPORTER, REF_AREA,
INDICATOR, the six dimensions, TIME_PERIOD); its measure OBS_VALUE is the count;
its attributes, all of one observation: CONF_STATUS, OBS_STATUS, DERIVED, and the
base period's BASE_PERIOD, BASE_VALUE, BASE_CONF_STATUS, BASE_OBS_STATUS with
CHANGE and CHANGE_PCT. pysdmx holds one name per artefact (the English one);
`with_names` adds the other languages' names to the SDMX-ML it writes.

Periods in SDMX time format: 2019, 2019-S1, 2019-Q1 as they are, a month as
2019-M01, and a year to date (2019-01/2019-10) as the time range of its months,
2019-01-01/P10M.

Pure functions: no files, no clock. flows/export.py writes what they build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
from lxml import etree
from pysdmx.io.pd import PandasDataset
from pysdmx.model import (
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    Dataflow,
    DataStructureDefinition,
    DataType,
    Role,
)
from pysdmx.model.dataflow import Schema

from schemas.registry import LANGUAGES, Registry
from schemas.sdmx import Exchange, Names
from transforms.periods import parse_period

TIME_DIMENSION = "TIME_PERIOD"
MEASURE = "OBS_VALUE"
REPORTED, DERIVED = "REPORTED", "DERIVED"
# The comparison table's key columns that are not dimensions of the registry, as SDMX names them.
KEY_DIMENSIONS = {
    "reporter": ("REPORTER", "CL_REPORTER"),
    "area": ("REF_AREA", "CL_AREA"),
    "indicator": ("INDICATOR", "CL_INDICATOR"),
}
# Attribute -> (its code list, or its data type), in the order the table gives them.
ATTRIBUTES: dict[str, str | DataType] = {
    "CONF_STATUS": "CL_CONF_STATUS",
    "OBS_STATUS": "CL_OBS_STATUS",
    "DERIVED": "CL_DERIVED",
    "BASE_PERIOD": DataType.PERIOD,
    "BASE_VALUE": DataType.LONG,
    "BASE_CONF_STATUS": "CL_CONF_STATUS",
    "BASE_OBS_STATUS": "CL_OBS_STATUS",
    "CHANGE": DataType.LONG,
    "CHANGE_PCT": DataType.DOUBLE,
}
# Columns of the protected comparison table that are the measure or an attribute as they are.
FROM_TABLE = {
    "value": MEASURE,
    "value_conf": "CONF_STATUS",
    "status": "OBS_STATUS",
    "base_value": "BASE_VALUE",
    "base_value_conf": "BASE_CONF_STATUS",
    "base_status": "BASE_OBS_STATUS",
    "change": "CHANGE",
    "change_pct": "CHANGE_PCT",
}
NameKey = tuple[str, str, str | None]  # (SDMX-ML element of the artefact, its id, the item's id or None)

_MONTH = re.compile(r"^([0-9]{4})-M([0-9]{2})$")
_MONTHS_FROM_JANUARY = re.compile(r"^([0-9]{4})-01-01/P([0-9]{1,2})M$")


_ONE_MONTH_YEAR_TO_DATE = r"^[0-9]{4}-01/[0-9]{4}-01$"


def sdmx_period(code: str) -> str:
    """A ctip period in SDMX time format: 2019, 2019-S1 and 2019-Q1 as they are, 2019-M01 for a month,
    2019-01-01/P10M (ten months from 1 January) for the year to date 2019-01/2019-10."""
    period = parse_period(code)
    if period is None or period.code != code:
        raise ValueError(f"{code!r} is not a period in its canonical form")
    if period.type == "month":
        return f"{period.start.year:04d}-M{period.start.month:02d}"
    if period.type == "ytd":
        first, end = period.months
        return f"{period.start.isoformat()}/P{end - first}M"
    return period.code


def ctip_period(text: str) -> str:
    """The ctip period an SDMX time period written by `sdmx_period` stands for."""
    if match := _MONTH.match(text):
        found = parse_period(f"{match[1]}-{match[2]}")
    elif match := _MONTHS_FROM_JANUARY.match(text):
        found = parse_period(f"{match[1]}-01/{match[1]}-{int(match[2]):02d}")
    else:
        found = parse_period(text)
    if found is None or sdmx_period(found.code) != text:
        raise ValueError(f"{text!r} is no period that ctip writes in SDMX")
    return found.code


@dataclass(frozen=True)
class ComparisonStructure:
    """The SDMX artefacts of the comparison table, the schema its datasets are written against, and the names
    of every artefact and item in every language (pysdmx keeps only the English one)."""

    codelists: tuple[Codelist, ...]
    concepts: ConceptScheme
    dsd: DataStructureDefinition
    dataflow: Dataflow
    schema: Schema
    names: dict[NameKey, Names]
    dimensions: dict[str, str]  # column of the comparison table -> its dimension

    @property
    def artefacts(self) -> list:
        return [*self.codelists, self.concepts, self.dsd, self.dataflow]


def _names_of(registry: Registry, kind: str, code: str) -> Names:
    """A registry code's name in every language that has one (English, or else the code, at least)."""
    known = registry.labels.get((kind, code), {})
    return {**{lang: known[lang] for lang in LANGUAGES if known.get(lang)}, "en": registry.label(kind, code)}


def comparison_structure(registry: Registry, exchange: Exchange) -> ComparisonStructure:
    """The code lists, concepts, data structure definition and dataflow of the comparison table."""
    agency, version = exchange.agency, exchange.version
    names: dict[NameKey, Names] = {}

    def codelist(list_id: str, codes: dict[str, Names], list_names: Names) -> Codelist:
        names[("Codelist", list_id, None)] = list_names
        for code, code_names in codes.items():
            names[("Codelist", list_id, code)] = code_names
        items = [Code(id=code, name=code_names["en"]) for code, code_names in codes.items()]
        return Codelist(id=list_id, name=list_names["en"], agency=agency, version=version, items=items)

    lists: dict[str, Codelist] = {}
    dimension_of: dict[str, str] = {}
    concept_names: dict[str, Names] = {}
    key_codes = {
        "reporter": list(registry.reporters),
        "area": list(registry.areas),
        "indicator": list(registry.indicators),
    }
    for column, (dimension, list_id) in KEY_DIMENSIONS.items():
        codes = {code: _names_of(registry, column, code) for code in key_codes[column]}
        lists[dimension] = codelist(list_id, codes, exchange.codelists[list_id])
        dimension_of[column] = dimension
        concept_names[dimension] = exchange.concepts[dimension]
    for name, spec in registry.dimensions.items():
        dimension = name.upper()
        own = _names_of(registry, "dimension", name)
        codes = {code: _names_of(registry, f"code:{name}", code) for code in spec.codes}
        lists[dimension] = codelist(f"CL_{dimension}", codes, own)
        dimension_of[name] = dimension
        concept_names[dimension] = own
    dimension_of["period"] = TIME_DIMENSION
    for concept in (TIME_DIMENSION, MEASURE, *ATTRIBUTES):
        concept_names[concept] = exchange.concepts[concept]
    statuses = {code: _names_of(registry, "status", code) for code in registry.statuses}
    attribute_lists = {
        "CL_OBS_STATUS": codelist("CL_OBS_STATUS", statuses, exchange.codelists["CL_OBS_STATUS"]),
        **{
            list_id: codelist(list_id, exchange.codes[list_id], exchange.codelists[list_id])
            for list_id in ("CL_CONF_STATUS", "CL_DERIVED")
        },
    }

    scheme_id = exchange.concept_scheme
    names[("ConceptScheme", scheme_id, None)] = exchange.names["concept_scheme"]
    concepts = {}
    for concept_id, own in concept_names.items():
        names[("ConceptScheme", scheme_id, concept_id)] = own
        urn = f"urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept={agency}:{scheme_id}({version}).{concept_id}"
        concepts[concept_id] = Concept(id=concept_id, name=own["en"], urn=urn)
    scheme = ConceptScheme(
        id=scheme_id,
        name=exchange.names["concept_scheme"]["en"],
        agency=agency,
        version=version,
        items=list(concepts.values()),
    )

    def component(name: str, role: Role, required: bool = False, **representation) -> Component:
        return Component(id=name, required=required, role=role, concept=concepts[name], **representation)

    components = [component(dim, Role.DIMENSION, True, local_codes=lists[dim]) for dim in lists]
    components.append(component(TIME_DIMENSION, Role.DIMENSION, True, local_dtype=DataType.PERIOD))
    components.append(component(MEASURE, Role.MEASURE, local_dtype=DataType.LONG))
    for attribute, representation in ATTRIBUTES.items():
        coded = not isinstance(representation, DataType)
        components.append(
            component(
                attribute,
                Role.ATTRIBUTE,
                attachment_level="O",
                local_codes=attribute_lists[representation] if coded else None,
                local_dtype=None if coded else representation,
            )
        )
    all_components = Components(components)
    names[("DataStructure", exchange.structure, None)] = exchange.names["structure"]
    dsd = DataStructureDefinition(
        id=exchange.structure,
        name=exchange.names["structure"]["en"],
        agency=agency,
        version=version,
        components=all_components,
    )
    names[("Dataflow", exchange.dataflow, None)] = exchange.names["dataflow"]
    dataflow = Dataflow(
        id=exchange.dataflow, name=exchange.names["dataflow"]["en"], agency=agency, version=version, structure=dsd
    )
    schema = Schema(
        context="dataflow",
        agency=agency,
        id=exchange.dataflow,
        version=version,
        components=all_components,
        artefacts=[],
    )
    return ComparisonStructure(
        codelists=(*lists.values(), *attribute_lists.values()),
        concepts=scheme,
        dsd=dsd,
        dataflow=dataflow,
        schema=schema,
        names=names,
        dimensions=dimension_of,
    )


def _without_januarys_twin(protected: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The table without a year to date of January alone where the same key has January itself: it covers
    January's time, which SDMX would read as two observations of one key, so the month stands for both. A year to
    date of January sent without the month stays (then it is the only observation of that time)."""
    indexed = protected.with_row_index("_at")
    twins = (
        indexed.filter(pl.col("period").str.contains(_ONE_MONTH_YEAR_TO_DATE))
        .with_columns(pl.col("period").str.slice(0, 7).alias("_month"))
        .join(indexed.select(*key, pl.col("period").alias("_month")), on=[*key, "_month"], how="semi")
    )
    return indexed.filter(~pl.col("_at").is_in(twins["_at"].implode())).drop("_at")


def comparison_frame(protected: pl.DataFrame, structure: ComparisonStructure) -> pl.DataFrame:
    """The protected comparison table (`transforms.disclosure.protect_comparison` with `is_derived` carried)
    as the columns of the SDMX dataset: one observation per row, in the same order, the key in SDMX's names
    and periods in SDMX time format; suppressed counts stay empty beside their CONF_STATUS."""
    protected = _without_januarys_twin(protected, [c for c in structure.dimensions if c != "period"])
    periods = pl.concat([protected["period"], protected["base_period"]]).drop_nulls().unique().to_list()
    as_sdmx = {code: sdmx_period(code) for code in periods}
    return protected.select(
        *(pl.col(column).alias(dimension) for column, dimension in structure.dimensions.items() if column != "period"),
        pl.col("period").replace_strict(as_sdmx, return_dtype=pl.String).alias(TIME_DIMENSION),
        pl.col("base_period").replace_strict(as_sdmx, default=None, return_dtype=pl.String).alias("BASE_PERIOD"),
        pl.when(pl.col("is_derived")).then(pl.lit(DERIVED)).otherwise(pl.lit(REPORTED)).alias("DERIVED"),
        *(pl.col(column).alias(name) for column, name in FROM_TABLE.items()),
    )


def comparison_dataset(protected: pl.DataFrame, structure: ComparisonStructure) -> PandasDataset:
    """The dataset that pysdmx writes as SDMX-CSV 2.0: the observations against the dataflow's schema."""
    frame = comparison_frame(protected, structure)
    return PandasDataset(structure=structure.schema, data=frame.to_pandas(use_pyarrow_extension_array=True))


def with_names(xml: str, names: dict[NameKey, Names]) -> str:
    """SDMX-ML structures with every artefact's and item's name in every language of `names` (after the English
    one pysdmx wrote, in the order of LANGUAGES); nothing else changes."""
    root = etree.fromstring(xml.encode("utf-8"))
    common = root.nsmap.get("com")
    structure_ns = root.nsmap.get("str")
    lang = "{http://www.w3.org/XML/1998/namespace}lang"

    def add(element: etree._Element, own: Names) -> None:
        written = element.findall(f"{{{common}}}Name")
        have = {name.get(lang) for name in written}
        last = written[-1]
        for language in LANGUAGES:
            if language in have or not own.get(language):
                continue
            extra = etree.Element(f"{{{common}}}Name")
            extra.set(lang, language)
            extra.text = own[language]
            before = last.getprevious()
            extra.tail, last.tail = last.tail, (before.tail if before is not None else element.text)
            last.addnext(extra)
            last = extra

    for kind in ("Codelist", "ConceptScheme", "DataStructure", "Dataflow"):
        for artefact in root.iter(f"{{{structure_ns}}}{kind}"):
            artefact_id = artefact.get("id")
            if (kind, artefact_id, None) in names:
                add(artefact, names[(kind, artefact_id, None)])
            for item in artefact:
                key = (kind, artefact_id, item.get("id"))
                if item.get("id") is not None and key in names and item.find(f"{{{common}}}Name") is not None:
                    add(item, names[key])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
