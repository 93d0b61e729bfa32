"""Every code and rule of the contract has an English and a Khmer label, kept as data in schemas/."""

from __future__ import annotations

import dataclasses
import re

from schemas.registry import LANGUAGES, Registry

KHMER = re.compile(r"[\u1780-\u17FF]")


def every_label_key(registry: Registry) -> set[tuple[str, str]]:
    """What needs a label: derived from the registry itself, not from the labels."""
    keys = {("reporter", code) for code in registry.reporters}
    keys |= {("indicator", code) for code in registry.indicators}
    keys |= {("unit", indicator.unit) for indicator in registry.indicators.values()}
    keys |= {("dimension", name) for name in registry.dimensions}
    keys |= {(f"code:{name}", code) for name, dim in registry.dimensions.items() for code in dim.codes}
    keys |= {("area", code) for code in registry.areas}
    keys |= {("country", code) for code in registry.countries}
    keys |= {("status", code) for code in registry.statuses}
    keys |= {("action", code) for code in registry.actions}
    keys |= {("rule", code) for code in registry.rules}
    return keys


def missing_labels(registry: Registry) -> list[str]:
    problems = []
    for kind, code in sorted(every_label_key(registry)):
        given = registry.labels.get((kind, code), {})
        for lang in LANGUAGES:
            if not given.get(lang, "").strip():
                problems.append(f"{kind} {code}: no {lang} label")
        if given.get("km") and not KHMER.search(given["km"]):
            problems.append(f"{kind} {code}: the km label {given['km']!r} has no Khmer letter")
    return problems


def test_every_code_and_rule_has_both_labels(registry):
    assert missing_labels(registry) == []
    assert len(every_label_key(registry)) > 500  # the countries and provinces are in it


def test_a_missing_label_is_found(registry):
    labels = dict(registry.labels)
    labels[("area", "KH-12")] = {"en": "Phnom Penh"}
    labels[("rule", "outlier")] = {"en": "outlier", "km": "outlier"}
    broken = dataclasses.replace(registry, labels=labels)
    assert missing_labels(broken) == [
        "area KH-12: no km label",
        "rule outlier: the km label 'outlier' has no Khmer letter",
    ]


def test_labels_are_read_in_the_language_asked_and_fall_back_to_english(registry):
    assert registry.label("area", "KH-12", "km") == "ភ្នំពេញ"
    assert registry.label("area", "KH-12") == "Phnom Penh"
    assert registry.label("code:sex", "_T", "km") == "សរុប"
    assert registry.label("code:citizenship", "CN", "km") == "ចិន"
    assert registry.label("code:citizenship", "CN", "fr") == "China"
    assert registry.label("area", "KH-99", "km") == "KH-99"
