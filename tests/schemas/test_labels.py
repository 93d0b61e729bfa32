"""Every code and rule of the contract has an English and a Khmer label, kept as data in schemas/."""

from __future__ import annotations

import copy
import dataclasses
import re
import string
from datetime import datetime

from schemas.registry import LANGUAGES, Registry
from schemas.texts import load_texts, message, message_templates

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


# ------------------------------------------------------------------ message templates
def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def missing_messages(registry: Registry, templates: dict) -> list[str]:
    """Every rule needs at least one message template, each in every language with the same `{name}`s;
    a table of templates that names no rule (but the shared `common` pieces) is a typo."""
    problems = []
    for rule in sorted(registry.rules):
        if not templates.get(rule):
            problems.append(f"rule {rule}: no message template")
    for section in sorted(set(templates) - set(registry.rules) - {"common"}):
        problems.append(f"messages.{section}: not a rule")
    for section, entries in sorted(templates.items()):
        for key, given in sorted(entries.items()):
            for lang in LANGUAGES:
                if not str(given.get(lang, "")).strip():
                    problems.append(f"messages.{section}.{key}: no {lang} template")
            if given.get("km") and not KHMER.search(given["km"]):
                problems.append(f"messages.{section}.{key}: the km template has no Khmer letter")
            if given.get("en") and given.get("km") and _fields(given["en"]) != _fields(given["km"]):
                problems.append(f"messages.{section}.{key}: the km template fills in other values than the en one")
    return problems


def test_every_rule_has_its_message_templates_in_both_languages(registry):
    templates = message_templates()
    assert missing_messages(registry, templates) == []
    assert set(registry.rules) <= set(templates)


def test_a_missing_message_template_is_found(registry):
    templates = copy.deepcopy(message_templates())
    del templates["outlier"]
    templates["bad_value"]["not_whole"]["km"] = "row {row}, column {column}: '{found}' is not a whole number"
    templates["restatement"]["restated"]["km"] = templates["restatement"]["restated"]["km"].replace("{new_value:,}", "")
    templates["provisonal"] = {"not_ended": {"en": "x", "km": "ក"}}
    del templates["empty"]["no_rows"]["km"]
    assert missing_messages(registry, templates) == [
        "rule outlier: no message template",
        "messages.provisonal: not a rule",
        "messages.bad_value.not_whole: the km template has no Khmer letter",
        "messages.empty.no_rows: no km template",
        "messages.restatement.restated: the km template fills in other values than the en one",
    ]


def test_a_message_keeps_numbers_and_codes_as_they_are_in_khmer():
    english = message("bad_value", "not_whole", "en", row=12, column="value", found="1.5")
    khmer = message("bad_value", "not_whole", "km", row=12, column="value", found="1.5")
    assert english == (
        "row 12, column value: '1.5' is not a whole number "
        "(digits only: no signs, decimals, spaces or thousands separators)"
    )
    assert khmer.startswith("ជួរទី 12 ជួរឈរ value៖ '1.5' ") and KHMER.search(khmer)
    figures = {"row": 3, "where": "cases", "held_value": 1204, "new_value": 1300}
    restated = message("restatement", "restated", "km", valid_from=datetime(2019, 7, 1, 8, 5), **figures)
    assert "1,204" in restated and "1,300" in restated and "2019-07-01 08:05 UTC" in restated


# ------------------------------------------------------------------ every text
def _text_fields(given: str | list | dict) -> set[str]:
    """The `{name}`s a text fills in: of each line of a list, of each form of a text by count."""
    forms = given.values() if isinstance(given, dict) else given if isinstance(given, list) else [given]
    return set().union(*map(_fields, forms))


def missing_texts(texts: dict, where: str = "") -> list[str]:
    """Every text of texts.toml, in every table (the messages too), in every language with the same `{name}`s: a
    table's entry whose keys are languages is a text, any other a table of them. A text may be empty where a
    language needs no words."""
    problems = []
    for key, given in sorted(texts.items()):
        if not set(given) <= set(LANGUAGES):
            problems += missing_texts(given, f"{where}{key}.")
            continue
        problems += [f"{where}{key}: no {lang} text" for lang in LANGUAGES if lang not in given]
        if {"en", "km"} <= set(given) and _text_fields(given["en"]) != _text_fields(given["km"]):
            problems.append(f"{where}{key}: the km text fills in other values than the en one")
    return problems


def test_every_text_is_in_both_languages_with_the_same_values():
    assert missing_texts(load_texts()) == []


def test_a_missing_text_is_found():
    texts = copy.deepcopy(load_texts())
    del texts["portal"]["sign_out"]["km"]
    texts["messages"]["unreadable"]["not_utf8_csv"]["km"] = "វាមិនមែនជាអត្ថបទ UTF-8 ទេ (បៃទី {byte})"
    texts["portal"]["errors"]["km"] = "កំហុស {total}"  # against the forms by count of the English
    assert missing_texts(texts) == [
        "messages.unreadable.not_utf8_csv: the km text fills in other values than the en one",
        "portal.errors: the km text fills in other values than the en one",
        "portal.sign_out: no km text",
    ]
